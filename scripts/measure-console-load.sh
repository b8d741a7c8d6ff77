#!/usr/bin/env bash
# What an operator's console costs the data path (issue #4), measured, not asserted:
# `sessmgr run` (release build, 2 cores, pcap back-end) loops a generated capture of FLOWS
# TCP connections that stay open (handshake only, 64 frames per microsecond of capture time)
# until the table holds FLOWS sessions. Then, in alternating phases of PHASE_S seconds,
# ROUNDS times:
#   - quiet: no console; frames/s from the engine's counters (`sessmgr dump stats` data) and
#     the engine's CPU use (/proc/PID/stat, in vCPUs);
#   - console: one console connection runs `display session table ipv4` and
#     `display session statistics` back to back in a loop, and each answer time is taken
#     (the table: time to its first chunk, what the first screen shows; paging is on, as at
#     a terminal, and the rest is dropped with `stop`, as `q` does; the statistics: the
#     whole answer).
# Prints frames/s and CPU per phase, the change, and the answer times (median, 95th
# percentile, max). PACE=max (the default) plays the capture flat out (`capture_pace =
# "max"`): the cores take frames as fast as they can, so frames/s is the engine's full speed
# and the change is the data path's loss to the console. PACE=recorded keeps the capture's
# spacing and one second between laps (offered ~2.9 Mframes/s for 1M flows): the change is
# then measured below saturation, and the CPU figures show the console's cost.
#
# MODE=listing (issue #11) times full listings instead: ROUNDS times with paging on (a
# terminal's default), then ROUNDS times with paging off (`screen-length disable`),
# `display session table ipv4 | include Total` from its line to
# its last chunk (rows/s = the Total it prints over that time), the engine's frames/s while
# it runs (and quiet, before), and the first screen with paging on (time to the first chunk
# of `display session table ipv4`, then `stop`).
#
#   scripts/measure-console-load.sh            FLOWS=1000000 PHASE_S=10 ROUNDS=3 PACE=max
#   MODE=listing FLOWS=300000 ROUNDS=3 scripts/measure-console-load.sh
# BIN=path runs another build of sessmgr (a baseline) instead of this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."

FLOWS=${FLOWS:-1000000}
PHASE_S=${PHASE_S:-10}
ROUNDS=${ROUNDS:-3}
PACE=${PACE:-max}
MODE=${MODE:-load}
WORK=${WORK:-/tmp/sessmgr-console-load}
mkdir -p "$WORK"

TARGET=${CARGO_TARGET_DIR:-target}
[ -n "${BIN:-}" ] || cargo build --release --bin sessmgr
BIN=${BIN:-$TARGET/release/sessmgr}
cargo build --profile tools --example gen_capture
CAP="$WORK/open-$FLOWS.pcap"
[ -f "$CAP" ] || "$TARGET"/tools/examples/gen_capture "$CAP" "$FLOWS" 0 open 64

cat >"$WORK/config.toml" <<EOF
[session]
capacity_sessions = $((FLOWS * 2))
statistics_enable = true
[runtime]
cores = 2
backend = "pcap"
capture = "$CAP"
capture_loop = true
capture_pace = "$PACE"
control_socket = "$WORK/ctl.sock"
startup_config = "$WORK/startup.cfg"
log_events = false
EOF
rm -f "$WORK/ctl.sock" "$WORK/startup.cfg"
"$BIN" run --config "$WORK/config.toml" >"$WORK/run.log" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT

python3 - "$WORK/ctl.sock" "$FLOWS" "$PHASE_S" "$ROUNDS" "$PID" "$PACE" "$MODE" <<'PY'
import json, os, socket, statistics, sys, threading, time

path, flows, phase_s, rounds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
pid = int(sys.argv[5])
flat_out = sys.argv[6] == "max"
mode = sys.argv[7]
tick = os.sysconf("SC_CLK_TCK")

def cpu_s():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick

class Conn:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile("rwb")
    def ask(self, req):
        self.f.write((json.dumps(req) + "\n").encode())
        self.f.flush()
        return json.loads(self.f.readline())

def stats():
    c = Conn()
    r = c.ask({"cmd": "stats"})
    c.s.close()
    return r

deadline = time.time() + 60
while not os.path.exists(path):
    if time.time() > deadline:
        sys.exit("the engine did not start")
    time.sleep(0.1)
deadline = time.time() + 300
while stats().get("sessions", 0) < flows:
    if time.time() > deadline:
        sys.exit(f"the table did not fill: {stats()}")
    time.sleep(0.5)
frames_lap = 3 * flows
if flat_out:
    offered = float("inf")
    print(f"table full: {stats()['sessions']} sessions; capture played flat out "
          f"({frames_lap} frames per lap, no pause)")
else:
    offered = frames_lap / (frames_lap / 64e6 + 1.0)
    print(f"table full: {stats()['sessions']} sessions; offered {offered / 1e6:.3f} Mframes/s "
          f"({frames_lap} frames per lap of {frames_lap / 64e6 + 1.0:.3f} s)")

def fps(seconds):
    a, c0, t0 = stats()["frames"], cpu_s(), time.time()
    time.sleep(seconds)
    b, c1, t1 = stats()["frames"], cpu_s(), time.time()
    return (b - a) / (t1 - t0), (c1 - c0) / (t1 - t0)

if mode == "listing":
    def listing(c):
        # One full listing: (rows found, seconds, chunks, engine frames/s).
        f0, t = stats()["frames"], time.perf_counter()
        r = c.ask({"op": "line", "line": "display session table ipv4 | include Total"})
        out, chunks = r["output"], 1
        while r.get("more"):
            r = c.ask({"op": "more"})
            out += r["output"]
            chunks += 1
        dt = time.perf_counter() - t
        f1 = stats()["frames"]
        found = [l for l in out.splitlines() if "Total sessions found" in l]
        assert len(found) == 1, out[-500:]
        return int(found[0].split(":")[1]), dt, chunks, (f1 - f0) / dt
    q, qc = fps(phase_s)
    print(f"quiet: {q / 1e6:.3f} Mframes/s ({qc:.2f} vCPU)")
    c = Conn()
    c.ask({"op": "hello"})
    first = []
    for i in range(rounds):
        for _ in range(10):
            t = time.perf_counter()
            r = c.ask({"op": "line", "line": "display session table ipv4"})
            first.append(time.perf_counter() - t)
            assert "Initiator:" in r["output"], r
            if r.get("more"):
                c.ask({"op": "stop"})
    # Paging on, as a terminal has it by default: the filter leaves one line, so every chunk
    # ends only at the bulk limits (a chunk ends at a screenful of output, not of sessions).
    for i in range(rounds):
        n, dt, chunks, f = listing(c)
        print(f"paging on, listing {i + 1}: {n} rows in {dt:.2f} s ({chunks} chunks): {n / dt:,.0f} rows/s; "
              f"engine {f / 1e6:.3f} Mframes/s meanwhile ({(f - q) / q * 100:+.1f} % of quiet)")
    c.ask({"op": "line", "line": "screen-length disable"})
    rates = []
    for i in range(rounds):
        n, dt, chunks, f = listing(c)
        rates.append(n / dt)
        print(f"listing {i + 1}: {n} rows in {dt:.2f} s ({chunks} chunks): {n / dt:,.0f} rows/s; "
              f"engine {f / 1e6:.3f} Mframes/s meanwhile ({(f - q) / q * 100:+.1f} % of quiet)")
    v = sorted(x * 1e3 for x in first)
    print(f"mean {statistics.mean(rates):,.0f} rows/s; first screen (paging on): "
          f"median {statistics.median(v):.1f} ms, max {v[-1]:.1f} ms over {len(v)}")
    sys.exit(0)

lat = {"table": [], "stats": []}
def console(stop):
    c = Conn()
    c.ask({"op": "hello"})
    while not stop.is_set():
        t = time.perf_counter()
        r = c.ask({"op": "line", "line": "display session table ipv4"})
        lat["table"].append(time.perf_counter() - t)
        assert "Initiator:" in r["output"], r
        if r.get("more"):
            c.ask({"op": "stop"})
        t = time.perf_counter()
        r = c.ask({"op": "line", "line": "display session statistics"})
        lat["stats"].append(time.perf_counter() - t)
        assert "Current sessions:" in r["output"], r

quiet, loaded = [], []
for i in range(rounds):
    q, qc = fps(phase_s)
    stop = threading.Event()
    th = threading.Thread(target=console, args=(stop,))
    th.start()
    time.sleep(0.5)
    l, lc = fps(phase_s)
    stop.set()
    th.join()
    quiet.append(q); loaded.append(l)
    print(f"round {i + 1}: quiet {q / 1e6:.3f} Mframes/s ({qc:.2f} vCPU), with console "
          f"{l / 1e6:.3f} Mframes/s ({lc:.2f} vCPU), {(l - q) / q * 100:+.1f} %")
q, l = statistics.mean(quiet), statistics.mean(loaded)
print(f"mean: quiet {q / 1e6:.3f} Mframes/s, with console {l / 1e6:.3f} Mframes/s, "
      f"change {(l - q) / q * 100:+.1f} %; "
      f"{'flat out: the engine at full speed' if flat_out else ('saturated' if q < 0.97 * offered else 'not saturated: the engine carried the offered rate')}")
print(f"sessions at the end: {stats()['sessions']}")
for name, v in lat.items():
    v = sorted(x * 1e3 for x in v)
    p95 = v[min(len(v) - 1, int(len(v) * 0.95))]
    print(f"{name:6} answers: {len(v)}, median {statistics.median(v):.1f} ms, "
          f"p95 {p95:.1f} ms, max {v[-1]:.1f} ms")
PY
