#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   formatting, lints, unit + integration + property tests (including the replay of every
#   capture in ../shared/pcaps against the Linux kernel's conntrack verdicts), the benchmarks'
#   build, and short fuzzing runs of the packet parser, the ALG parsers, the console grammar, the
#   control-socket protocol and the configuration loaders.
# In CI (CI set) a missing prerequisite fails the run; elsewhere such a step says why it skips.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
need_or_skip() {
  if [ -n "${CI:-}" ]; then echo "FAIL (required in CI): $*" >&2; exit 1; fi
  echo "SKIPPED: $*"
}

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install the Rust toolchain (https://rustup.rs) first" >&2
  exit 1
fi

# What the end-to-end tests drive: namespaces and veth (iproute2), real clients and servers
# (curl, ping, python3, hping3 for a stray TCP segment and a flood of tiny fragments; vsftpd,
# lftp, tftpd-hpa and tftp-hpa for the ALG test; scapy for fragments built by hand), offload
# switches (ethtool); the session logs' receivers (rsyslog, nfdump's nfcapd, tshark: see
# tests/common/collectors.rs); a Prometheus server and promtool for the metrics endpoint
# (tests/prometheus.rs, which starts its own server on a port of its own); SIPp (sip-tester)
# and Kamailio for the SIP calls of tests/e2e_sip.rs; VLC (vlc-bin, vlc-plugin-base), ffmpeg
# and nftables for the RTSP stream of tests/e2e_rtsp.rs; socat for the interactive stream of
# tests/e2e_failover.rs and tests/e2e_restart.rs; tcpreplay (with tcpprep) for the H.323 and
# PPTP captures of tests/e2e_alg_replay.rs. Installed when missing and we are root. On a
# machine with systemd the vsftpd, tftpd-hpa and rsyslog packages also start their system
# services (kamailio too); the tests do not use them (they run their own daemons inside their namespaces, and
# their own rsyslogd with a private config, pid file and work directory on a port of their own).
step "system packages for the end-to-end tests"
missing=()
for tool in ip:iproute2 curl:curl ping:iputils-ping python3:python3 ethtool:ethtool hping3:hping3 \
  vsftpd:vsftpd lftp:lftp in.tftpd:tftpd-hpa tftp:tftp-hpa tcpdump:tcpdump \
  rsyslogd:rsyslog nfcapd:nfdump tshark:tshark prometheus:prometheus \
  sipp:sip-tester kamailio:kamailio cvlc:vlc-bin ffmpeg:ffmpeg nft:nftables socat:socat \
  tcpreplay:tcpreplay; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
done
# cvlc alone cannot read a file or serve RTSP: its demuxers, codecs and stream outputs are
# plugins (tests/e2e_rtsp.rs).
if ! dpkg-query -W -f='${Status}' vlc-plugin-base 2>/dev/null | grep -q 'install ok installed'; then
  missing+=(vlc-plugin-base)
fi
# scapy is a python module, not a command: Debian's package installs it for the system's
# python3 (tests/e2e_fragments.rs uses whichever python3 can import it).
if ! python3 -c 'import scapy.all' >/dev/null 2>&1 && ! /usr/bin/python3 -c 'import scapy.all' >/dev/null 2>&1; then
  missing+=(python3-scapy)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # wireshark-common (pulled in by tshark) asks whether non-root users may capture: no.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    need_or_skip "not root: cannot install ${missing[*]} (the end-to-end tests will skip)"
  fi
fi
if [ "$(id -u)" != 0 ]; then
  need_or_skip "not root: the network-namespace tests (AF_PACKET, inline end to end) will skip"
fi

if [ ! -d ../shared/pcaps ]; then
  need_or_skip "../shared/pcaps is not beside the repository: the kernel-conformance test cannot run"
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

step "cargo test (unit, integration, property, conformance)"
cargo test --all-features

step "cargo bench --no-run (benchmarks build)"
cargo bench --no-run

step "fuzz: wire parser, 30 s"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  if [ -n "${CI:-}" ]; then
    cargo install cargo-fuzz --locked
  fi
fi
if command -v cargo-fuzz >/dev/null 2>&1; then
  (cd fuzz && cargo fuzz run -s none wire -- -max_total_time=30 -rss_limit_mb=2048)
else
  need_or_skip "cargo-fuzz is not installed (cargo install cargo-fuzz)"
fi

step "fuzz: the ALG parsers (FTP, TFTP, SIP, RTSP, PPTP, H.323, and the example ALG IRC), 15 s each"
if command -v cargo-fuzz >/dev/null 2>&1; then
  (cd fuzz && cargo fuzz run -s none ftp -- -max_total_time=15 -rss_limit_mb=2048)
  (cd fuzz && cargo fuzz run -s none tftp -- -max_total_time=15 -rss_limit_mb=2048)
  (cd fuzz && cargo fuzz run -s none sip -- -max_total_time=15 -rss_limit_mb=2048)
  (cd fuzz && cargo fuzz run -s none irc -- -max_total_time=15 -rss_limit_mb=2048)
  # From committed seeds (fuzz/seeds/rtsp: real sessions), so it starts inside RTSP.
  mkdir -p fuzz/corpus/rtsp
  (cd fuzz && cargo fuzz run -s none rtsp corpus/rtsp seeds/rtsp -- -max_total_time=15 -rss_limit_mb=2048)
  # From committed seeds (fuzz/seeds/pptp: the captures' control exchanges), so it starts
  # inside PPTP.
  mkdir -p fuzz/corpus/pptp
  (cd fuzz && cargo fuzz run -s none pptp corpus/pptp seeds/pptp -- -max_total_time=15 -rss_limit_mb=2048)
  # H.323 (issue #17): the PER walker and the Q.931/TPKT stream, from messages of ndpi-h323.
  mkdir -p fuzz/corpus/h323_per fuzz/corpus/h323_q931
  (cd fuzz && cargo fuzz run -s none h323_per corpus/h323_per seeds/h323_per -- -max_total_time=15 -rss_limit_mb=2048)
  (cd fuzz && cargo fuzz run -s none h323_q931 corpus/h323_q931 seeds/h323_q931 -- -max_total_time=15 -rss_limit_mb=2048)
else
  need_or_skip "cargo-fuzz is not installed (cargo install cargo-fuzz)"
fi

step "fuzz: the failover protocol's decoder and the state file, 15 s"
if command -v cargo-fuzz >/dev/null 2>&1; then
  (cd fuzz && cargo fuzz run -s none sync -- -max_total_time=15 -rss_limit_mb=2048)
else
  need_or_skip "cargo-fuzz is not installed (cargo install cargo-fuzz)"
fi

step "fuzz: console grammar, 20 s"
if command -v cargo-fuzz >/dev/null 2>&1; then
  (cd fuzz && cargo fuzz run -s none grammar -- -max_total_time=20 -rss_limit_mb=2048)
else
  need_or_skip "cargo-fuzz is not installed (cargo install cargo-fuzz)"
fi

step "fuzz: control-socket protocol and configuration loaders (config.toml, startup text), 15 s each"
if command -v cargo-fuzz >/dev/null 2>&1; then
  # Each starts from its committed seeds (fuzz/seeds/) as well as its own corpus.
  mkdir -p fuzz/corpus/ctlsock fuzz/corpus/config
  (cd fuzz && cargo fuzz run -s none ctlsock corpus/ctlsock seeds/ctlsock -- -max_total_time=15 -rss_limit_mb=2048)
  (cd fuzz && cargo fuzz run -s none config corpus/config seeds/config -- -max_total_time=15 -rss_limit_mb=2048)
else
  need_or_skip "cargo-fuzz is not installed (cargo install cargo-fuzz)"
fi

printf '\nAll test steps passed.\n'
