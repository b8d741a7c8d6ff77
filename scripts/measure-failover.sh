#!/usr/bin/env bash
# Failover figures (issue #16), with two `sessmgr run` engines inline on AF_PACKET in network
# namespaces, A the primary of a remote-backup group and B the secondary:
#
#   inj:eth0 <-> A:toc [A] A:tos <-> sink:eth0        A:sync 198.18.13.1/30
#   bx:e0    <-> B:toc [B] B:tos <-> bx:e1            B:sync 198.18.13.2/30  (A:sync <-> B:sync)
#
# B's ports lead to a namespace that sends nothing: B learns every session from A.
#
#  1. Bulk sync. A holds N sessions (FLOWS, default 1,000,000): a capture written by
#     ../shared/tools/make-bench-pcap (FLOWS flows, PACKETS packets) replayed flat out into
#     A's port with tcpreplay --topspeed, every aging time of both engines set to 3600 s so
#     that nothing ages during the measurement. Then B starts. Bulk time = from B's start to
#     B's session count (`sessmgr dump stats`, the count `display session statistics` shows)
#     reaching A's. Run twice: (a) A idle; (b) A forwarding scripts/udp-flood.c flat out
#     (1024 UDP flows, 64-byte payloads) from inj to sink: A's forwarding rate (rx_packets of
#     sink:eth0 per second) during the bulk is compared with the same rate over the BASE_S
#     seconds before B started. Between (a) and (b) B is stopped (its [restart] file is off,
#     so it starts empty again).
#  2. Lag. Fresh engines, B standby and connected. New sessions at RATE/s for each RATE in
#     RATES (single-packet UDP flows, each its own session, written to a capture and replayed
#     with tcpreplay --pps; the rate tcpreplay reached is printed, and is the one to quote).
#     Both engines' session counts are sampled as fast as `sessmgr dump stats` answers; the
#     lag of the k-th new session = when B's count passed k minus when A's count passed k;
#     median and p99 over every k. Resolution: each core publishes its counters every 100 ms
#     (src/actors/core.rs SNAPSHOT_EVERY), on both engines, so a lag below ~0.1 s reads as
#     noise around 0, and every figure carries about +-0.1 s.
#
# usage: sudo scripts/measure-failover.sh     (env: FLOWS=1000000 PACKETS=6000000 CORES=1
#                                              RATES="10000 100000" LAG_S=3 BASE_S=5
#                                              BULK_MAX_S=300: a bulk that has not ended
#                                              by then is reported as such
#                                              SESSMGR_BIN=target/release/sessmgr
#                                              PARTS="bulk lag" PCAP_CACHE=/tmp)
# Run it under the build lock (flock /tmp/sessmgr-build.lock ...): it measures speed.
# Needs root, tcpreplay, ethtool, iproute2, cc; installs the missing ones with apt-get.
# Addresses: 198.18.0.0/15 only.
set -euo pipefail

FLOWS=${FLOWS:-1000000}
PACKETS=${PACKETS:-6000000}
CORES=${CORES:-1}
RATES=${RATES:-"10000 100000"}
LAG_S=${LAG_S:-3}
BASE_S=${BASE_S:-5}
BULK_MAX_S=${BULK_MAX_S:-300}
PARTS=${PARTS:-"bulk lag"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SESSMGR_BIN:-$ROOT/target/release/sessmgr}
PCAP_CACHE=${PCAP_CACHE:-/tmp}
ID=$$
INJ=mfo-inj-$ID; A=mfo-a-$ID; B=mfo-b-$ID; SINK=mfo-sink-$ID; BX=mfo-bx-$ID
TMP=$(mktemp -d /tmp/measure-failover.XXXXXX)
chmod 755 "$TMP"
declare -A ENGINE_PID=()
PIDS=()

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

stop_pid() {
    local p=$1
    kill -TERM "$p" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
}

cleanup() {
    local p
    for p in "${ENGINE_PID[@]}" "${PIDS[@]}"; do stop_pid "$p"; done
    for ns in "$INJ" "$A" "$B" "$SINK" "$BX"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- prerequisites
need_pkgs=()
command -v tcpreplay >/dev/null || need_pkgs+=(tcpreplay)
command -v ethtool >/dev/null || need_pkgs+=(ethtool)
command -v ip >/dev/null || need_pkgs+=(iproute2)
command -v cc >/dev/null || need_pkgs+=(gcc libc6-dev)
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

# ---------------------------------------------------------------- topology
offloads_off() { ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true; }
mac_of() { ip -n "$1" -o link show "$2" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }

topo_up() {
    for ns in "$INJ" "$A" "$B" "$SINK" "$BX"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    done
    ip link add eth0 netns "$INJ" type veth peer name toc netns "$A"
    ip link add eth0 netns "$SINK" type veth peer name tos netns "$A"
    ip link add e0 netns "$BX" type veth peer name toc netns "$B"
    ip link add e1 netns "$BX" type veth peer name tos netns "$B"
    ip link add sync netns "$A" type veth peer name sync netns "$B"
    ip -n "$A" addr add 198.18.13.1/30 dev sync
    ip -n "$B" addr add 198.18.13.2/30 dev sync
    for pair in "$INJ eth0" "$SINK eth0" "$BX e0" "$BX e1" "$A toc" "$A tos" "$A sync" "$B toc" "$B tos" "$B sync"; do
        set -- $pair
        ip -n "$1" link set "$2" up
        offloads_off "$1" "$2"
    done
}

topo_down() {
    for ns in "$INJ" "$A" "$B" "$SINK" "$BX"; do ip netns del "$ns" 2>/dev/null || true; done
}

# ---------------------------------------------------------------- engines
# The startup configuration: statistics, synchronization, every aging time 3600 s, the
# remote-backup group.
startup() {
    local side=$1 role local_ip remote_ip
    if [ "$side" = A ]; then role=primary local_ip=198.18.13.1 remote_ip=198.18.13.2
    else role=secondary local_ip=198.18.13.2 remote_ip=198.18.13.1; fi
    echo "session statistics enable"
    echo "session synchronization enable"
    # DNS and HTTP sessions cross only when asked (comware.md §9.3); the capture has both.
    echo "session synchronization dns http"
    for st in syn tcp-est fin udp-open udp-ready icmp-request icmp-reply tcp-time-wait tcp-close; do
        echo "session aging-time state $st 3600"
    done
    printf 'remote-backup group\n data-channel interface sync\n local-ip %s\n remote-ip %s\n device-role %s\n key simple measure-failover\n' \
        "$local_ip" "$remote_ip" "$role"
}

# start_engine A|B: starts the engine (a fresh startup file, no restart file), waits for its
# control socket.
start_engine() {
    local side=$1 ns
    [ "$side" = A ] && ns=$A || ns=$B
    startup "$side" >"$TMP/$side.cfg"
    cat >"$TMP/$side.toml" <<EOF
[session]
capacity_sessions = 2097152
[runtime]
cores = $CORES
backend = "afpacket"
interfaces = ["toc", "tos"]
io_mode = "inline"
log_events = false
control_socket = "$TMP/$side.sock"
startup_config = "$side.cfg"
[restart]
save_sessions = false
EOF
    rm -f "$TMP/$side.sock"
    ip netns exec "$ns" "$BIN" run --config "$TMP/$side.toml" >>"$TMP/$side.log" 2>&1 &
    ENGINE_PID[$side]=$!
    for _ in $(seq 200); do
        [ -S "$TMP/$side.sock" ] && "$BIN" dump stats --socket "$TMP/$side.sock" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    log "engine $side did not start:"; tail -20 "$TMP/$side.log" >&2; exit 1
}

stop_engine() {
    local side=$1
    [ -n "${ENGINE_PID[$side]:-}" ] && stop_pid "${ENGINE_PID[$side]}"
    unset "ENGINE_PID[$side]"
}

count() { "$BIN" dump stats --socket "$TMP/$1.sock" 2>/dev/null | python3 -c 'import json,sys
try: print(json.load(sys.stdin).get("sessions", 0))
except Exception: print(0)'; }

status() { "$BIN" exec --socket "$TMP/$1.sock" "display remote-backup-group status" 2>/dev/null | sed -n 's/.*Device running status: *//p' | head -1; }

wait_status() {
    local side=$1 want=$2
    for _ in $(seq 300); do [ "$(status "$side")" = "$want" ] && return 0; sleep 0.1; done
    log "engine $side is not $want after 30 s:"
    "$BIN" exec --socket "$TMP/$side.sock" "display remote-backup-group status" >&2 || true
    exit 1
}

# Waits until the engine's session count stays put for 2 s; prints it.
settle() {
    local side=$1 prev=-1 now
    while :; do
        now=$(count "$side")
        [ "$now" = "$prev" ] && { echo "$now"; return; }
        prev=$now; sleep 2
    done
}

sink_rx() { ip netns exec "$SINK" cat /sys/class/net/eth0/statistics/rx_packets; }

# One line of an engine's sync counters (display remote-backup-group status, JSON).
sync_counters() {
    "$BIN" exec --json --socket "$TMP/$1.sock" "display remote-backup-group status" 2>/dev/null | python3 -c "
import json, sys
d = json.load(sys.stdin)
print('$1:', d.get('status'), 'sent', d.get('sent'), 'received', d.get('received'), 'installed', d.get('installed'), 'core_channel_full', d.get('core_channel_full'))" >&2 || true
}

# bulk_time TARGET: starts B, samples its count until it reaches TARGET, or has not moved
# for 10 s; sets BULK_S (from B's start to the target, or to its last move), UP_S (to B's
# control socket answering) and REACHED (B's count then).
bulk_time() {
    local target=$1 t0 ts n last=-1 moved
    t0=$(date +%s.%N)
    start_engine B
    ts=$(date +%s.%N)
    moved=$ts
    while :; do
        n=$(count B)
        if [ "$n" != "$last" ]; then last=$n; moved=$(date +%s.%N); fi
        [ "$n" -ge "$target" ] && break
        if python3 -c "import sys; sys.exit(0 if $(date +%s.%N) - $moved > 10 else 1)"; then
            log "B holds $n of $target sessions and has not moved for 10 s"; break
        fi
        if python3 -c "import sys; sys.exit(0 if $(date +%s.%N) - $t0 > $BULK_MAX_S else 1)"; then
            log "B holds $n of $target sessions after $BULK_MAX_S s; giving up"; moved=$(date +%s.%N); break
        fi
        sleep 0.05
    done
    REACHED=$n
    BULK_S=$(python3 -c "print(f'{$moved - $t0:.2f}')")
    sync_counters A; sync_counters B
    UP_S=$(python3 -c "print(f'{$ts - $t0:.2f}')")
}

topo_up
log "binary: $BIN ($("$BIN" --version 2>/dev/null || echo unknown)), cores per engine: $CORES, CPUs: $(nproc)"

# ---------------------------------------------------------------- 1. bulk sync
if [[ " $PARTS " == *" bulk "* ]]; then
    PCAP="$PCAP_CACHE/sessmgr-failover-bench-$FLOWS-$PACKETS.pcap"
    if [ ! -s "$PCAP" ]; then
        log "writing $PCAP ($FLOWS flows, $PACKETS packets)"
        python3 "$ROOT/../shared/tools/make-bench-pcap" -q --flows "$FLOWS" --packets "$PACKETS" "$PCAP"
    fi
    start_engine A
    wait_status A Active
    log "replaying $PCAP flat out into A"
    ip netns exec "$INJ" tcpreplay -q --topspeed -i eth0 "$PCAP" 2>&1 | grep -E 'Actual|Rated' >&2 || true
    HELD=$(settle A)
    log "A holds $HELD sessions (the capture has $FLOWS flows; A's receive-ring drops: $("$BIN" dump stats --socket "$TMP/A.sock" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("io"))'))"

    bulk_time "$HELD"
    BULK_IDLE=$BULK_S B_UP=$UP_S
    wait_status B Standby
    log "(a) A idle: B held $REACHED of A's $HELD sessions ${BULK_IDLE} s after its start (its control socket answered after ${B_UP} s)"
    REACHED_IDLE=$REACHED

    stop_engine B
    sleep 3
    DMAC=$(mac_of "$SINK" eth0)
    ip netns exec "$INJ" "$TMP/udp-flood" eth0 "$DMAC" 198.18.1.1 198.18.2.2 1024 600 64 >"$TMP/flood.out" 2>&1 &
    FLOOD=$!
    PIDS+=("$FLOOD")
    sleep 2
    r0=$(sink_rx); t0=$(date +%s.%N); sleep "$BASE_S"; r1=$(sink_rx); t1=$(date +%s.%N)
    BASE_PPS=$(python3 -c "print(round(($r1 - $r0) / ($t1 - $t0)))")
    HELD2=$(count A)
    r2=$(sink_rx); t2=$(date +%s.%N)
    bulk_time "$HELD2"
    BULK_LOAD=$BULK_S
    r3=$(sink_rx); t3=$(date +%s.%N)
    BULK_PPS=$(python3 -c "print(round(($r3 - $r2) / ($t3 - $t2)))")
    stop_pid "$FLOOD"
    log "(b) A forwarding flat out: B held $REACHED of A's $HELD2 sessions ${BULK_LOAD} s after its start"
    log "    A's forwarding rate: ${BASE_PPS} pkt/s in the ${BASE_S} s before B started, ${BULK_PPS} pkt/s during the bulk"
    echo "bulk: A_sessions=$HELD B_reached=$REACHED_IDLE idle_s=$BULK_IDLE loaded_A_sessions=$HELD2 loaded_B_reached=$REACHED loaded_s=$BULK_LOAD base_pps=$BASE_PPS bulk_pps=$BULK_PPS"
    "$BIN" exec --socket "$TMP/A.sock" "display remote-backup-group status" >&2 || true
    "$BIN" exec --socket "$TMP/B.sock" "display remote-backup-group status" >&2 || true
    stop_engine B
    stop_engine A
fi

# ---------------------------------------------------------------- 2. lag
# A capture of N single-packet UDP flows: 198.18.128.0/18 sources, ports 10000-10063, to
# 198.19.255.1:9, each its own 5-tuple.
udp_flows_pcap() {
    python3 - "$1" "$2" "$(mac_of "$SINK" eth0)" <<'EOF'
import struct, sys
out, n, dmac = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3].replace(":", ""))
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    dst = bytes([198, 19, 255, 1])
    for i in range(n):
        src = bytes([198, 18, 128 + (i >> 14), (i >> 6) & 255])
        udp = struct.pack("!HHHH", 10000 + (i & 63), 9, 8 + 18, 0) + b"sessmgr lag probe."
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        frame = dmac + bytes.fromhex("020000000001") + b"\x08\x00" + ip + udp
        frame = frame.ljust(60, b"\0")
        f.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(frame), len(frame)) + frame)
EOF
}

if [[ " $PARTS " == *" lag "* ]]; then
    for RATE in $RATES; do
        start_engine A
        wait_status A Active
        start_engine B
        wait_status B Standby
        N=$((RATE * LAG_S))
        udp_flows_pcap "$TMP/lag.pcap" "$N"
        A0=$(settle A); B0=$(count B)
        # The sampler: (time, A's count, B's count) as fast as the two dumps answer.
        python3 - "$BIN" "$TMP/A.sock" "$TMP/B.sock" "$A0" "$B0" "$N" >"$TMP/samples-$RATE" <<'EOF' &
import json, subprocess, sys, time
bin_, sa, sb, a0, b0, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
def count(s):
    try:
        return json.loads(subprocess.run([bin_, "dump", "stats", "--socket", s], capture_output=True).stdout).get("sessions", 0)
    except Exception:
        return -1
end = time.monotonic() + 120
while time.monotonic() < end:
    t = time.monotonic(); a = count(sa); tb = time.monotonic(); b = count(sb)
    print(f"{t:.4f} {a - a0} {tb:.4f} {b - b0}", flush=True)
    if b - b0 >= n:
        break
EOF
        SAMPLER=$!
        PIDS+=("$SAMPLER")
        sleep 0.5
        log "lag at $RATE new sessions/s: $N flows with tcpreplay --pps $RATE"
        ip netns exec "$INJ" tcpreplay -q --pps "$RATE" --pps-multi 10 -i eth0 "$TMP/lag.pcap" 2>&1 | grep -E 'Actual|Rated' >&2 || true
        wait "$SAMPLER" || true
        python3 - "$TMP/samples-$RATE" "$N" "$RATE" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
n, rate = int(sys.argv[2]), sys.argv[3]
a = [(float(r[0]), int(r[1])) for r in rows]
b = [(float(r[2]), int(r[3])) for r in rows]
def first(series, k):
    return next((t for t, c in series if c >= k), None)
lags = []
for k in range(1, n + 1, max(1, n // 2000)):
    ta, tb = first(a, k), first(b, k)
    if ta is not None and tb is not None:
        lags.append(tb - ta)
lags.sort()
if not lags:
    print(f"lag: rate={rate} no sample pair (A reached {a[-1][1] if a else 0}, B {b[-1][1] if b else 0} of {n})")
else:
    med, p99 = lags[len(lags) // 2], lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    print(f"lag: rate={rate} sessions={n} B_reached={b[-1][1]} samples={len(rows)} median_s={med:.3f} p99_s={p99:.3f}")
EOF
        stop_engine B
        stop_engine A
    done
fi
