#!/usr/bin/env bash
# Issue #15's replay figures (docs/performance.md, "Replay side by side and on two cores"):
#
#  1. Side by side, pinned to one vCPU: `sessmgr replay CAP` (summary mode, --cores 1) against
#     `nfpcapd -r CAP` and `softflowd -r CAP` on the benchmark capture, RUNS runs each,
#     interleaved (run 1 of every tool, then run 2 ...). Reports CPU seconds (user + sys, GNU
#     time), M packets per CPU-second, max RSS and the flows each tool reports.
#  2. `sessmgr replay --cores 2` against `--cores 1` (not pinned: both vCPUs), RUNS runs each,
#     alternating; the wall-time ratio of the medians (and of each pair).
#
#   scripts/measure-replay.sh [--packets N] [--flows N] [--cpu C] [--runs R] [--no-lock]
#
# Defaults: the 10M-packet, 1M-flow capture of ../shared/tools/make-bench-pcap (its defaults,
# seed 1), made once and cached under /tmp/sessmgr-bench/ (the cache measure-export.sh uses);
# the pinned runs on CPU 1; 3 runs. SESSMGR=path measures that binary instead of building
# target/release/sessmgr. Installs nfdump and softflowd with apt-get when they are missing.
#
# The script takes the shared build-and-measure lock (/tmp/sessmgr-build.lock) itself for the
# whole run, build included: do not wrap it in `flock` (--no-lock skips it, for a machine of
# one's own).
#
# What the "flows" columns count (the peers key flows differently, reference/peer-bench.md):
#  - sessmgr: "Sessions created" of its summary, one bidirectional session per connection
#    (TCP, UDP, and ICMP echo request + reply together);
#  - nfpcapd: `nfdump -R DIR -I` "Flows", one-way NetFlow flows (two per connection);
#  - softflowd (-m 2000000 so that its table never evicts): "Flows expired" of its summary,
#    bidirectional for TCP/UDP but ICMP keyed by type/code (echo request and reply apart).
set -euo pipefail
cd "$(dirname "$0")/.."

packets=10000000
flows=1000000
cpu=1
runs=3
lock=1
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --packets) packets=$2; shift 2 ;;
    --flows) flows=$2; shift 2 ;;
    --cpu) cpu=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --no-lock) lock=0; shift ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

if [ "$lock" = 1 ] && [ -z "${MEASURE_REPLAY_LOCKED:-}" ]; then
  echo "waiting for /tmp/sessmgr-build.lock" >&2
  MEASURE_REPLAY_LOCKED=1 exec flock /tmp/sessmgr-build.lock "$0" "${args[@]}"
fi

# Tools: nfdump (nfpcapd) and softflowd from the distribution when missing.
missing=()
command -v nfpcapd >/dev/null || missing+=(nfdump)
command -v softflowd >/dev/null || missing+=(softflowd)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing ${missing[*]}: run as root (apt-get install) or install them" >&2
    exit 1
  fi
  echo "installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi
for tool in nfpcapd nfdump softflowd taskset python3; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
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
  cargo build --release --quiet --bin sessmgr
  SESSMGR=${CARGO_TARGET_DIR:-target}/release/sessmgr
fi
SESSMGR=$(realpath "$SESSMGR")

work=$(mktemp -d /tmp/sessmgr-measure-replay.XXXXXX)
trap 'rm -rf "$work"' EXIT
results=$work/results
mkdir -p "$results"

# Every read from the page cache, as every peer's was.
cat "$cap" > /dev/null

# run NAME PIN -- CMD...: one timed run; PIN = a CPU list for taskset, or "-" for none.
run() {
  local name=$1 pin=$2
  shift 3
  local pinned=()
  [ "$pin" != - ] && pinned=(taskset -c "$pin")
  echo "== $name: $*" >&2
  if ! /usr/bin/time -v -o "$results/$name.time" "${pinned[@]}" "$@" \
      > "$results/$name.out" 2> "$results/$name.err"; then
    echo "$name failed:" >&2
    tail -5 "$results/$name.err" >&2
    exit 1
  fi
}

for i in $(seq 1 "$runs"); do
  run "sessmgr-$i" "$cpu" -- "$SESSMGR" replay --cores 1 "$cap"
  rm -rf "$work/nf"; mkdir -p "$work/nf"
  run "nfpcapd-$i" "$cpu" -- nfpcapd -r "$cap" -w "$work/nf"
  nfdump -R "$work/nf" -I > "$results/nfpcapd-$i.flows" 2>&1
  # Nothing listens on udp/9995: softflowd's export costs it one send per datagram.
  run "softflowd-$i" "$cpu" -- softflowd -d -r "$cap" -m 2000000 -n 127.0.0.1:9995
done
rm -rf "$work/nf"
for i in $(seq 1 "$runs"); do
  run "cores1-$i" - -- "$SESSMGR" replay --cores 1 "$cap"
  run "cores2-$i" - -- "$SESSMGR" replay --cores 2 "$cap"
done

python3 - "$results" "$runs" "$packets" "$cap" "$SESSMGR" "$cpu" <<'EOF'
import re, statistics, sys, os
results, runs, packets, cap, sessmgr, cpu = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]

def timed(name):
    t = open(os.path.join(results, name + ".time")).read()
    def field(label):
        return re.search(re.escape(label) + r":\s*(\S+)", t).group(1)
    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    return {
        "cpu": float(field("User time (seconds)")) + float(field("System time (seconds)")),
        "wall": secs,
        "rss": int(field("Maximum resident set size (kbytes)")) / 1024,
    }

def text(name, ext):
    return open(os.path.join(results, f"{name}.{ext}")).read()

def flows(tool, i):
    if tool == "sessmgr":
        return int(re.search(r"Sessions created: (\d+)", text(f"sessmgr-{i}", "out")).group(1))
    if tool == "nfpcapd":
        return int(re.search(r"^Flows: (\d+)", text(f"nfpcapd-{i}", "flows"), re.M).group(1))
    return int(re.search(r"Flows expired: (\d+)", text(f"softflowd-{i}", "out")).group(1))

def med(xs):
    return statistics.median(xs)

print(f"capture: {cap} ({packets:,} packets), page cache warm")
print(f"sessmgr: {sessmgr}")
print()
print(f"### Pinned to CPU {cpu} (taskset), {runs} runs each, interleaved; medians (each run)")
print()
print("| tool | CPU s (user + sys) | M packets per CPU-second | wall s | max RSS MiB | flows reported |")
print("|---|---|---|---|---|---|")
for tool, cmd in [("sessmgr", "`sessmgr replay --cores 1 CAP` (summary)"),
                  ("nfpcapd", "`nfpcapd -r CAP -w DIR`"),
                  ("softflowd", "`softflowd -d -r CAP -m 2000000`")]:
    t = [timed(f"{tool}-{i}") for i in range(1, runs + 1)]
    f = [flows(tool, i) for i in range(1, runs + 1)]
    cpu_s = [x["cpu"] for x in t]
    each = lambda xs, fmt: " / ".join(fmt.format(x) for x in xs)
    print(f"| {cmd} | **{med(cpu_s):.2f}** ({each(cpu_s, '{:.2f}')}) "
          f"| **{packets / med(cpu_s) / 1e6:.2f}** "
          f"| {med([x['wall'] for x in t]):.2f} "
          f"| {med([x['rss'] for x in t]):.0f} "
          f"| {', '.join(f'{n:,}' for n in sorted(set(f)))} |")
print()
print(f"### `replay --cores 2` against `--cores 1` (not pinned), {runs} runs each, alternating")
print()
print("| | wall s, median (each run) | CPU s, median (each run) | max RSS MiB |")
print("|---|---|---|---|")
walls = {}
for c in (1, 2):
    t = [timed(f"cores{c}-{i}") for i in range(1, runs + 1)]
    walls[c] = [x["wall"] for x in t]
    cpus = [x["cpu"] for x in t]
    print(f"| `--cores {c}` | {med(walls[c]):.2f} ({' / '.join(f'{w:.2f}' for w in walls[c])}) "
          f"| {med(cpus):.2f} ({' / '.join(f'{w:.2f}' for w in cpus)}) "
          f"| {med([x['rss'] for x in t]):.0f} |")
pairs = [a / b for a, b in zip(walls[1], walls[2])]
print()
print(f"`--cores 2` speed-up (wall time of `--cores 1` / `--cores 2`): **{med(walls[1]) / med(walls[2]):.2f}x** "
      f"of the medians; pair by pair {' / '.join(f'{p:.2f}' for p in pairs)}")
created = lambda name: re.search(r"Sessions at end of capture: (\d+)", text(name, "out")).group(1)
ends = {created(f"cores{c}-{i}") for c in (1, 2) for i in range(1, runs + 1)}
print(f"Sessions at the end of the capture, every run of both: {', '.join(sorted(ends))}"
      + (" (the same)" if len(ends) == 1 else " (DIFFERENT)"))
EOF
