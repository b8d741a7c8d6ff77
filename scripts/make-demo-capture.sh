#!/usr/bin/env bash
# make-demo-capture.sh -- record captures/demo.pcap from REAL traffic.
#
# What this records
#   A small (a few dozen frames, a few KB) Ethernet pcap of genuine traffic
#   produced by real programs (curl, python3, ping, the Linux kernel) between
#   two throw-away network namespaces joined by one veth pair.  Nothing is
#   synthesised with a packet crafter: every frame was sent by a real stack.
#   It is used by sessmgr as a demo input and as a test capture.
#
#   Namespace A (client, 198.18.0.1/24, 2001:2::1/64) talks to
#   namespace B (server, 198.18.0.2/24, 2001:2::2/64).  Addresses are only from
#   the benchmarking ranges 198.18.0.0/15 (RFC 2544) and 2001:2::/48 (RFC 5180).
#
#   In order, the capture contains:
#     1. HTTP: `python3 -m http.server` in B on TCP 8080, fetched by curl from A
#        over IPv4 (twice) and over IPv6 (once): full 3-way handshakes, an
#        HTTP/1.0 request/response, and FIN teardown for each connection.
#     2. UDP request/response: a tiny python3 UDP echo server in B on 40053,
#        two datagrams from A (one IPv4, one IPv6), each echoed back.
#     3. DNS-like UDP: one well-formed DNS query (A record for demo.example)
#        from A to B:53; the same python server answers it with the query
#        bytes and the header flags set to a response (QR=1, NXDOMAIN), so the
#        flow is identifiable as DNS at the application layer.
#     4. ICMP echo: `ping -c 3` (IPv4) and `ping -6 -c 3` (IPv6).
#     5. ICMP port unreachable: one UDP datagram from A to closed port
#        B:40999; B's kernel answers ICMP destination/port unreachable.
#     6. TCP RST: one SYN from A to closed port B:8081; B's kernel answers RST.
#   Plus the ARP / IPv6 neighbour discovery that these naturally trigger.
#   TX checksum offload is disabled on the veth pair so every captured frame
#   carries a correct L3/L4 checksum.  The capture filter drops only packets
#   carrying an IPv6 hop-by-hop header (i.e. MLD reports, whose timing is
#   random) so the content shape is the same on every run.
#
# Regenerate with:   sudo scripts/make-demo-capture.sh
#   Needs root on Debian 12.  Installs tcpdump, iputils-ping, iproute2, curl,
#   ethtool with apt-get only if missing.  Creates namespaces smdemo-a-<pid> and
#   smdemo-b-<pid>, and removes them and every process it started on exit.
#   Timestamps, client ports, ISNs, TCP timestamps, ICMP ids and MACs differ
#   between runs.  The flows and their order are fixed; the only frame-level
#   variation is the kernel's ACK/FIN interleaving at each HTTP teardown (a
#   pure ACK may be merged or not), so the total is 60-64 frames, ~7 KB.

set -euo pipefail

if [[ ${EUID} -ne 0 ]]; then
    echo "error: must run as root (sudo $0)" >&2
    exit 1
fi

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="${REPO_ROOT}/captures"
OUT="${OUT_DIR}/demo.pcap"

# ---------------------------------------------------------------- tooling
declare -A PKG_FOR=([tcpdump]=tcpdump [ping]=iputils-ping [ip]=iproute2
                    [ss]=iproute2 [curl]=curl [ethtool]=ethtool)
missing=()
for cmd in tcpdump ping ip ss curl ethtool; do
    # tcpdump/ethtool live in /usr/sbin, which may not be on a user's PATH.
    if ! command -v "$cmd" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$cmd && ! -x /sbin/$cmd ]]; then
        missing+=("${PKG_FOR[$cmd]}")
    fi
done
if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    echo "installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi
export PATH="${PATH}:/usr/sbin:/sbin"
PY="$(command -v python3)" || { echo "error: python3 not found" >&2; exit 1; }

# ---------------------------------------------------------------- names
NS_A="smdemo-a-$$"
NS_B="smdemo-b-$$"
VETH_A="smva$$"          # interface names must stay <= 15 chars
VETH_B="smvb$$"
A4=198.18.0.1  B4=198.18.0.2
A6=2001:2::1   B6=2001:2::2
HTTP_PORT=8080 ECHO_PORT=40053 DNS_PORT=53
CLOSED_UDP=40999 CLOSED_TCP=8081

WORK="$(mktemp -d /tmp/smdemo.XXXXXX)"
PIDS=()             # processes we started, stopped by PID on exit
TCPDUMP_PID=""

cleanup() {
    local rc=$?
    set +e
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    ip netns del "$NS_A" 2>/dev/null     # also removes the veth pair
    ip netns del "$NS_B" 2>/dev/null
    rm -rf "$WORK"
    rm -f "${OUT}.tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

inA() { ip netns exec "$NS_A" "$@"; }
inB() { ip netns exec "$NS_B" "$@"; }

# wait_for <tries of 0.05 s> <command...> : poll until the command succeeds
wait_for() {
    local n=$1; shift
    while ((n-- > 0)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.05
    done
    echo "error: timed out waiting for: $*" >&2
    return 1
}

# ---------------------------------------------------------------- topology
ip netns add "$NS_A"
ip netns add "$NS_B"
for ns in "$NS_A" "$NS_B"; do
    # No router solicitations / DAD noise; neighbour discovery stays on.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.router_solicitations=0
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.router_solicitations=0
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0
    ip netns exec "$ns" ip link set lo up
done
ip link add "$VETH_A" netns "$NS_A" type veth peer name "$VETH_B" netns "$NS_B"
inA ethtool -K "$VETH_A" tx off >/dev/null 2>&1 || true
inB ethtool -K "$VETH_B" tx off >/dev/null 2>&1 || true
inA ip addr add "$A4/24" dev "$VETH_A"
inB ip addr add "$B4/24" dev "$VETH_B"
inA ip -6 addr add "$A6/64" dev "$VETH_A" nodad
inB ip -6 addr add "$B6/64" dev "$VETH_B" nodad
inA ip link set "$VETH_A" up
inB ip link set "$VETH_B" up

# ---------------------------------------------------------------- servers (in B)
mkdir -p "$WORK/www"
printf 'sessmgr demo capture: hello over HTTP\n' >"$WORK/www/index.html"
printf 'second object\n' >"$WORK/www/hello.txt"

# Background processes are started with `ip netns exec` directly (not through
# a shell function) so that $! is the PID of the real program: ip exec()s it.
# http.server binds a dual-stack socket on "::" (serves IPv4 and IPv6).
ip netns exec "$NS_B" "$PY" -m http.server "$HTTP_PORT" --bind :: --directory "$WORK/www" \
    >"$WORK/http.log" 2>&1 &
PIDS+=($!)

cat >"$WORK/udp_echo.py" <<'EOF'
# Tiny dual-stack UDP echo server.  On the DNS port it turns the query into a
# minimal response (QR=1, RA=1, RCODE=NXDOMAIN) so the flow parses as DNS.
import select, socket, sys
socks = {}
for port in map(int, sys.argv[1:]):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    socks[s] = port
while True:
    for s in select.select(list(socks), [], [])[0]:
        data, peer = s.recvfrom(65535)
        if socks[s] == 53 and len(data) >= 12:
            flags = int.from_bytes(data[2:4], "big")
            flags = 0x8000 | (flags & 0x7900) | 0x0080 | 0x0003
            data = data[:2] + flags.to_bytes(2, "big") + data[4:]
        s.sendto(data, peer)
EOF
ip netns exec "$NS_B" "$PY" -u "$WORK/udp_echo.py" "$ECHO_PORT" "$DNS_PORT" >"$WORK/udp.log" 2>&1 &
PIDS+=($!)

# Readiness is checked inside the namespaces (no packets on the veth): both
# links up and no IPv6 address still tentative, else the first neighbour
# solicitation can go unanswered and the capture shape would vary.
link_ready() {  # <ns> <dev>
    ip netns exec "$1" ip -o link show dev "$2" | grep -q 'state UP' &&
    ! ip netns exec "$1" ip -6 -o addr show dev "$2" | grep -q tentative
}
wait_for 100 link_ready "$NS_A" "$VETH_A"
wait_for 100 link_ready "$NS_B" "$VETH_B"
sleep 0.3   # let link-up MLD/ND housekeeping finish before capturing
wait_for 100 bash -c "ip netns exec '$NS_B' ss -Hltn 'sport = :$HTTP_PORT' | grep -q ."
wait_for 100 bash -c "ip netns exec '$NS_B' ss -Hlun 'sport = :$ECHO_PORT' | grep -q ."
wait_for 100 bash -c "ip netns exec '$NS_B' ss -Hlun 'sport = :$DNS_PORT' | grep -q ."

# ---------------------------------------------------------------- capture
mkdir -p "$OUT_DIR"
rm -f "${OUT}.tmp"
# -Z root: do not drop privileges (the output directory may be root-only).
# --immediate-mode: deliver each frame at once; otherwise libpcap's ring
# buffer holds frames for up to 1 s and a quick SIGINT would lose the tail.
ip netns exec "$NS_A" tcpdump -i "$VETH_A" -n -U --immediate-mode -Z root -w "${OUT}.tmp" \
    'not (ip6 and ip6[6] == 0)' 2>"$WORK/tcpdump.err" &
TCPDUMP_PID=$!
PIDS+=("$TCPDUMP_PID")
wait_for 100 grep -q "listening on" "$WORK/tcpdump.err"

# ---------------------------------------------------------------- traffic (A -> B)
CURL=(curl -sS --fail --noproxy '*' --max-time 3 -o /dev/null)

# 1. HTTP over IPv4 (x2) and IPv6.
inA "${CURL[@]}" "http://$B4:$HTTP_PORT/"
inA "${CURL[@]}" "http://$B4:$HTTP_PORT/hello.txt"
inA "${CURL[@]}" -g "http://[$B6]:$HTTP_PORT/"

# UDP client: send one datagram, wait for the reply (raises on timeout).
udp_client() {   # <host> <port> <python bytes literal>
    inA "$PY" -c '
import socket, sys
host, port, payload = sys.argv[1], int(sys.argv[2]), eval(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(payload, (host, port))
s.recvfrom(65535)
' "$@"
}

# 2. UDP request/response, IPv4 and IPv6.
udp_client "$B4" "$ECHO_PORT" "b'sessmgr demo udp ping v4\n'"
udp_client "$B6" "$ECHO_PORT" "b'sessmgr demo udp ping v6\n'"

# 3. DNS query (id 0x5d31, RD, QDCOUNT 1, demo.example IN A) to port 53.
udp_client "$B4" "$DNS_PORT" \
    "bytes.fromhex('5d31010000010000000000000464656d6f076578616d706c650000010001')"

# 4. ICMP echo, IPv4 and IPv6.
inA ping -n -q -c 3 -i 0.2 -W 1 "$B4" >/dev/null
inA ping -6 -n -q -c 3 -i 0.2 -W 1 "$B6" >/dev/null

# 5. UDP to a closed port -> ICMP port unreachable from B's kernel.
inA "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(1)
s.send(b"anyone there?\n")
try:
    s.recv(100)
except ConnectionRefusedError:
    pass        # the ICMP port unreachable arrived
' "$B4" "$CLOSED_UDP"

# 6. TCP SYN to a closed port -> RST from B's kernel (single attempt).
inA "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(1)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except ConnectionRefusedError:
    pass        # the RST arrived
' "$B4" "$CLOSED_TCP"

# ---------------------------------------------------------------- stop capture
sleep 0.2                       # let the last frames reach tcpdump
kill -INT "$TCPDUMP_PID"
wait "$TCPDUMP_PID" || true
keep=()
for pid in "${PIDS[@]}"; do [[ $pid == "$TCPDUMP_PID" ]] || keep+=("$pid"); done
PIDS=("${keep[@]}")
cat "$WORK/tcpdump.err" >&2
chmod 0644 "${OUT}.tmp"
mv -f "${OUT}.tmp" "$OUT"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)" >&2
