#!/usr/bin/env bash
# Builds sessmgr and runs the engine with the default config.toml on the bundled capture of
# real traffic (captures/demo.pcap), in the capture's own time; prints the sessions it holds at
# the end and the drops by reason. Extra arguments replace the capture and add options, e.g.
#   scripts/run.sh ../shared/pcaps/ndpi-http_ipv6.pcap --mode hybrid
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install the Rust toolchain (https://rustup.rs) first" >&2
  exit 1
fi
cargo build --release --quiet
capture=captures/demo.pcap
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then capture=$1; shift; fi
exec target/release/sessmgr replay --config config.toml "$capture" "$@"
