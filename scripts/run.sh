#!/usr/bin/env bash
# Builds sessmgr, starts the engine with the default config.toml, and opens the operator
# console on it (Comware CLI: try `display session table ipv4 verbose`, `?`, Tab; `quit`
# leaves the console and stops the engine). The default [runtime] plays the bundled capture
# of real traffic (captures/demo.pcap) in real time, in a loop, so there are real sessions on
# any machine. The engine's own log (session events) goes to sessmgr-run.log.
#   scripts/run.sh                     engine + console
#   scripts/run.sh --engine-only       the engine in the foreground (Ctrl-C stops it)
#   scripts/run.sh --config my.toml    another configuration (see config.toml's comments to
#                                      run on real ports with AF_PACKET or netmap)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install the Rust toolchain (https://rustup.rs) first" >&2
  exit 1
fi
engine_only=0
config=config.toml
while [ $# -gt 0 ]; do
  case "$1" in
    --engine-only) engine_only=1 ;;
    --config) config=$2; shift ;;
    *) echo "usage: scripts/run.sh [--engine-only] [--config FILE]" >&2; exit 2 ;;
  esac
  shift
done
cargo build --release --quiet
bin=target/release/sessmgr
socket=$(sed -n 's/^control_socket *= *"\(.*\)"/\1/p' "$config" | head -n 1)
socket=${socket:-/run/sessmgr/sessmgr.sock}
if [ "$(id -u)" != 0 ] && [ "${socket#/run/sessmgr/}" != "$socket" ]; then
  # Only root may create /run/sessmgr: another user's engine gets its socket in a directory
  # of that user's own (mode 0700), through a copy of the configuration kept beside it so
  # that its relative paths still hold.
  dir=${XDG_RUNTIME_DIR:-/tmp/sessmgr-$(id -u)}/sessmgr
  mkdir -p -m 700 "$dir"
  socket=$dir/sessmgr.sock
  user_config=$(dirname "$config")/.sessmgr-user.toml
  if grep -q '^control_socket *=' "$config"; then
    sed "s|^control_socket *=.*|control_socket = \"$socket\"|" "$config" >"$user_config"
  else
    { cat "$config"; printf '\n[runtime]\ncontrol_socket = "%s"\n' "$socket"; } >"$user_config"
  fi
  config=$user_config
  echo "not root: the control socket is $socket (sessmgr console --socket $socket)" >&2
fi
if [ "$engine_only" = 1 ]; then
  exec "$bin" run --config "$config"
fi
"$bin" run --config "$config" 2>sessmgr-run.log &
engine=$!
trap 'kill -TERM "$engine" 2>/dev/null; wait "$engine" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [ -S "$socket" ] && break
  if ! kill -0 "$engine" 2>/dev/null; then
    echo "the engine did not start; its log:" >&2
    cat sessmgr-run.log >&2
    exit 1
  fi
  sleep 0.1
done
sleep 1 # let the capture play a first time
"$bin" console --socket "$socket"
