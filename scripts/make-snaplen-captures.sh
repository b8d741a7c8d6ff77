#!/usr/bin/env bash
# make-snaplen-captures.sh -- record one real HTTP transfer twice at once: whole, and cut to
# 96 bytes per frame as `tcpdump -s 96` does.
#
# What this records
#   Two network namespaces joined by one veth pair (198.18.0.1/24, 2001:2::1/64 the client;
#   198.18.0.2/24, 2001:2::2/64 the server). `python3 -m http.server` in the server serves a
#   48 KiB and a 96 KiB file; curl fetches the first over IPv4 and the second over IPv6.
#   Two tcpdump processes listen on the client's interface at the same time:
#     captures/http-whole.pcap   every frame whole (-s 0)
#     captures/http-snap96.pcap  every frame cut to its first 96 bytes (-s 96): the records
#                                keep each frame's length on the wire
#   Segmentation offloads are off, so frames are what travelled (at most 1514 bytes) and the
#   cut is real: every data segment loses most of its payload. Both captures must hold the same
#   frames in the same order (tcpdump's decode of their headers, timestamps aside: each packet socket
#   stamps its own copy, a few microseconds apart); the script checks it and tries again if a
#   capture missed a frame.
#
#   tests/snaplen.rs replays both: the verdicts and the final table must be the same (issue #9:
#   frames cut by a snap length are tracked by their length on the wire).
#
# Regenerate with:   sudo scripts/make-snaplen-captures.sh
#   Needs root. Installs tcpdump, iproute2, curl, ethtool with apt-get only if missing.
#   Creates namespaces smsnap-a-<pid>, smsnap-b-<pid>; removes them and every process it
#   started on exit.

set -euo pipefail

if [[ ${EUID} -ne 0 ]]; then
    echo "error: must run as root (sudo $0)" >&2
    exit 1
fi

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="${REPO_ROOT}/captures"
WHOLE="${OUT_DIR}/http-whole.pcap"
CUT="${OUT_DIR}/http-snap96.pcap"

missing=()
for tool in tcpdump:tcpdump ip:iproute2 ss:iproute2 curl:curl ethtool:ethtool; do
    cmd=${tool%%:*}
    if ! command -v "$cmd" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$cmd && ! -x /sbin/$cmd ]]; then
        missing+=("${tool##*:}")
    fi
done
if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
export PATH="${PATH}:/usr/sbin:/sbin"
PY="$(command -v python3)" || { echo "error: python3 not found" >&2; exit 1; }

NS_A="smsnap-a-$$"
NS_B="smsnap-b-$$"
VETH_A="smsa$$"
VETH_B="smsb$$"
A4=198.18.0.1  B4=198.18.0.2
A6=2001:2::1   B6=2001:2::2
PORT=8080

WORK="$(mktemp -d /tmp/smsnap.XXXXXX)"
PIDS=()

cleanup() {
    local rc=$?
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    ip netns del "$NS_A" 2>/dev/null
    ip netns del "$NS_B" 2>/dev/null
    [[ -n "${KEEP_WORK:-}" ]] || rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

inA() { ip netns exec "$NS_A" "$@"; }
inB() { ip netns exec "$NS_B" "$@"; }

wait_for() {
    local n=$1; shift
    while ((n-- > 0)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.05
    done
    echo "error: timed out waiting for: $*" >&2
    return 1
}

ip netns add "$NS_A"
ip netns add "$NS_B"
for ns in "$NS_A" "$NS_B"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.router_solicitations=0
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.router_solicitations=0
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0
    ip netns exec "$ns" ip link set lo up
done
ip link add "$VETH_A" netns "$NS_A" type veth peer name "$VETH_B" netns "$NS_B"
# Checksums filled in, no segmentation offloads: frames as they would be on a wire.
inA ethtool -K "$VETH_A" tx off tso off gso off gro off >/dev/null 2>&1 || true
inB ethtool -K "$VETH_B" tx off tso off gso off gro off >/dev/null 2>&1 || true
inA ip addr add "$A4/24" dev "$VETH_A"
inB ip addr add "$B4/24" dev "$VETH_B"
inA ip -6 addr add "$A6/64" dev "$VETH_A" nodad
inB ip -6 addr add "$B6/64" dev "$VETH_B" nodad
inA ip link set "$VETH_A" up
inB ip link set "$VETH_B" up

mkdir -p "$WORK/www"
head -c 49152 /dev/urandom >"$WORK/www/small.bin"
head -c 98304 /dev/urandom >"$WORK/www/large.bin"
ip netns exec "$NS_B" "$PY" -m http.server "$PORT" --bind :: --directory "$WORK/www" \
    >"$WORK/http.log" 2>&1 &
PIDS+=($!)

link_ready() {
    ip netns exec "$1" ip -o link show dev "$2" | grep -q 'state UP' &&
    ! ip netns exec "$1" ip -6 -o addr show dev "$2" | grep -q tentative
}
wait_for 100 link_ready "$NS_A" "$VETH_A"
wait_for 100 link_ready "$NS_B" "$VETH_B"
sleep 0.3
wait_for 100 bash -c "ip netns exec '$NS_B' ss -Hltn 'sport = :$PORT' | grep -q ."

count() { tcpdump -r "$1" -n 2>/dev/null | wc -l; }

mkdir -p "$OUT_DIR"
for attempt in 1 2 3 4 5; do
    rm -f "$WORK/whole.pcap" "$WORK/cut.pcap"
    FILTER="tcp port $PORT"
    ip netns exec "$NS_A" tcpdump -i "$VETH_A" -n -U --immediate-mode -B 8192 -s 0 -Z root \
        -w "$WORK/whole.pcap" "$FILTER" 2>"$WORK/whole.err" &
    P1=$!   # ip exec()s tcpdump: this is its PID
    ip netns exec "$NS_A" tcpdump -i "$VETH_A" -n -U --immediate-mode -B 8192 -s 96 -Z root \
        -w "$WORK/cut.pcap" "$FILTER" 2>"$WORK/cut.err" &
    P2=$!
    PIDS+=("$P1" "$P2")
    wait_for 100 grep -q "listening on" "$WORK/whole.err"
    wait_for 100 grep -q "listening on" "$WORK/cut.err"

    inA curl -sS --fail --noproxy '*' --max-time 5 -o /dev/null "http://$B4:$PORT/small.bin"
    inA curl -sS --fail --noproxy '*' --max-time 5 -o /dev/null -g "http://[$B6]:$PORT/large.bin"

    sleep 0.3
    kill -INT "$P1" "$P2"
    wait "$P1" || true
    wait "$P2" || true
    PIDS=("${PIDS[@]:0:1}")   # the http server only
    n_whole=$(count "$WORK/whole.pcap")
    n_cut=$(count "$WORK/cut.pcap")
    echo "attempt $attempt: whole $n_whole frames, cut $n_cut frames" >&2
    if [[ $n_whole -gt 0 && $n_whole -eq $n_cut ]] &&
       cmp -s <(tcpdump -r "$WORK/whole.pcap" -n -t 2>/dev/null | sed 's/: HTTP.*//') \
              <(tcpdump -r "$WORK/cut.pcap" -n -t 2>/dev/null | sed 's/: HTTP.*//'); then
        install -m 0644 "$WORK/whole.pcap" "$WHOLE"
        install -m 0644 "$WORK/cut.pcap" "$CUT"
        echo "wrote $WHOLE ($(stat -c %s "$WHOLE") bytes) and $CUT ($(stat -c %s "$CUT") bytes)" >&2
        exit 0
    fi
done
echo "error: the two captures never held the same frames" >&2
exit 1
