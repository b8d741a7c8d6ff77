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
# Two parts:
#   1. Maximum rate: the generator as fast as it can; packets/s received at h2 per setup. Every
#      setup is capped by the one generator, so this table cannot show a forwarder's cost.
#   2. Forwarding cost (issue #15): the generator paced to the same fixed RATE (default 250 kpps,
#      one every setup sustains) for every setup; the whole machine's busy CPU time is read from
#      /proc/stat over the COST_DUR-second window (wall time x CPUs - idle - iowait: see
#      idle_jiffies for why not the sum of the busy fields). The baseline is the generator
#      sending straight to h2 (h1:eth0 <-> h2:eth0, same sink) at the same rate: what every
#      setup does besides forwarding. Forwarder CPU per packet = (busy - the same round's
#      baseline busy) / packets received at h2. CPU time of processes outside this script's
#      tree (other users of a shared machine; kernel threads excepted) is taken out of "busy"
#      and shown apart; run it under the build lock and read the spread of the runs.
#      Setups: the kernel routing with nf_conntrack, the same with RPS, sessmgr on AF_PACKET
#      (SESSMGR_BIN), sessmgr from SESSMGR_BIN_BASE if given (e.g. a build of an older commit,
#      side by side), and sessmgr on AF_XDP (`backend = "afxdp"`; skipped with a line saying
#      why when the binary refuses that configuration or the kernel refuses the socket), plain
#      and with its in-kernel fast path (`fast_path = true`) in the generic and the driver XDP
#      hook (the driver hook redirects into a veth only when its peer has NAPI, so that setup
#      turns GRO on at h1 and h2; the generic one changes nothing at the hosts).
#
# Established flows: unless ANSWER=0, h2 answers each of the FLOWS flows once during the
# warm-up (one raw UDP frame per flow, from 198.18.2.2:9), so that every setup forwards
# established flows in the window: conntrack's ESTABLISHED, sessmgr's READY (the state its
# fast path offloads, as the kernel's flowtable offloads established flows only).
#
# usage: sudo scripts/measure-forwarding.sh        (env: DUR=5 WARM=1 RUNS=3 FLOWS=1024
#                                                    KERNEL_RPS=1 SESSMGR_BIN=...
#                                                    SESSMGR_CPUS=LIST: taskset for sessmgr;
#                                                    unset = scheduled freely
#                                                    RATE=250000 COST_DUR=5 COST_RUNS=RUNS
#                                                    SESSMGR_BIN_BASE=... BASE_LABEL=sendmmsg
#                                                    PARTS="max cost"  PERF_OUT=DIR: a system-
#                                                    wide `perf record -g` of each sessmgr cost
#                                                    window of run 1 goes to DIR; ANSWER=1;
#                                                    ONLY=LABEL,...: those setups alone)
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
BIN_BASE=${SESSMGR_BIN_BASE:-}
BASE_LABEL=${BASE_LABEL:-sendmmsg}
RATE=${RATE:-250000}
COST_DUR=${COST_DUR:-5}
COST_RUNS=${COST_RUNS:-$RUNS}
PARTS=${PARTS:-max cost}
PERF_OUT=${PERF_OUT:-}
ANSWER=${ANSWER:-1}
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
# direct: h1:eth0 <-> h2:eth0, no fw in between (the baseline of the cost measurement).
topo_up() {
    local mode=$1
    for ns in "$H1" "$H2" "$FW"; do ip netns add "$ns"; done
    if [ "$mode" = direct ] || [ "$mode" = direct-gro ]; then
        ip link add eth0 netns "$H1" type veth peer name eth0 netns "$H2"
    else
        ip link add eth0 netns "$H1" type veth peer name fwa netns "$FW"
        ip link add eth0 netns "$H2" type veth peer name fwb netns "$FW"
    fi
    ip -n "$H1" addr add 198.18.1.1/24 dev eth0
    ip -n "$H2" addr add 198.18.2.2/24 dev eth0
    for ns in "$H1" "$H2"; do
        ip -n "$ns" link set lo up
        ip -n "$ns" link set eth0 up
        offloads_off "$ns" eth0
    done
    ip -n "$H1" route add 198.18.2.0/24 via 198.18.1.254
    ip -n "$H2" route add 198.18.1.0/24 via 198.18.2.254
    if [ "$mode" != direct ] && [ "$mode" != direct-gro ]; then
        for dev in fwa fwb; do
            ip -n "$FW" link set "$dev" up
            offloads_off "$FW" "$dev"
        done
    fi
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
    sink | sessmgr | direct | direct-gro)
        DMAC=$h2mac
        ;;
    bridge-plain)
        # The floor of in-kernel forwarding on veth: a Linux bridge with no netfilter at all
        # (no conntrack, no rules), the cheapest path a frame can take from fwa to fwb.
        ip -n "$FW" link add br0 type bridge
        ip -n "$FW" link set fwa master br0
        ip -n "$FW" link set fwb master br0
        ip -n "$FW" link set br0 up
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

# answer_flows DMAC: h2 sends one UDP datagram back on each of the generator's flows
# (198.18.2.2:9 -> 198.18.1.1:40000+i), raw, to DMAC (the next hop towards h1).
cat >"$TMP/answer.py" <<'EOF'
import socket, struct, sys
dmac, n = bytes.fromhex(sys.argv[1].replace(":", "")), int(sys.argv[2])
smac = bytes.fromhex(open("/sys/class/net/eth0/address").read().strip().replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xFFFF) + (t >> 16)
    return ~t & 0xFFFF
for i in range(n):
    udp = struct.pack("!HHHH", 9, 40000 + i, 16, 0) + b"answered"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton("198.18.2.2"), socket.inet_aton("198.18.1.1"))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s.send(dmac + smac + b"\x08\x00" + ip + udp)
EOF
answer_flows() { ip netns exec "$H2" python3 "$TMP/answer.py" "$1" "$FLOWS"; }

# ---------------------------------------------------------------- one measurement
HZ=$(getconf CLK_TCK)
# The whole machine's idle + iowait time in jiffies. On a tickless kernel (NO_HZ) these two
# /proc/stat fields are measured exactly (the time each CPU spent in its idle loop), while
# user/system/softirq are sampled at the tick: with this kernel's tick accounting
# (CONFIG_TICK_CPU_ACCOUNTING, no IRQ_TIME_ACCOUNTING) a paced generator or a forwarder woken
# 1000s of times a second is charged whole ticks, and the sampled fields added up to more than
# the wall clock in a test here. So busy = wall time x CPUs - idle - iowait.
idle_jiffies() { awk '$1 == "cpu" { print $5 + $6; exit }' /proc/stat; }
# On a shared machine other users' processes are busy too. `cpu_snapshot FILE` records every
# process's CPU time (utime+stime+cutime+cstime, by PID and start time) except kernel threads
# and this script's own process tree; `foreign_jiffies A B` is what those foreign processes
# used between two snapshots (processes that started in between count whole; one that ended in
# between counts through its parent's cutime, less what it had used before the first
# snapshot). The cost figures subtract it.
cat >"$TMP/cpu-snap.py" <<'EOF'
import os, sys
def snap(out, root):
    kids = {}
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            raw = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        f = raw[raw.rindex(")") + 2:].split()
        pid, ppid, flags = int(d), int(f[1]), int(f[6])
        kids.setdefault(ppid, []).append(pid)
        if flags & 0x00200000 or pid == 2 or ppid == 2:  # PF_KTHREAD
            continue
        procs[pid] = (f[19], sum(int(x) for x in f[11:15]))
    ours, todo = set(), [root]
    while todo:
        p = todo.pop()
        if p not in ours:
            ours.add(p)
            todo += kids.get(p, [])
    with open(out, "w") as o:
        for pid, (start, t) in procs.items():
            if pid not in ours:
                o.write(f"{pid} {start} {t}\n")
def delta(a, b):
    old = {}
    for line in open(a):
        pid, start, t = line.split()
        old[(pid, start)] = int(t)
    total = 0
    for line in open(b):
        pid, start, t = line.split()
        total += int(t) - old.pop((pid, start), 0)
    # A process that ended in between has its whole time added to its parent's cutime; the
    # part it had used before the first snapshot is not in the window.
    total -= sum(old.values())
    print(max(0, total))
if sys.argv[1] == "snap":
    snap(sys.argv[2], int(sys.argv[3]))
else:
    delta(sys.argv[2], sys.argv[3])
EOF
cpu_snapshot() { python3 "$TMP/cpu-snap.py" snap "$1" "$$"; }
foreign_jiffies() { python3 "$TMP/cpu-snap.py" delta "$1" "$2"; }

# measure LABEL MODE CORES RUN RATE BIN BACKEND OUT [PERF_FILE]
#   MODE: sink | direct | sessmgr | kernel | kernel-rps; RATE 0 = as fast as the generator can;
#   BIN/BACKEND for sessmgr. Appends "LABEL RUN offered received busy_cpus" to OUT (busy_cpus:
#   the machine's busy CPU-seconds per second over the window). Returns 3 when sessmgr did not
#   start (the caller reports the setup as skipped).
measure() {
    local label=$1 mode=$2 cores=$3 run=$4 rate=$5 bin=$6 backend=$7 out=$8 perf_file=${9:-}
    local dur=$DUR
    [ "$rate" != 0 ] && dur=$COST_DUR
    topo_up "$mode"
    local eng="" sock="$TMP/ctl-$label-$run.sock"
    # The fast-path setups: AF_XDP with fast_path on, in the generic or the driver hook.
    local cfg_backend=$backend xdp_extra=""
    case $backend in
    afxdp-fast-generic)
        cfg_backend=afxdp
        xdp_extra=$'fast_path = true\nxdp_attach = "generic"'
        ;;
    afxdp-fast-driver)
        cfg_backend=afxdp
        xdp_extra=$'fast_path = true\nxdp_attach = "driver"'
        ;;
    esac
    if [ "$backend" = afxdp-fast-driver ] || [ "$mode" = direct-gro ]; then
        for ns in "$H1" "$H2"; do ip netns exec "$ns" ethtool -K eth0 gro on >/dev/null; done
    fi
    if [ "$mode" = sessmgr ]; then
        cat >"$TMP/cfg-$label.toml" <<EOF
[session]
mode = "bidirectional"
statistics_enable = true
[runtime]
cores = $cores
backend = "$cfg_backend"
interfaces = ["fwa", "fwb"]
io_mode = "inline"
log_events = false
control_socket = "$sock"
startup_config = "$TMP/startup-$label-$run.cfg"
$xdp_extra
[restart]
save_sessions = false
EOF
        ip netns exec "$FW" ${SESSMGR_CPUS:+taskset -c "$SESSMGR_CPUS"} "$bin" run --config "$TMP/cfg-$label.toml" >"$TMP/sessmgr-$label-$run.log" 2>&1 &
        eng=$!
        PIDS+=("$eng")
        for _ in $(seq 100); do
            [ -S "$sock" ] && break
            kill -0 "$eng" 2>/dev/null || break
            sleep 0.1
        done
        if [ ! -S "$sock" ]; then
            stop_pid "$eng"
            forget_pid "$eng"
            topo_down
            if [ "$backend" = afpacket ]; then
                log "sessmgr did not start:"; cat "$TMP/sessmgr-$label-$run.log" >&2; exit 1
            fi
            SKIP_WHY=$(grep -v '^\s*$' "$TMP/sessmgr-$label-$run.log" | tail -n 3 | tr '\n' ' ' | cut -c1-300)
            return 3
        fi
        sleep 0.5
    fi

    local gen_secs
    gen_secs=$(awk -v d="$dur" -v w="$WARM" 'BEGIN { print d + w + 2 }')
    ip netns exec "$H1" taskset -c 0 "$TMP/udp-flood" eth0 "$DMAC" 198.18.1.1 198.18.2.2 \
        "$FLOWS" "$gen_secs" "$PAYLOAD" "$rate" >"$TMP/gen.out" 2>&1 &
    local gen=$!
    PIDS+=("$gen")
    if [ "$ANSWER" = 1 ] && [ "$mode" != sink ]; then
        # Every flow has sent by now; one answer each makes them established.
        sleep 0.3
        local next_hop
        case $mode in
        kernel | kernel-rps)
            if [ "$KMODE" = bridge ]; then next_hop=$(mac_of "$H1" eth0); else next_hop=$(mac_of "$FW" fwb); fi
            ;;
        *) next_hop=$(mac_of "$H1" eth0) ;;
        esac
        answer_flows "$next_hop"
    fi
    sleep "$WARM"
    local perf=""
    if [ -n "$perf_file" ]; then
        perf record -q -a -g -o "$perf_file" -- sleep "$dur" >/dev/null 2>&1 &
        perf=$!
        PIDS+=("$perf")
    fi
    local t1 tx1 rx1 txd1 b1 t2 tx2 rx2 txd2 b2
    cpu_snapshot "$TMP/snap1"
    t1=$(date +%s.%N); b1=$(idle_jiffies)
    tx1=$(ctr "$H1" eth0 tx_packets); rx1=$(ctr "$H2" eth0 rx_packets)
    txd1=$(ctr "$H1" eth0 tx_dropped)
    sleep "$dur"
    t2=$(date +%s.%N); b2=$(idle_jiffies)
    cpu_snapshot "$TMP/snap2"
    tx2=$(ctr "$H1" eth0 tx_packets); rx2=$(ctr "$H2" eth0 rx_packets)
    txd2=$(ctr "$H1" eth0 tx_dropped)
    if [ -n "$perf" ]; then
        wait "$perf" || true
        forget_pid "$perf"
    fi
    wait "$gen" || true
    forget_pid "$gen"

    local offered received busy foreign
    foreign=$(foreign_jiffies "$TMP/snap1" "$TMP/snap2")
    offered=$(awk -v a="$tx1" -v b="$tx2" -v s="$t1" -v e="$t2" 'BEGIN { printf "%.0f", (b - a) / (e - s) }')
    received=$(awk -v a="$rx1" -v b="$rx2" -v s="$t1" -v e="$t2" 'BEGIN { printf "%.0f", (b - a) / (e - s) }')
    busy=$(awk -v a="$b1" -v b="$b2" -v f="$foreign" -v s="$t1" -v e="$t2" -v hz="$HZ" -v n="$NCPU" 'BEGIN { printf "%.4f", n - ((b - a) + f) / hz / (e - s) }')
    foreign=$(awk -v f="$foreign" -v s="$t1" -v e="$t2" -v hz="$HZ" 'BEGIN { printf "%.2f", f / hz / (e - s) }')
    local check=""
    if [ "$mode" = sessmgr ]; then
        local stats
        stats=$("$bin" dump stats --socket "$sock" 2>/dev/null || true)
        echo "$stats" >"$TMP/stats-$label-$run.json"
        [ -n "${KEEP_DUMPS:-}" ] && "$bin" dump sessions --socket "$sock" >"$KEEP_DUMPS/sessions-$label-$run.json" 2>/dev/null
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
print("sessmgr: " + " ".join(find(s, ("created", "active", "tx_errors", "kernel_drops", "drop"))[:12])
      + " fast_path: " + " ".join(f"{k}={v}" for k, v in s.get("fast_path", {}).items() if k in ("offloaded", "refused", "packets", "live")))
EOF
)
        stop_pid "$eng"
        forget_pid "$eng"
    elif [ "$mode" = sink ]; then
        check="generator alone (nothing forwards)"
    elif [ "$mode" = bridge-plain ]; then
        check="Linux bridge, no netfilter (the floor of kernel forwarding)"
    elif [ "$mode" = direct-gro ]; then
        check="generator straight to h2, GRO on at both hosts (nothing forwards)"
    elif [ "$mode" = direct ]; then
        check="generator straight to h2 (nothing forwards)"
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
    printf '%-18s run %d: offered %9d pps, received %9d pps (%5.1f%%), busy %.2f CPUs (+%.2f by others), h1 tx_dropped +%d | %s | gen: %s\n' \
        "$label" "$run" "$offered" "$received" \
        "$(awk -v o="$offered" -v r="$received" 'BEGIN { print (o > 0 ? 100 * r / o : 0) }')" \
        "$busy" "$foreign" "$((txd2 - txd1))" "$check" "$gen_line"
    echo "$label $run $offered $received $busy" >>"$out"
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.4f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# run_setup "LABEL MODE CORES BINKEY BACKEND" RUN RATE OUT [PERF_FILE]: one measurement of a
# setup; a setup whose sessmgr does not start is reported once and skipped from then on.
declare -A SKIPPED
run_setup() {
    local spec=$1 run=$2 rate=$3 out=$4 perf_file=${5:-}
    local label mode cores binkey backend bin
    read -r label mode cores binkey backend <<<"$spec"
    [ -n "${SKIPPED[$label]:-}" ] && return 0
    # ONLY=label,label...: measure these setups (and the baselines) alone.
    if [ -n "${ONLY:-}" ] && [[ ",$ONLY,direct,direct-gro,gen-only," != *",$label,"* ]]; then return 0; fi
    bin=$BIN
    [ "$binkey" = base ] && bin=$BIN_BASE
    local rc=0
    SKIP_WHY=""
    measure "$label" "$mode" "$cores" "$run" "$rate" "$bin" "$backend" "$out" "$perf_file" || rc=$?
    if [ "$rc" = 3 ]; then
        SKIPPED[$label]="sessmgr ($bin) refused backend = \"$backend\": $SKIP_WHY"
        printf '%-18s SKIPPED: %s\n' "$label" "${SKIPPED[$label]}"
    elif [ "$rc" != 0 ]; then
        return "$rc"
    fi
}

# ---------------------------------------------------------------- main
echo "machine: $NCPU CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r)"
echo "traffic: UDP, $PAYLOAD-byte payload ($((14 + 20 + 8 + PAYLOAD))-byte frames), $FLOWS flows, h1 -> h2, ${WARM}s warm-up, generator pinned to CPU 0, sessmgr on CPUs ${SESSMGR_CPUS:-any}"
echo "sessmgr: $BIN${BIN_BASE:+; $BASE_LABEL: $BIN_BASE}"
echo "kernel setup: $KMODE${KMODE_WHY:+ ($KMODE_WHY)}"
: >"$TMP/results"
: >"$TMP/cost"
: >"$TMP/perf-runs"
SESSMGR_SETUPS=("sessmgr-c1 sessmgr 1 cur afpacket" "sessmgr-c2 sessmgr 2 cur afpacket")
[ -n "$BIN_BASE" ] && SESSMGR_SETUPS+=("$BASE_LABEL-c1 sessmgr 1 base afpacket")
SESSMGR_SETUPS+=("sessmgr-afxdp sessmgr 1 cur afxdp")
SESSMGR_SETUPS+=("sessmgr-xdp-fast sessmgr 1 cur afxdp-fast-generic")
SESSMGR_SETUPS+=("sessmgr-xdp-fast-drv sessmgr 1 cur afxdp-fast-driver")
KERNEL_SETUPS=("kernel-$KMODE kernel - - -")
[ "$KERNEL_RPS" = 1 ] && KERNEL_SETUPS+=("kernel-$KMODE-rps kernel-rps - - -")
# Not a firewall: the reference for what any forwarder between two veths costs at least.
FLOOR_SETUPS=("bridge-plain bridge-plain - - -")

# ---------------------------------------------------------------- part 1: maximum rate
if [[ " $PARTS " == *" max "* ]]; then
    echo
    echo "== part 1: maximum rate (generator as fast as it can; ${DUR}s window, $RUNS runs each)"
    SETUPS=("gen-only sink - - -" "${SESSMGR_SETUPS[@]}" "${KERNEL_SETUPS[@]}")
    for run in $(seq "$RUNS"); do
        for s in "${SETUPS[@]}"; do run_setup "$s" "$run" 0 "$TMP/results"; done
    done
    echo
    echo "medians over $RUNS runs (packets/s at h2's eth0; offered = h1's eth0 tx):"
    declare -A MED
    GENMAX=0
    for s in "${SETUPS[@]}"; do
        read -r l _ <<<"$s"
        [ -n "${SKIPPED[$l]:-}" ] && { printf '  %-18s skipped (%s)\n' "$l" "${SKIPPED[$l]}"; continue; }
        rx=$(awk -v l="$l" '$1 == l { print $4 }' "$TMP/results" | median)
        tx=$(awk -v l="$l" '$1 == l { print $3 }' "$TMP/results" | median)
        MED[$l]=$rx
        if [ "$l" = gen-only ]; then
            GENMAX=$tx
            printf '  %-18s offered %9.0f pps (the generator alone: its ceiling here)\n' "$l" "$tx"
            continue
        fi
        verdict=$(awk -v o="$tx" -v r="$rx" -v g="$GENMAX" 'BEGIN {
            x = sprintf("generator at %.0f%% of its ceiling; ", (g > 0 ? 100 * o / g : 0));
            if (o > 0 && r >= 0.98 * o) print x "received ~ offered: the forwarder kept up (rate limited by the generator / shared CPU)";
            else printf "%sforwarder-limited: %.1f%% of offered lost\n", x, (o > 0 ? 100 * (1 - r / o) : 0) }')
        printf '  %-18s received %9.0f pps   offered %9.0f pps   %s\n' "$l" "$rx" "$tx" "$verdict"
    done
    K=${MED[kernel-$KMODE]:-0}
    echo
    for s in "${SESSMGR_SETUPS[@]}"; do
        read -r c _ <<<"$s"
        [ -n "${MED[$c]:-}" ] || continue
        printf 'ratio %s / kernel-%s: %.2f\n' "$c" "$KMODE" "$(awk -v a="${MED[$c]}" -v b="$K" 'BEGIN { print (b > 0 ? a / b : 0) }')"
        if [ "$KERNEL_RPS" = 1 ]; then
            printf 'ratio %s / kernel-%s-rps: %.2f\n' "$c" "$KMODE" "$(awk -v a="${MED[$c]}" -v b="${MED[kernel-$KMODE-rps]:-0}" 'BEGIN { print (b > 0 ? a / b : 0) }')"
        fi
    done
    echo
    echo "notes: with veth, the kernel forwards in the softirq of the sending CPU (no RPS), so in the"
    echo "plain kernel setup the generator and the forwarder share CPU 0 and offered == forwarded by"
    echo "construction (the number is that one-CPU pipeline). With sessmgr, CPU 0 still carries the"
    echo "generator plus the copy into sessmgr's AF_PACKET rings; sessmgr's cores are scheduled freely"
    echo "(with cores = 2 one of them shares CPU 0 with the generator). sessmgr io.kernel_drops counts"
    echo "frames lost at its receive rings. With ANSWER=1 every flow was answered once in the warm-up,"
    echo "so conntrack holds them ESTABLISHED ('ct state established' carries the packets) and sessmgr"
    echo "READY; the conntrack -L count shows one entry per flow."
fi

# ---------------------------------------------------------------- part 2: forwarding cost
if [[ " $PARTS " == *" cost "* ]]; then
    echo
    echo "== part 2: forwarding cost at a fixed $RATE pps (${COST_DUR}s window, $COST_RUNS runs each, interleaved)"
    CSETUPS=("direct direct - - -" "direct-gro direct-gro - - -" "${KERNEL_SETUPS[@]}" "${FLOOR_SETUPS[@]}")
    for s in "${SESSMGR_SETUPS[@]}"; do
        read -r l _ <<<"$s"
        [ "$l" = sessmgr-c2 ] || CSETUPS+=("$s")
    done
    for run in $(seq "$COST_RUNS"); do
        for s in "${CSETUPS[@]}"; do run_setup "$s" "$run" "$RATE" "$TMP/cost"; done
    done
    echo
    echo "forwarder CPU per packet at $RATE pps (medians over the runs; per run: (busy - the same"
    echo "round's direct baseline) / packets received at h2):"
    printf '  %-18s %10s %10s %10s %10s %10s\n' setup offered received "busy CPUs" "fwd CPUs" "ns/packet"
    declare -A NS
    for s in "${CSETUPS[@]}"; do
        read -r l _ <<<"$s"
        [ -n "${SKIPPED[$l]:-}" ] && { printf '  %-18s skipped (%s)\n' "$l" "${SKIPPED[$l]}"; continue; }
        awk -v l="$l" '$1 == l' "$TMP/cost" >"$TMP/cost-$l"
        [ -s "$TMP/cost-$l" ] || continue
        tx=$(awk '{ print $3 }' "$TMP/cost-$l" | median)
        rx=$(awk '{ print $4 }' "$TMP/cost-$l" | median)
        busy=$(awk '{ print $5 }' "$TMP/cost-$l" | median)
        if [ "$l" = direct ] || [ "$l" = direct-gro ]; then
            printf '  %-18s %10.0f %10.0f %10.3f %10s %10s\n' "$l" "$tx" "$rx" "$busy" "baseline" "-"
            continue
        fi
        # Each setup against the baseline with its hosts' settings (GRO on for the driver-hook
        # fast path, whose redirect into a veth needs NAPI at the receiving host).
        base=direct
        [ "$l" = sessmgr-xdp-fast-drv ] && base=direct-gro
        fwd=$(awk 'NR == FNR { base[$2] = $5; next } ($2 in base) { print $5 - base[$2] }' "$TMP/cost-$base" "$TMP/cost-$l" | median)
        ns=$(awk 'NR == FNR { base[$2] = $5; next } ($2 in base) && $4 > 0 { print ($5 - base[$2]) * 1e9 / $4 }' "$TMP/cost-$base" "$TMP/cost-$l" | median)
        NS[$l]=$ns
        kept=$(awk -v o="$tx" -v r="$rx" 'BEGIN { if (o > 0 && r < 0.98 * o) printf "  (did NOT sustain the rate: %.1f%% lost)", 100 * (1 - r / o) }')
        printf '  %-18s %10.0f %10.0f %10.3f %10.3f %10.0f%s\n' "$l" "$tx" "$rx" "$busy" "$fwd" "$ns" "$kept"
    done
    echo
    for s in "${SESSMGR_SETUPS[@]}"; do
        read -r c _ <<<"$s"
        [ -n "${NS[$c]:-}" ] || continue
        for k in "kernel-$KMODE" "kernel-$KMODE-rps" bridge-plain; do
            [ -n "${NS[$k]:-}" ] || continue
            target=" (target <= 0.33)"
            [ "$k" = bridge-plain ] && target=" (against the floor: no firewall)"
            printf 'cost ratio %s / %s: %.2f%s\n' "$c" "$k" "$(awk -v a="${NS[$c]}" -v b="${NS[$k]}" 'BEGIN { print (b > 0 ? a / b : 0) }')" "$target"
        done
    done
    if [ -n "$PERF_OUT" ]; then
        mkdir -p "$PERF_OUT"
        echo
        echo "profiles (one extra run each, not in the figures above):"
        for s in "${SESSMGR_SETUPS[@]}"; do
            read -r l _ <<<"$s"
            [ "$l" = sessmgr-c2 ] && continue
            [ -n "${SKIPPED[$l]:-}" ] && continue
            run_setup "$s" 99 "$RATE" "$TMP/perf-runs" "$PERF_OUT/$l.data"
            echo "  $l: $PERF_OUT/$l.data (perf report -i $PERF_OUT/$l.data --no-children --sort sym)"
        done
        run_setup "${KERNEL_SETUPS[0]}" 99 "$RATE" "$TMP/perf-runs" "$PERF_OUT/kernel.data"
        echo "  kernel-$KMODE: $PERF_OUT/kernel.data"
    fi
fi
