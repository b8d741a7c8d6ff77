#!/usr/bin/env bash
# Issue #12: does a collector's fault slow the cores? The inline engine (AF_PACKET, 2 cores)
# forwards a flood in which every packet is a new session (hping3 --rand-source, UDP), and
# every session is logged (flow-begin), to a collector that is:
#   off       logging not configured (the reference)
#   udp       a flow-log collector that reads (a python UDP reader)
#   refused   a flow-log collector that is absent (ICMP port unreachable)
#   tcp-stall a TCP syslog collector that accepts and never reads
# For each: the rate h2 receives (forwarded frames), the collector's counters from `sessmgr
# dump stats` (logs, sent, drops by reason), the engine's events_dropped and its peak RSS.
# Each setup RUNS times, interleaved; medians reported.
#
# Topology (names unique with $$, deleted at exit):
#   h1:eth0 198.18.1.1/24 <-> fw:fwa  [ sessmgr inline ]  fw:fwb <-> h2:eth0 198.18.1.2/24
# The collectors listen on the engine namespace's loopback. h2 drops the flood in nftables
# (no ICMP errors coming back).
#
# usage: sudo scripts/measure-log-faults.sh     (env: DUR=5 WARM=1 RUNS=3 SESSMGR_BIN=...)
set -euo pipefail

DUR=${DUR:-5}
WARM=${WARM:-1}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SESSMGR_BIN:-$ROOT/target/release/sessmgr}
[ "$(id -u)" = 0 ] || { echo "needs root (namespaces, veth, AF_PACKET)" >&2; exit 1; }
for t in hping3 nft python3 ip ethtool; do
  command -v "$t" >/dev/null || { echo "$t is not installed" >&2; exit 1; }
done
if [ -z "${SESSMGR_BIN:-}" ]; then
  (cd "$ROOT" && flock /tmp/sessmgr-build.lock cargo build --release --quiet)
fi

ID=$$
H1=lf-h1-$ID; H2=lf-h2-$ID; FW=lf-fw-$ID
TMP=$(mktemp -d /tmp/sessmgr-log-faults.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for ns in "$H1" "$H2" "$FW"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

for ns in "$H1" "$H2" "$FW"; do ip netns add "$ns"; done
ip link add eth0 netns "$H1" type veth peer name fwa netns "$FW"
ip link add eth0 netns "$H2" type veth peer name fwb netns "$FW"
for ns in "$H1" "$H2"; do ip -n "$ns" link set eth0 up; ip -n "$ns" link set lo up; done
ip -n "$H1" addr add 198.18.1.1/24 dev eth0
ip -n "$H2" addr add 198.18.1.2/24 dev eth0
for d in fwa fwb; do ip -n "$FW" link set "$d" up; done
ip -n "$FW" link set lo up
for pair in "$H1 eth0" "$H2 eth0" "$FW fwa" "$FW fwb"; do
  set -- $pair
  ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true
done
mac2=$(ip -n "$H2" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
ip -n "$H1" neigh replace 198.18.1.2 lladdr "$mac2" dev eth0 nud permanent
ip netns exec "$H2" nft -f - <<'EOF'
table ip sink {
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    udp dport 9 drop
  }
}
EOF

UDP_READER='import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF,8<<20)
s.bind(("127.0.0.1",int(sys.argv[1])))
while True: s.recv(65535)'
TCP_STALL='import socket,sys,time
l=socket.socket(); l.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); l.bind(("127.0.0.1",int(sys.argv[1]))); l.listen(1)
c,_=l.accept()
while True: time.sleep(60)'

measure() { # setup run
  local setup=$1 run=$2
  local sock="$TMP/ctl-$setup-$run.sock" port=$((20000 + RANDOM % 20000))
  local startup="$TMP/startup.cfg" coll=""
  : > "$startup"
  case "$setup" in
    udp|refused) printf 'session log flow-begin\ninterface fwa\n session log enable ipv4 inbound\n#\nuserlog flow export host 127.0.0.1 port %s\n' "$port" > "$startup" ;;
    tcp-stall) printf 'session log flow-begin\ninterface fwa\n session log enable ipv4 inbound\n#\ninfo-center loghost 127.0.0.1 port %s transport tcp\nuserlog flow syslog\n' "$port" > "$startup" ;;
  esac
  case "$setup" in
    udp) ip netns exec "$FW" python3 -c "$UDP_READER" "$port" & coll=$! ;;
    tcp-stall) ip netns exec "$FW" python3 -c "$TCP_STALL" "$port" & coll=$! ;;
  esac
  [ -n "$coll" ] && PIDS+=("$coll") && sleep 0.3
  cat > "$TMP/cfg.toml" <<EOF
[session]
capacity_sessions = 1048576
[runtime]
cores = 2
backend = "afpacket"
interfaces = ["fwa", "fwb"]
io_mode = "inline"
log_events = false
control_socket = "$sock"
startup_config = "$startup"
EOF
  ip netns exec "$FW" "$BIN" run --config "$TMP/cfg.toml" > "$TMP/engine-$setup-$run.log" 2>&1 &
  local eng=$!
  PIDS+=("$eng")
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
  [ -S "$sock" ] || { cat "$TMP/engine-$setup-$run.log" >&2; exit 1; }
  sleep 0.5
  ip netns exec "$H1" taskset -c 0 hping3 --udp --flood --rand-source -p 9 198.18.1.2 > /dev/null 2>&1 &
  local gen=$!
  PIDS+=("$gen")
  sleep "$WARM"
  local r1 t1 r2 t2
  r1=$(ip netns exec "$H2" cat /sys/class/net/eth0/statistics/rx_packets); t1=$(date +%s.%N)
  sleep "$DUR"
  r2=$(ip netns exec "$H2" cat /sys/class/net/eth0/statistics/rx_packets); t2=$(date +%s.%N)
  local stats
  stats=$("$BIN" dump stats --socket "$sock" 2>/dev/null || echo '{}')
  local rss
  # `ip netns exec` execs the engine: $eng is its PID.
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$eng/status" 2>/dev/null || echo 0)
  kill -INT "$gen" 2>/dev/null || true; wait "$gen" 2>/dev/null || true
  kill -TERM "$eng" 2>/dev/null || true; wait "$eng" 2>/dev/null || true
  [ -n "$coll" ] && { kill "$coll" 2>/dev/null || true; wait "$coll" 2>/dev/null || true; }
  local rate
  rate=$(awk -v a="$r1" -v b="$r2" -v s="$t1" -v e="$t2" 'BEGIN { printf "%.0f", (b - a) / (e - s) }')
  python3 - "$setup" "$run" "$rate" "$rss" "$stats" >> "$TMP/results" <<'EOF'
import json, sys
setup, run, rate, rss, raw = sys.argv[1:6]
try:
    s = json.loads(raw)
except ValueError:
    s = {}
c = (s.get("collectors") or [{}])[0]
drops = " ".join(f"{k}={v}" for k, v in sorted((c.get("drops") or {}).items())) or "-"
print(f"{setup} {run} {rate} logs={c.get('logs', 0)} sent={c.get('sent', 0)} queued={c.get('queued', 0)} "
      f"drops=[{drops}] events_dropped={s.get('events_dropped', 0)} rss_kib={rss} created={s.get('created', 0)}")
EOF
  tail -1 "$TMP/results" >&2
  grep -A3 "collector " "$TMP/engine-$setup-$run.log" | grep collector >&2 || true
}

: > "$TMP/results"
SETUPS=(off udp refused tcp-stall)
for run in $(seq "$RUNS"); do
  for s in "${SETUPS[@]}"; do measure "$s" "$run"; done
done
echo
echo "forwarded frames/s at h2 (median of $RUNS, ${DUR}s windows; every frame a new, logged session):"
for s in "${SETUPS[@]}"; do
  med=$(awk -v s="$s" '$1 == s {print $3}' "$TMP/results" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "  $s: $med"
done
echo
cat "$TMP/results"
