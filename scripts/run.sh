#!/usr/bin/env bash
# Builds sessmgr and runs the engine with the default config.toml until Ctrl-C: it plays the
# bundled capture of real traffic (captures/demo.pcap) in real time, in a loop, through the
# per-core actors, logs every session event, and answers on its control socket:
#   target/release/sessmgr dump            # the session table, as JSON
#   target/release/sessmgr dump stats      # counters, rates, drops by reason
# To run on real ports instead, set [runtime] backend/interfaces/io_mode in config.toml
# (see the comments there), or pass another file: scripts/run.sh --config my.toml
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install the Rust toolchain (https://rustup.rs) first" >&2
  exit 1
fi
cargo build --release --quiet
if [ $# -eq 0 ]; then set -- --config config.toml; fi
exec target/release/sessmgr run "$@"
