#!/usr/bin/env bash
# The HTTP ceiling of this machine: wrk against an axum server that answers at once, with
# the load benchmark's settings (2 wrk threads, 64 connections). Prints req/s and latency.
#
#   bash bench/http-ceiling/run.sh [--duration 10s]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DURATION=10s
[ "${1:-}" = "--duration" ] && DURATION="$2"
command -v wrk >/dev/null || { sudo -n true 2>/dev/null && SUDO=sudo || SUDO=; $SUDO apt-get install -y wrk >/dev/null; }
cargo build --release --quiet --manifest-path "$HERE/Cargo.toml"
OUT="$(mktemp)"
"$HERE/target/release/portcullis-http-ceiling" >"$OUT" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -f "$OUT"' EXIT
for _ in $(seq 50); do grep -q listening "$OUT" && break; sleep 0.1; done
URL="$(sed -n 's/^listening on //p' "$OUT")"
wrk -t2 -c64 -d2s "$URL/" >/dev/null   # warm-up
echo "== axum answering at once, wrk -t2 -c64 -d$DURATION --latency"
wrk -t2 -c64 -d"$DURATION" --latency "$URL/" | grep -E "Requests/sec|Latency|50%|99%"
echo "== one connection"
wrk -t1 -c1 -d"$DURATION" --latency "$URL/" | grep -E "Requests/sec|50%|99%"
