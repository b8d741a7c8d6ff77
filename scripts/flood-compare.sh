#!/usr/bin/env bash
# Floods against the session table, side by side in one run (issue #10, SPEC S8):
#   (A) `sessmgr run` inline on AF_PACKET between two veth pairs (capacity_sessions = CAP), and
#   (B) the Linux kernel routing the same traffic with nf_conntrack (nf_conntrack_max = CAP,
#       nftables forward chain accepting ct state new/established/related), in a fw namespace.
#
# Topology (fresh namespaces per measurement, names unique with $$):
#   h1:eth0 198.18.1.1/24 <-> fw:fwa  [ sessmgr | kernel ]  fw:fwb <-> h2:eth0 198.18.2.2/24
# h2 runs a web server (python3 http.server, port 8080) that answers the flood's SYNs; its
# answers to the flood's random sources go back towards h1 (default routes), which drops them.
# For sessmgr, a bump in the wire, the hosts' gateways are each other's MACs.
#
# Per engine and flood kind, for FLOOD seconds:
#   - the flood from h1: hping3 --flood --rand-source, TCP SYN to h2:8080 or UDP to h2:9999;
#   - a legitimate client on h1 making one new connection every 100 ms (curl of h2:8080/, 1 s
#     timeout; for the UDP flood, a UDP request to h2's echo on port 7007 from a new port);
#   - an established download (curl, rate-limited to 2 MB/s, started before the flood, lasting
#     longer than it): does it finish, and how long did it take;
# and reports the share of the client's connections that succeeded during the flood, the time
# from the flood's end to the first success (when none succeeded during it), the download,
# the engine's peak memory (sessmgr: VmHWM) or table (kernel: entries), and sessmgr's table
# counters (evicted, refused).
#
# usage: sudo scripts/flood-compare.sh        (env: CAP=100000 FLOOD=20 SESSMGR_BIN=...
#                                              KINDS="syn udp" ENGINES="sessmgr kernel"
#                                              EARLY_DROP=true INTERVAL_US=)
# Needs root. Installs hping3, nftables, conntrack, curl with apt-get only if missing.
# Addresses: 198.18.0.0/15 only. Restores net.netfilter.nf_conntrack_max on exit.
set -euo pipefail

CAP=${CAP:-100000}
FLOOD=${FLOOD:-20}
KINDS=${KINDS:-"syn udp"}
ENGINES=${ENGINES:-"sessmgr kernel"}
EARLY_DROP=${EARLY_DROP:-true}
# INTERVAL_US: empty = hping3 --flood (as fast as the sender's CPU goes; with the kernel the
# forwarding work runs in the sender's own send calls and slows it down, with sessmgr it does
# not); a number = one packet every INTERVAL_US microseconds (hping3 -i u...), the same offered
# rate for both engines.
INTERVAL_US=${INTERVAL_US:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SESSMGR_BIN:-$ROOT/target/release/sessmgr}

if [ "$(id -u)" != 0 ]; then
    echo "flood-compare: needs root (namespaces, veth, AF_PACKET, nftables)" >&2
    exit 1
fi

ID=$$
H1=fc-h1-$ID
H2=fc-h2-$ID
FW=fc-fw-$ID
TMP=$(mktemp -d "/tmp/flood-compare.$ID.XXXXXX")
PIDS=()
CT_MAX_BEFORE=$(sysctl -n net.netfilter.nf_conntrack_max 2>/dev/null || echo "")

log() { printf '%s\n' "$*" >&2; }

stop_pid() { # stops one process this script started, by PID
    local p=$1
    if kill -0 "$p" 2>/dev/null; then
        kill -TERM "$p" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
    fi
    wait "$p" 2>/dev/null || true
}

topo_down() {
    for ns in "$H1" "$H2" "$FW"; do
        if ip netns pids "$ns" >/dev/null 2>&1; then
            for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
        fi
        ip netns del "$ns" 2>/dev/null || true
    done
}

cleanup() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    PIDS=()
    topo_down
    [ -n "$CT_MAX_BEFORE" ] && sysctl -qw net.netfilter.nf_conntrack_max="$CT_MAX_BEFORE" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- prerequisites
need_pkgs=()
command -v hping3 >/dev/null || need_pkgs+=(hping3)
command -v nft >/dev/null || need_pkgs+=(nftables)
command -v conntrack >/dev/null || need_pkgs+=(conntrack)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v ethtool >/dev/null || need_pkgs+=(ethtool)
command -v python3 >/dev/null || need_pkgs+=(python3)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    log "installing ${need_pkgs[*]}"
    apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >/dev/null
fi
if [ ! -x "$BIN" ]; then
    log "building sessmgr (cargo build --release)"
    (cd "$ROOT" && cargo build --release -q)
fi
# The download: 48 MB at 2 MB/s, longer than the flood.
head -c $((48 << 20)) /dev/zero >"$TMP/big.bin"
cat >"$TMP/echo.py" <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7007))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d, a)
EOF
# The legitimate client: one new connection every 100 ms from START to END (epoch seconds),
# then on until the first success after END (at most 30 s); prints one line per attempt:
# "<epoch> ok|fail".
cat >"$TMP/client.py" <<'EOF'
import socket, subprocess, sys, time
kind, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def tcp():
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-m", "1", "http://198.18.2.2:8080/"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    try:
        s.sendto(b"hello", ("198.18.2.2", 7007))
        return s.recvfrom(100)[0] == b"hello"
    except OSError:
        return False
    finally:
        s.close()
try_once = tcp if kind == "syn" else udp
while time.time() < start:
    time.sleep(0.01)
while True:
    t = time.time()
    ok = try_once()
    print(f"{t:.3f} {'ok' if ok else 'fail'}", flush=True)
    if t > end and (ok or t > end + 30):
        break
    time.sleep(max(0.0, 0.1 - (time.time() - t)))
EOF

# ---------------------------------------------------------------- topology
mac_of() { ip -n "$1" -o link show "$2" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }
offloads_off() { ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true; }

topo_up() {
    local engine=$1
    for ns in "$H1" "$H2" "$FW"; do ip netns add "$ns"; done
    ip link add eth0 netns "$H1" type veth peer name fwa netns "$FW"
    ip link add eth0 netns "$H2" type veth peer name fwb netns "$FW"
    ip -n "$H1" addr add 198.18.1.1/24 dev eth0
    ip -n "$H2" addr add 198.18.2.2/24 dev eth0
    for ns in "$H1" "$H2"; do
        ip -n "$ns" link set lo up
        ip -n "$ns" link set eth0 up
        offloads_off "$ns" eth0
    done
    ip -n "$H1" route add default via 198.18.1.254
    ip -n "$H2" route add default via 198.18.2.254
    for dev in fwa fwb; do
        ip -n "$FW" link set "$dev" up
        offloads_off "$FW" "$dev"
    done
    ip -n "$FW" link set lo up
    local h1mac h2mac
    h1mac=$(mac_of "$H1" eth0)
    h2mac=$(mac_of "$H2" eth0)
    if [ "$engine" = sessmgr ]; then
        # A bump in the wire: each host's gateway is the other host.
        ip -n "$H1" neigh replace 198.18.1.254 lladdr "$h2mac" dev eth0 nud permanent
        ip -n "$H2" neigh replace 198.18.2.254 lladdr "$h1mac" dev eth0 nud permanent
    else
        ip -n "$FW" addr add 198.18.1.254/24 dev fwa
        ip -n "$FW" addr add 198.18.2.254/24 dev fwb
        ip netns exec "$FW" sysctl -qw net.ipv4.ip_forward=1
        # The server's answers to the flood's random sources go back towards h1, as with sessmgr.
        ip -n "$FW" route add default via 198.18.1.1
        ip netns exec "$FW" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.fwa.rp_filter=0
        ip -n "$FW" neigh replace 198.18.2.2 lladdr "$h2mac" dev fwb nud permanent
        ip -n "$FW" neigh replace 198.18.1.1 lladdr "$h1mac" dev fwa nud permanent
        ip netns exec "$FW" nft -f - <<'EOF'
table inet filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    ct state new accept
  }
}
EOF
    fi
    # h1 takes the server's answers to random sources quietly.
    ip netns exec "$H1" sysctl -qw net.ipv4.conf.all.rp_filter=0
}

rss_kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------- one measurement
# measure ENGINE KIND -> one line in $TMP/results
measure() {
    local engine=$1 kind=$2
    topo_up "$engine"
    local eng="" sock="$TMP/ctl-$engine-$kind.sock"
    if [ "$engine" = sessmgr ]; then
        cat >"$TMP/cfg.toml" <<EOF
[session]
capacity_sessions = $CAP
early_drop = $EARLY_DROP
[runtime]
cores = 1
backend = "afpacket"
interfaces = ["fwa", "fwb"]
io_mode = "inline"
log_events = false
control_socket = "$sock"
EOF
        ip netns exec "$FW" "$BIN" run --config "$TMP/cfg.toml" >"$TMP/sessmgr-$kind.log" 2>&1 &
        eng=$!
        PIDS+=("$eng")
        for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
        if [ ! -S "$sock" ]; then
            log "sessmgr did not start:"; cat "$TMP/sessmgr-$kind.log" >&2; exit 1
        fi
    else
        sysctl -qw net.netfilter.nf_conntrack_max="$CAP"
    fi
    ip netns exec "$H2" python3 -m http.server --bind 0.0.0.0 8080 --directory "$TMP" >/dev/null 2>&1 &
    PIDS+=($!)
    ip netns exec "$H2" python3 "$TMP/echo.py" >/dev/null 2>&1 &
    PIDS+=($!)
    sleep 1
    # The established download, then the flood, then the client.
    ip netns exec "$H1" curl -s -o /dev/null --limit-rate 2M -m 120 -w '%{time_total} %{size_download}\n' \
        http://198.18.2.2:8080/big.bin >"$TMP/download" 2>/dev/null &
    local dl=$!
    sleep 1
    local start end
    start=$(date +%s.%N)
    end=$(awk -v s="$start" -v d="$FLOOD" 'BEGIN { printf "%.3f", s + d }')
    ip netns exec "$H1" python3 "$TMP/client.py" "$kind" "$start" "$end" >"$TMP/client" 2>/dev/null &
    local client=$!
    local flood_args=(-S -p 8080)
    [ "$kind" = udp ] && flood_args=(--udp -p 9999)
    local rate_args=(--flood)
    [ -n "$INTERVAL_US" ] && rate_args=(-i "u$INTERVAL_US")
    ip netns exec "$H1" timeout -s INT "$FLOOD" hping3 "${rate_args[@]}" --rand-source -q "${flood_args[@]}" 198.18.2.2 \
        >/dev/null 2>"$TMP/hping" &
    local flood=$!
    local peak_table=0 n
    while kill -0 "$flood" 2>/dev/null; do
        if [ "$engine" = kernel ]; then
            n=$(ip netns exec "$FW" conntrack -C 2>/dev/null || echo 0)
            [ "$n" -gt "$peak_table" ] && peak_table=$n
        fi
        sleep 0.5
    done
    wait "$flood" 2>/dev/null || true
    local sent
    sent=$(grep -o '[0-9]* packets transmitted' "$TMP/hping" | cut -d' ' -f1 || echo "?")
    wait "$client" 2>/dev/null || true
    local dl_status=0
    wait "$dl" || dl_status=$?
    local detail
    if [ "$engine" = sessmgr ]; then
        local stats
        stats=$("$BIN" dump stats --socket "$sock" 2>/dev/null || echo '{}')
        detail=$(python3 -c '
import json, sys
s = json.loads(sys.argv[1]); d = s.get("drops", {})
io = s.get("io", {})
print("evicted %s, refused %s, table_full %s, ring drops %s" % (s.get("evicted", "?"), s.get("refused", "?"), d.get("table_full", 0), io.get("kernel_drops", "?")))
' "$stats")
        detail="peak RSS $(($(rss_kb "$eng" VmHWM) / 1024)) MiB; $detail"
        stop_pid "$eng"
    else
        detail="peak conntrack entries $peak_table"
    fi
    python3 - "$TMP/client" "$start" "$end" "$engine" "$kind" "$sent" "$TMP/download" "$dl_status" "$detail" >>"$TMP/results" <<'EOF'
import sys
path, start, end, engine, kind, sent, dl, dl_status, detail = sys.argv[1:]
start, end = float(start), float(end)
during = [l.split() for l in open(path) if l.strip()]
inside = [ok for t, ok in during if start <= float(t) < end]
good = sum(1 for ok in inside if ok == "ok")
share = 100.0 * good / len(inside) if inside else 0.0
after = [float(t) for t, ok in during if float(t) >= end and ok == "ok"]
recovery = "-" if good else (f"{after[0] - end:.1f} s" if after else "> 30 s")
d = open(dl).read().split()
download = f"done in {float(d[0]):.1f} s" if dl_status == "0" and d else f"FAILED (curl {dl_status})"
print(f"{kind.upper():4} {engine:8} flood {sent:>9} pkts | legit {good:3}/{len(inside):3} = {share:5.1f} % | first ok after flood {recovery:>7} | download {download} | {detail}")
EOF
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    PIDS=()
    topo_down
    [ -n "$CT_MAX_BEFORE" ] && sysctl -qw net.netfilter.nf_conntrack_max="$CT_MAX_BEFORE" 2>/dev/null || true
}

# ---------------------------------------------------------------- main
RATE_DESC="--flood"
[ -n "$INTERVAL_US" ] && RATE_DESC="-i u$INTERVAL_US"
echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r)"
echo "table capacity $CAP sessions (sessmgr capacity_sessions, kernel nf_conntrack_max); flood ${FLOOD} s of hping3 $RATE_DESC --rand-source; sessmgr early_drop = $EARLY_DROP, 1 core"
echo
: >"$TMP/results"
for kind in $KINDS; do
    for engine in $ENGINES; do
        measure "$engine" "$kind"
        tail -n 1 "$TMP/results"
    done
done
