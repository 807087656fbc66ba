#!/usr/bin/env bash
# The speed target of GetUser, measured in one run: the server CPU each request costs
# Portcullis (an authenticated, authorized GetUser) against the do-nothing server of
# bench/http-ceiling fed the very same signed requests, and against moto; then the p99 of
# both servers at a fixed offered rate. See README.md here.
#
#   bash bench/speed/run.sh                      # about 4 minutes after the builds
#   bash bench/speed/run.sh --rounds 1 --no-moto --no-open-loop
#
# Options (or environment variables):
#   --rounds N           ceiling/Portcullis pairs, alternated; medians are reported (SPEED_ROUNDS, 3)
#   --connections N      wrk connections of the CPU measurement          (SPEED_CONNECTIONS, 16)
#   --duration D         wrk duration per measurement                     (SPEED_DURATION, 10s)
#   --rate R             offered rate of the latency measurement, req/s   (SPEED_RATE, 10000)
#   --open-connections N connections of the latency measurement           (SPEED_OPEN_CONNECTIONS, 64)
#   --no-moto / --no-open-loop   leave a part out
#   PORTCULLIS_BIN=PATH  use this binary instead of building target/release/portcullis
#
# Idempotent: installs wrk, the test virtualenv, moto (bench/load/.venv) and oha
# (bench/load/.tools, about 10 minutes the first time) only when missing; builds with cargo.
# Keeps the raw figures in bench/speed/results/ (ignored by git).
set -euo pipefail

BENCH_NAME=speed
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"
HERE="$BENCH_DIR/speed"
LOAD="$BENCH_DIR/load"

ROUNDS="${SPEED_ROUNDS:-3}"
CONNS="${SPEED_CONNECTIONS:-16}"
DURATION="${SPEED_DURATION:-10s}"
RATE="${SPEED_RATE:-10000}"
OPEN_CONNS="${SPEED_OPEN_CONNECTIONS:-64}"
DO_MOTO=1
DO_OPEN=1
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS="$2"; shift 2 ;;
        --connections) CONNS="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --rate) RATE="$2"; shift 2 ;;
        --open-connections) OPEN_CONNS="$2"; shift 2 ;;
        --no-moto) DO_MOTO=0; shift ;;
        --no-open-loop) DO_OPEN=0; shift ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

# ------------------------------------------------------------------ tools and builds
bench_ensure_wrk
bench_portcullis_bin
bench_say "cargo build --release (bench/http-ceiling)"
cargo build --release --quiet --manifest-path "$BENCH_DIR/http-ceiling/Cargo.toml"
CEILING_BIN="$BENCH_DIR/http-ceiling/target/release/portcullis-http-ceiling"
bench_test_venv
[ "$DO_MOTO" = 1 ] && bench_moto_venv
[ "$DO_OPEN" = 1 ] && bench_oha

# ------------------------------------------------------------------ servers
bench_workdir
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"

bench_start_portcullis portcullis "$WORK/data"
PORT_URL="$P_URL"; PORT_PID="$P_PID"
bench_bootstrap "$WORK/data"
AK="$P_AK"; SK="$P_SK"
"$PY" "$LOAD/loadbench.py" seed --endpoint "$PORT_URL" --access-key "$AK" --secret-key "$SK" --users 10 --policies 10
ARN="$("$PY" "$LOAD/loadbench.py" user-arn --endpoint "$PORT_URL" --access-key "$AK" --secret-key "$SK")"

"$CEILING_BIN" >"$WORK/ceiling.out" 2>"$WORK/ceiling.err" &
CEILING_PID=$!
BENCH_PIDS+=("$CEILING_PID")
for _ in $(seq 50); do grep -q listening "$WORK/ceiling.out" && break; sleep 0.1; done
CEILING_URL="$(sed -n 's/^listening on //p' "$WORK/ceiling.out")"
[ -n "$CEILING_URL" ] || { bench_say "the do-nothing server did not start"; exit 1; }
bench_say "do-nothing server: $CEILING_URL (pid $CEILING_PID)"

# measure SERVER URL PID AK SK [extra...]: GetUser, wrk -t2 -cCONNS, CPU counted until the
# work the load left behind is done (--cpu-settle).
measure() {
    local server="$1" url="$2" pid="$3" ak="$4" sk="$5"
    shift 5
    local strict=()
    [ "$server" = portcullis ] && strict=(--must-succeed)
    "$PY" "$LOAD/loadbench.py" measure --label speed --server "$server" --endpoint "$url" --pid "$pid" \
        --access-key "$ak" --secret-key "$sk" --workload GetUser --users 10 --policies 10 --user-arn "$ARN" \
        --threads 2 --connections "$CONNS" --duration "$DURATION" --warmup 2s --cpu-settle 2 \
        --lua-file "$WORK/requests-$server.lua" --results "$RESULTS" "${strict[@]}" "$@"
}

# ------------------------------------------------------------------ CPU per request
# The do-nothing server gets Portcullis's own signed requests (it answers anything at once),
# so both parse the same bytes; rounds alternate so that drift on the machine hits both.
for r in $(seq 1 "$ROUNDS"); do
    bench_say "round $r of $ROUNDS"
    measure ceiling "$CEILING_URL" "$CEILING_PID" "$AK" "$SK"
    measure portcullis "$PORT_URL" "$PORT_PID" "$AK" "$SK"
done
if [ "$DO_MOTO" = 1 ]; then
    bench_start_moto
    "$PY" "$LOAD/loadbench.py" seed --moto --endpoint "$MOTO_URL" --access-key "$MOTO_AK" --secret-key "$MOTO_SK" --users 10 --policies 10
    MOTO_ARN="$("$PY" "$LOAD/loadbench.py" user-arn --endpoint "$MOTO_URL" --access-key "$MOTO_AK" --secret-key "$MOTO_SK")"
    ARN="$MOTO_ARN" measure moto "$MOTO_URL" "$MOTO_PID" "$MOTO_AK" "$MOTO_SK" || bench_say "moto: not measured"
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
fi

# ------------------------------------------------------------------ latency at a fixed rate
if [ "$DO_OPEN" = 1 ]; then
    for r in $(seq 1 "$ROUNDS"); do
        for s in ceiling portcullis; do
            if [ "$s" = ceiling ]; then url="$CEILING_URL"; pid="$CEILING_PID"; else url="$PORT_URL"; pid="$PORT_PID"; fi
            "$PY" "$LOAD/loadbench.py" openloop --server "$s" --endpoint "$url" --pid "$pid" \
                --access-key "$AK" --secret-key "$SK" --workload GetUser --users 10 --policies 10 --user-arn "$ARN" \
                --oha "$OHA" --rates "$RATE" --moto-multiple 0 --connections "$OPEN_CONNS" --duration "$DURATION" \
                --warmup 2s --cpu-settle 2 --results "$RESULTS" --must-succeed
        done
    done
fi

# ------------------------------------------------------------------ report
mkdir -p "$HERE/results"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
cp "$RESULTS" "$HERE/results/$STAMP.jsonl"
{
    echo "Speed of GetUser, $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1); load average before $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "wrk -t2 -c$CONNS -d$DURATION (after 2 s of warm-up), $ROUNDS rounds; open loop: oha -c$OPEN_CONNS -q $RATE -z$DURATION --latency-correction"
    echo
    "$PY" "$HERE/speed.py" "$RESULTS"
} | tee "$HERE/results/$STAMP.md"
bench_say "results kept in bench/speed/results/$STAMP.{md,jsonl}"
