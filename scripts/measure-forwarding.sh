#!/usr/bin/env bash
# Forwarding rate, side by side in one run, between two veth pairs:
#   (A) `sessmgr run` inline on AF_PACKET (cores = 1 and cores = 2), and
#   (B) the Linux kernel forwarding the same traffic with nf_conntrack on: a bridge br0 with
#       bridge-family nftables `ct state` rules when nf_conntrack_bridge is available, otherwise
#       a routed fw namespace (ip_forward=1, inet filter forward chain with the same rules).
#   (B') optionally (KERNEL_RPS=1, the default on machines with >= 2 CPUs) the same kernel setup
#       with fwa's receive processing steered to CPU 1 by RPS, so that the kernel forwarder,
#       like sessmgr, gets a CPU other than the generator's.
#
# Topology (fresh namespaces for every measurement, names unique with $$):
#   h1:eth0 198.18.1.1/24 <-> fw:fwa   [ sessmgr | kernel ]   fw:fwb <-> h2:eth0 198.18.2.2/24
# Offloads are off on all four veth ends (real frame sizes and checksums), as in
# tests/e2e_inline.rs.
#
# Traffic: one generator for every setup, scripts/udp-flood.c (compiled into a temp dir):
# IPv4/UDP datagrams with a 64-byte payload from 198.18.1.1 to 198.18.2.2:9 over FLOWS source
# ports (40000+i), AF_PACKET with qdisc bypass and sendmmsg, pinned to CPU 0. h2 drops them in
# nftables at prerouting priority -300 (cheap sink; no ICMP port-unreachable coming back).
# The rate is the interface packet counters over a DUR-second window after a WARM-second
# warm-up: tx_packets of h1's eth0 (offered) and rx_packets of h2's eth0 (received).
# Each setup is measured RUNS times, interleaved round by round; the medians are reported.
#
# usage: sudo scripts/measure-forwarding.sh        (env: DUR=5 WARM=1 RUNS=3 FLOWS=1024
#                                                    KERNEL_RPS=1 SESSMGR_BIN=...
#                                                    SESSMGR_CPUS=LIST: taskset for sessmgr;
#                                                    unset = scheduled freely)
# Needs root. Installs nftables, conntrack, ethtool, iproute2, gcc with apt-get only if missing.
# Addresses: 198.18.0.0/15 only.
set -euo pipefail

DUR=${DUR:-5}
WARM=${WARM:-1}
RUNS=${RUNS:-3}
FLOWS=${FLOWS:-1024}
PAYLOAD=64
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SESSMGR_BIN:-$ROOT/target/release/sessmgr}
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then KERNEL_RPS=${KERNEL_RPS:-1}; else KERNEL_RPS=0; fi

if [ "$(id -u)" != 0 ]; then
    echo "measure-forwarding: needs root (namespaces, veth, AF_PACKET, nftables)" >&2
    exit 1
fi

ID=$$
H1=mf-h1-$ID
H2=mf-h2-$ID
FW=mf-fw-$ID
TMP=$(mktemp -d "/tmp/measure-forwarding.$ID.XXXXXX")
PIDS=()

log() { printf '%s\n' "$*" >&2; }

forget_pid() { # drops one PID from PIDS once it has been stopped
    local p keep=()
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

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
        ip netns del "$ns" 2>/dev/null || true
    done
}

cleanup() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    PIDS=()
    topo_down
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- prerequisites
need_pkgs=()
command -v nft >/dev/null || need_pkgs+=(nftables)
command -v conntrack >/dev/null || need_pkgs+=(conntrack)
command -v ethtool >/dev/null || need_pkgs+=(ethtool)
command -v ip >/dev/null || need_pkgs+=(iproute2)
command -v cc >/dev/null || need_pkgs+=(gcc libc6-dev)
command -v taskset >/dev/null || need_pkgs+=(util-linux)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    log "installing ${need_pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >/dev/null 2>&1 || {
        apt-get update -q >/dev/null 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >/dev/null
    }
fi
if [ ! -x "$BIN" ]; then
    log "building sessmgr (cargo build --release)"
    (cd "$ROOT" && cargo build --release -q)
fi
cc -O2 -Wall -o "$TMP/udp-flood" "$ROOT/scripts/udp-flood.c"

# ---------------------------------------------------------------- kernel setup choice
# Bridge-family conntrack needs nf_conntrack_bridge; without it nft refuses `ct` in a bridge
# table (EPROTO). Probe in a scratch namespace.
KMODE=routed
KMODE_WHY=""
if command -v modprobe >/dev/null; then
    modprobe nf_conntrack_bridge 2>"$TMP/modprobe.err" || KMODE_WHY="modprobe nf_conntrack_bridge: $(tr '\n' ' ' <"$TMP/modprobe.err")"
else
    KMODE_WHY="no modprobe on this system;"
fi
ip netns add "mf-probe-$ID"
if ip netns exec "mf-probe-$ID" nft -f - >"$TMP/probe.err" 2>&1 <<'EOF'
table bridge filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related counter accept
    ct state new counter accept
  }
}
EOF
then
    KMODE=bridge
else
    KMODE_WHY="$KMODE_WHY bridge-family ct rule rejected: $(grep -m1 -o 'Error: .*' "$TMP/probe.err" || true)"
fi
ip netns del "mf-probe-$ID"
if [ -r /proc/config.gz ]; then
    KMODE_WHY="$KMODE_WHY (kernel config: $(zcat /proc/config.gz 2>/dev/null | grep -m1 -E 'NF_CONNTRACK_BRIDGE' || true))"
fi
log "kernel setup: $KMODE ${KMODE_WHY:+— $KMODE_WHY}"

# ---------------------------------------------------------------- topology
mac_of() { ip -n "$1" -o link show "$2" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }
offloads_off() { ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true; }

# topo_up MODE: MODE is sink | sessmgr | kernel | kernel-rps. Sets DMAC (the generator's
# frames' destination). sink: nothing forwards; fwa drops the frames (not addressed to it) right
# after receiving them, which gives the generator's own ceiling on this machine.
topo_up() {
    local mode=$1
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
    ip -n "$H1" route add 198.18.2.0/24 via 198.18.1.254
    ip -n "$H2" route add 198.18.1.0/24 via 198.18.2.254
    for dev in fwa fwb; do
        ip -n "$FW" link set "$dev" up
        offloads_off "$FW" "$dev"
    done
    ip -n "$FW" link set lo up
    # The sink: h2 counts and drops the datagrams before its IP stack does more.
    ip netns exec "$H2" nft -f - <<'EOF'
table ip sink {
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    udp dport 9 counter drop
  }
}
EOF
    local h2mac fwamac
    h2mac=$(mac_of "$H2" eth0)
    case $mode in
    sink | sessmgr)
        DMAC=$h2mac
        ;;
    kernel | kernel-rps)
        if [ "$KMODE" = bridge ]; then
            ip -n "$FW" link add br0 type bridge
            ip -n "$FW" link set fwa master br0
            ip -n "$FW" link set fwb master br0
            ip -n "$FW" link set br0 up
            ip netns exec "$FW" nft -f - <<'EOF'
table bridge filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related counter accept
    ct state new counter accept
  }
}
EOF
            DMAC=$h2mac
        else
            ip -n "$FW" addr add 198.18.1.254/24 dev fwa
            ip -n "$FW" addr add 198.18.2.254/24 dev fwb
            ip netns exec "$FW" sysctl -qw net.ipv4.ip_forward=1
            ip -n "$FW" neigh replace 198.18.2.2 lladdr "$h2mac" dev fwb nud permanent
            ip netns exec "$FW" nft -f - <<'EOF'
table inet filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related counter accept
    ct state new counter accept
  }
}
EOF
            fwamac=$(mac_of "$FW" fwa)
            DMAC=$fwamac
        fi
        if [ "$mode" = kernel-rps ]; then
            # fwa's receive processing (the whole forwarding path) on CPU 1; generator on CPU 0.
            ip netns exec "$FW" sh -c 'echo 2 > /sys/class/net/fwa/queues/rx-0/rps_cpus'
        fi
        ;;
    esac
}

ctr() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }

# ---------------------------------------------------------------- one measurement
# measure LABEL MODE [CORES]  -> appends "LABEL run offered received" to $TMP/results
measure() {
    local label=$1 mode=$2 cores=${3:-} run=$4
    topo_up "$mode"
    local eng="" sock="$TMP/ctl-$label-$run.sock"
    if [ "$mode" = sessmgr ]; then
        cat >"$TMP/cfg-$label.toml" <<EOF
[session]
mode = "bidirectional"
statistics_enable = true
[runtime]
cores = $cores
backend = "afpacket"
interfaces = ["fwa", "fwb"]
io_mode = "inline"
log_events = false
control_socket = "$sock"
EOF
        ip netns exec "$FW" ${SESSMGR_CPUS:+taskset -c "$SESSMGR_CPUS"} "$BIN" run --config "$TMP/cfg-$label.toml" >"$TMP/sessmgr-$label-$run.log" 2>&1 &
        eng=$!
        PIDS+=("$eng")
        for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
        if [ ! -S "$sock" ]; then
            log "sessmgr did not start:"; cat "$TMP/sessmgr-$label-$run.log" >&2; exit 1
        fi
        sleep 0.5
    fi

    local gen_secs
    gen_secs=$(awk -v d="$DUR" -v w="$WARM" 'BEGIN { print d + w + 1 }')
    ip netns exec "$H1" taskset -c 0 "$TMP/udp-flood" eth0 "$DMAC" 198.18.1.1 198.18.2.2 \
        "$FLOWS" "$gen_secs" "$PAYLOAD" >"$TMP/gen.out" 2>&1 &
    local gen=$!
    PIDS+=("$gen")
    sleep "$WARM"
    local t1 tx1 rx1 txd1 t2 tx2 rx2 txd2
    t1=$(date +%s.%N); tx1=$(ctr "$H1" eth0 tx_packets); rx1=$(ctr "$H2" eth0 rx_packets)
    txd1=$(ctr "$H1" eth0 tx_dropped)
    sleep "$DUR"
    t2=$(date +%s.%N); tx2=$(ctr "$H1" eth0 tx_packets); rx2=$(ctr "$H2" eth0 rx_packets)
    txd2=$(ctr "$H1" eth0 tx_dropped)
    wait "$gen" || true
    forget_pid "$gen"

    local offered received
    offered=$(awk -v a="$tx1" -v b="$tx2" -v s="$t1" -v e="$t2" 'BEGIN { printf "%.0f", (b - a) / (e - s) }')
    received=$(awk -v a="$rx1" -v b="$rx2" -v s="$t1" -v e="$t2" 'BEGIN { printf "%.0f", (b - a) / (e - s) }')
    local check=""
    if [ "$mode" = sessmgr ]; then
        local stats
        stats=$("$BIN" dump stats --socket "$sock" 2>/dev/null || true)
        echo "$stats" >"$TMP/stats-$label-$run.json"
        check=$(python3 - "$TMP/stats-$label-$run.json" <<'EOF' 2>/dev/null || echo "stats: (unreadable)"
import json, sys
s = json.load(open(sys.argv[1]))
def find(d, keys, path=""):
    out = []
    if isinstance(d, dict):
        for k, v in d.items():
            p = f"{path}.{k}" if path else k
            if isinstance(v, (dict, list)):
                out += find(v, keys, p)
            elif any(x in k for x in keys):
                out.append(f"{p}={v}")
    return out
print("sessmgr: " + " ".join(find(s, ("created", "active", "sessions", "drop"))[:12]))
EOF
)
        stop_pid "$eng"
        forget_pid "$eng"
    elif [ "$mode" = sink ]; then
        check="generator alone (nothing forwards)"
    else
        local fam=inet nct
        [ "$KMODE" = bridge ] && fam=bridge
        nct=$(ip netns exec "$FW" conntrack -L -p udp --dport 9 2>/dev/null | wc -l)
        local cnt
        cnt=$(ip netns exec "$FW" nft list chain "$fam" filter forward | grep -o 'ct state [a-z,]* counter packets [0-9]*' | sed 's/ counter packets /=/' | tr '\n' ' ')
        check="conntrack: $nct udp/9 entries in fw; nft: $cnt"
    fi
    topo_down
    local gen_line
    gen_line=$(cat "$TMP/gen.out")
    printf '%-14s run %d: offered %9d pps, received %9d pps (%5.1f%%), h1 tx_dropped +%d | %s | gen: %s\n' \
        "$label" "$run" "$offered" "$received" \
        "$(awk -v o="$offered" -v r="$received" 'BEGIN { print (o > 0 ? 100 * r / o : 0) }')" \
        "$((txd2 - txd1))" "$check" "$gen_line"
    echo "$label $run $offered $received" >>"$TMP/results"
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.0f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# ---------------------------------------------------------------- main
echo "machine: $NCPU CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r)"
echo "traffic: UDP, $PAYLOAD-byte payload ($((14 + 20 + 8 + PAYLOAD))-byte frames), $FLOWS flows, h1 -> h2, ${WARM}s warm-up + ${DUR}s window, $RUNS runs each, generator pinned to CPU 0, sessmgr on CPUs ${SESSMGR_CPUS:-any}"
echo "kernel setup: $KMODE${KMODE_WHY:+ ($KMODE_WHY)}"
echo
: >"$TMP/results"
SETUPS=("gen-only sink" "sessmgr-c1 sessmgr 1" "sessmgr-c2 sessmgr 2" "kernel-$KMODE kernel")
[ "$KERNEL_RPS" = 1 ] && SETUPS+=("kernel-$KMODE-rps kernel-rps")
for run in $(seq "$RUNS"); do
    for s in "${SETUPS[@]}"; do
        set -- $s
        measure "$1" "$2" "${3:-}" "$run"
    done
done

echo
echo "medians over $RUNS runs (packets/s at h2's eth0; offered = h1's eth0 tx):"
declare -A MED
for s in "${SETUPS[@]}"; do
    set -- $s
    rx=$(awk -v l="$1" '$1 == l { print $4 }' "$TMP/results" | median)
    tx=$(awk -v l="$1" '$1 == l { print $3 }' "$TMP/results" | median)
    MED[$1]=$rx
    if [ "$1" = gen-only ]; then
        GENMAX=$tx
        printf '  %-18s offered %9d pps (the generator alone: its ceiling here)\n' "$1" "$tx"
        continue
    fi
    verdict=$(awk -v o="$tx" -v r="$rx" -v g="$GENMAX" 'BEGIN {
        x = sprintf("generator at %.0f%% of its ceiling; ", 100 * o / g);
        if (o > 0 && r >= 0.98 * o) print x "received ~ offered: the forwarder kept up (rate limited by the generator / shared CPU)";
        else printf "%sforwarder-limited: %.1f%% of offered lost\n", x, 100 * (1 - r / o) }')
    printf '  %-18s received %9d pps   offered %9d pps   %s\n' "$1" "$rx" "$tx" "$verdict"
done
K=${MED[kernel-$KMODE]}
echo
for c in sessmgr-c1 sessmgr-c2; do
    printf 'ratio %s / kernel-%s: %.2f\n' "$c" "$KMODE" "$(awk -v a="${MED[$c]}" -v b="$K" 'BEGIN { print (b > 0 ? a / b : 0) }')"
    if [ "$KERNEL_RPS" = 1 ]; then
        printf 'ratio %s / kernel-%s-rps: %.2f\n' "$c" "$KMODE" "$(awk -v a="${MED[$c]}" -v b="${MED[kernel-$KMODE-rps]}" 'BEGIN { print (b > 0 ? a / b : 0) }')"
    fi
done
echo
echo "notes: with veth, the kernel forwards in the softirq of the sending CPU (no RPS), so in the"
echo "plain kernel setup the generator and the forwarder share CPU 0 and offered == forwarded by"
echo "construction (the number is that one-CPU pipeline). With sessmgr, CPU 0 still carries the"
echo "generator plus the copy into sessmgr's AF_PACKET rings; sessmgr's cores are scheduled freely"
echo "(with cores = 2 one of them shares CPU 0 with the generator). sessmgr io.kernel_drops counts"
echo "frames lost at its receive rings. Unanswered UDP stays in conntrack state NEW, so the kernel's"
echo "'ct state new' counter carries all packets; the conntrack -L count shows one entry per flow."
