#!/usr/bin/env bash
# Issue #12's side-by-side export benchmark (docs/performance.md): `sessmgr replay` of the
# benchmark capture exporting IPFIX to a local nfcapd (flow-begin and flow-end on every IPv4
# session), against `nfpcapd -r` on the same capture, both pinned to one vCPU. Reports each
# one's CPU seconds (user + sys, GNU time), wall time, largest RSS, and the flows each reports.
#
#   scripts/measure-export.sh [--packets N] [--flows N] [--cpu C] [--collector-cpu C]
#
# Defaults: the 10M-packet, 1M-flow capture of ../shared/tools/make-bench-pcap (seed 1),
# cached under /tmp/sessmgr-bench/; the measured tools on CPU 1, nfcapd on CPU 0 (so the
# collector does not take CPU time from the exporter it measures). SESSMGR=path uses that
# binary instead of building target/release/sessmgr.
#
# Counting: sessmgr sends one IPFIX record at a session's creation and one at its end (or at
# the end of the capture, event 3, for a session still alive), each a biflow record (both
# directions in one); nfpcapd writes one-way NetFlow-style flows, two per connection.
# nfcapd's own summary (flows, sequence errors) tells whether records were lost on the way:
# a sequence error means datagrams the socket buffer dropped (-B below raises it).
set -euo pipefail
cd "$(dirname "$0")/.."

packets=10000000
flows=1000000
cpu=1
collector_cpu=0
while [ $# -gt 0 ]; do
  case "$1" in
    --packets) packets=$2; shift 2 ;;
    --flows) flows=$2; shift 2 ;;
    --cpu) cpu=$2; shift 2 ;;
    --collector-cpu) collector_cpu=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

for tool in nfcapd nfdump nfpcapd taskset python3; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (scripts/test.sh installs nfdump)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time (GNU time) is not installed: apt-get install time" >&2; exit 1; }
make_pcap=../shared/tools/make-bench-pcap
[ -x "$make_pcap" ] || { echo "$make_pcap not found beside the repository" >&2; exit 1; }

# The capture, made once per size (same seed, same file).
cache=/tmp/sessmgr-bench
mkdir -p "$cache"
cap=$cache/bench-${packets}p-${flows}f.pcap
if [ ! -s "$cap" ]; then
  echo "making $cap ($packets packets, $flows flows)" >&2
  "$make_pcap" --packets "$packets" --flows "$flows" -q "$cap.part"
  mv "$cap.part" "$cap"
fi

if [ -z "${SESSMGR:-}" ]; then
  flock /tmp/sessmgr-build.lock cargo build --release --quiet
  SESSMGR=${CARGO_TARGET_DIR:-target}/release/sessmgr
fi
if ! "$SESSMGR" replay --help | grep -q -- '--startup'; then
  echo "$SESSMGR replay has no --startup yet (issue #12): nothing to measure" >&2
  exit 1
fi

# The export counters at the end, where the replay can run console commands.
exec_args=()
if "$SESSMGR" replay --help | grep -q -- '--exec'; then
  exec_args=(--exec "display userlog export")
fi

work=$(mktemp -d /tmp/sessmgr-measure-export.XXXXXX)
nfcapd_pid=
# nfcapd's -B asks for a 64 MiB socket buffer, which the kernel caps at net.core.rmem_max
# (208 KiB by default): without raising it, nfcapd on the other hyperthread loses about 2 % of
# the datagrams a full-speed replay sends (its "Sequence Errors"). Raised for the run, restored.
rmem_max=$(sysctl -n net.core.rmem_max 2>/dev/null || echo)
if [ -n "$rmem_max" ] && [ "$(id -u)" = 0 ]; then sysctl -qw net.core.rmem_max=67108864; fi
cleanup() {
  if [ -n "$nfcapd_pid" ] && kill -0 "$nfcapd_pid" 2>/dev/null; then kill -TERM "$nfcapd_pid"; fi
  if [ -n "$rmem_max" ] && [ "$(id -u)" = 0 ]; then sysctl -qw net.core.rmem_max="$rmem_max"; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A free loopback UDP port for the collector.
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cat > "$work/startup.cfg" <<EOF
interface capture
 session log enable ipv4 inbound
#
session log flow-begin
session log flow-end
session statistics enable
userlog flow export host 127.0.0.1 port $port ipfix
EOF

# Warm the page cache, as the peer benchmark did (../shared/reference/peer-bench.md).
cat "$cap" > /dev/null

# nfcapd in the foreground (stopped by its PID: SIGTERM makes it write its file), one file for
# the whole run, a 64 MiB socket buffer (the kernel caps it at net.core.rmem_max).
mkdir -p "$work/nfcapd"
taskset -c "$collector_cpu" nfcapd -w "$work/nfcapd" -b 127.0.0.1 -p "$port" -t 86400 \
  -B 67108864 -P "$work/nfcapd.pid" > "$work/nfcapd.log" 2>&1 &
nfcapd_pid=$!
hexport=$(printf '%04X' "$port")
for _ in $(seq 100); do
  grep -q "0100007F:$hexport" /proc/net/udp && break
  kill -0 "$nfcapd_pid" 2>/dev/null || { cat "$work/nfcapd.log" >&2; exit 1; }
  sleep 0.05
done
grep -q "0100007F:$hexport" /proc/net/udp || { echo "nfcapd does not listen on $port" >&2; exit 1; }

echo "sessmgr replay $cap --startup (IPFIX to nfcapd on 127.0.0.1:$port), CPU $cpu" >&2
/usr/bin/time -f '%e %U %S %M' -o "$work/sessmgr.time" \
  taskset -c "$cpu" "$SESSMGR" replay "$cap" --startup "$work/startup.cfg" \
  "${exec_args[@]}" > "$work/sessmgr.out" 2> "$work/sessmgr.err" \
  || { echo "sessmgr replay failed:" >&2; cat "$work/sessmgr.err" >&2; exit 1; }
# Loopback delivery is immediate, but nfcapd may still be reading its socket buffer: wait until
# its file stops growing (at most 10 s) before stopping it.
last=-1
for _ in $(seq 100); do
  size=$(du -sb "$work/nfcapd" | cut -f1)
  [ "$size" = "$last" ] && break
  last=$size
  sleep 0.1
done
kill -TERM "$nfcapd_pid"
wait "$nfcapd_pid" || true
nfcapd_pid=

echo "nfpcapd -r $cap, CPU $cpu" >&2
mkdir -p "$work/nfpcapd"
/usr/bin/time -f '%e %U %S %M' -o "$work/nfpcapd.time" \
  taskset -c "$cpu" nfpcapd -r "$cap" -w "$work/nfpcapd" > "$work/nfpcapd.out" 2>&1 \
  || { echo "nfpcapd failed:" >&2; cat "$work/nfpcapd.out" >&2; exit 1; }

# nfdump -I: "Flows: N" (and per protocol) of every file in the directory.
flows_of() { TZ=UTC nfdump -R "$1" -I | awk -F': *' '$1 == "Flows" {print $2}'; }
row() { # name time-file flows
  read -r wall user sys rss < "$2"
  printf '| %s | %s | %s | %s MiB | %s |\n' "$1" "$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u + s}')" \
    "$wall" "$((rss / 1024))" "$3"
}

echo
echo "Capture: $cap ($packets packets, $flows flows), both pinned to CPU $cpu"
echo
echo "| tool | CPU s (user+sys) | wall s | max RSS | flows reported |"
echo "|---|---|---|---|---|"
row "sessmgr replay, IPFIX flow-begin + flow-end to nfcapd" "$work/sessmgr.time" \
  "$(flows_of "$work/nfcapd") records stored by nfcapd (biflow, begin + end per session)"
row "nfpcapd -r (nfdump $(nfdump -V | sed 's/.*Version: *//'))" "$work/nfpcapd.time" \
  "$(flows_of "$work/nfpcapd") one-way flows"
echo
echo "nfcapd's summary: $(grep -E 'Flows:' "$work/nfcapd.log" | tail -1)"
echo
echo "sessmgr's export counters (display userlog export):"
cat "$work/sessmgr.out"
