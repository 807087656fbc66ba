#!/usr/bin/env bash
# Load benchmark: replays SigV4-signed IAM/STS requests against Portcullis and against
# moto's server with wrk, and prints requests/s, p50/p99 latency and the ratio; measures
# Portcullis's latency at fixed offered rates (open loop, oha); then checks that a request's
# cost does not grow with the size of the account. See README.md here.
#
#   bash bench/load/run.sh                      # the full run (about 15 minutes; +10 the first time, to build oha)
#   bash bench/load/run.sh --duration 5s --no-scale --no-diagnostics
#
# Options (or environment variables):
#   --users N            users in the account for the main run     (LOADBENCH_USERS, 10)
#   --policies N         customer policies for the main run        (LOADBENCH_POLICIES, 10)
#   --scale-users N      users for the scaling check               (LOADBENCH_SCALE_USERS, 100000)
#   --scale-policies N   customer policies for the scaling check    (LOADBENCH_SCALE_POLICIES, 10000)
#   --duration D         wrk duration per measurement              (LOADBENCH_DURATION, 10s)
#   --connections N      concurrent connections                    (LOADBENCH_CONNECTIONS, 64)
#   --open-loop-rates R  offered rates of the open-loop phase, req/s (LOADBENCH_OPEN_LOOP_RATES,
#                        5000,10000,20000; with moto, 100 x moto's req/s is added, up to 60000)
#   --open-loop-duration D   oha duration per rate                 (LOADBENCH_OPEN_LOOP_DURATION, = --duration)
#   --no-moto / --no-open-loop / --no-scale / --no-diagnostics   leave a part out
#   LOADBENCH_OHA=PATH   use this oha binary instead of bench/load/.tools/bin/oha
#
# Idempotent: installs wrk (apt-get), moto (bench/load/.venv) and oha (cargo install into
# bench/load/.tools, about 10 minutes the first time) only when missing, builds with cargo
# (a no-op when up to date), and works in a temporary directory that it removes.
# Exits 0 after printing the figures; exits 1 if Portcullis answers any request of the
# workload with anything but 200 (a benchmark of errors is worthless).
set -euo pipefail

BENCH_NAME=run.sh
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"
HERE="$BENCH_DIR/load"
REPO="$BENCH_REPO"

USERS="${LOADBENCH_USERS:-10}"
POLICIES="${LOADBENCH_POLICIES:-10}"
SCALE_USERS="${LOADBENCH_SCALE_USERS:-100000}"
SCALE_POLICIES="${LOADBENCH_SCALE_POLICIES:-10000}"
DURATION="${LOADBENCH_DURATION:-10s}"
WARMUP="${LOADBENCH_WARMUP:-2s}"
CONNS="${LOADBENCH_CONNECTIONS:-64}"
THREADS="${LOADBENCH_THREADS:-2}"
OPEN_RATES="${LOADBENCH_OPEN_LOOP_RATES:-5000,10000,20000}"
OPEN_DURATION="${LOADBENCH_OPEN_LOOP_DURATION:-}"
DO_MOTO=1
DO_OPEN=1
DO_SCALE=1
DO_DIAG=1

while [ $# -gt 0 ]; do
    case "$1" in
        --users) USERS="$2"; shift 2 ;;
        --policies) POLICIES="$2"; shift 2 ;;
        --scale-users) SCALE_USERS="$2"; shift 2 ;;
        --scale-policies) SCALE_POLICIES="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --warmup) WARMUP="$2"; shift 2 ;;
        --connections) CONNS="$2"; shift 2 ;;
        --open-loop-rates) OPEN_RATES="$2"; shift 2 ;;
        --open-loop-duration) OPEN_DURATION="$2"; shift 2 ;;
        --no-moto) DO_MOTO=0; shift ;;
        --no-open-loop) DO_OPEN=0; shift ;;
        --no-scale) DO_SCALE=0; shift ;;
        --no-diagnostics) DO_DIAG=0; shift ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

say() { bench_say "$@"; }
OPEN_DURATION="${OPEN_DURATION:-$DURATION}"
[[ "$OPEN_RATES" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "run.sh: --open-loop-rates wants rates like 5000,10000" >&2; exit 2; }

# ------------------------------------------------------------------ 1. tools and builds
bench_ensure_wrk

[ "$DO_OPEN" = 1 ] && bench_oha

bench_portcullis_bin
bench_test_venv
[ "$DO_MOTO" = 1 ] && bench_moto_venv

# ------------------------------------------------------------------ 2. servers
bench_workdir
BENCH_ON_EXIT+=('[ -n "${SHM_DIR:-}" ] && rm -rf "$SHM_DIR"')
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"

# start_portcullis NAME DATA_DIR: sets P_URL, P_PID, P_AK, P_SK
start_portcullis() {
    bench_start_portcullis "$1" "$2"
    bench_bootstrap "$2"
}

FAILED=0
# measure LABEL SERVER URL AK SK PID WORKLOAD USERS POLICIES USER_ARN [extra args...]
measure() {
    local label="$1" server="$2" url="$3" ak="$4" sk="$5" pid="$6" workload="$7" users="$8" policies="$9" arn="${10}"
    shift 10
    local strict=()
    [ "$server" = "portcullis" ] && strict=(--must-succeed)
    if ! "$PY" "$HERE/loadbench.py" measure --label "$label" --server "$server" --endpoint "$url" \
        --access-key "$ak" --secret-key "$sk" --pid "$pid" --workload "$workload" \
        --users "$users" --policies "$policies" --user-arn "$arn" \
        --threads "$THREADS" --connections "$CONNS" --duration "$DURATION" --warmup "$WARMUP" \
        --lua-file "$WORK/requests-$server-$workload.lua" --results "$RESULTS" "${strict[@]}" "$@"; then
        if [ "$server" = "portcullis" ]; then
            FAILED=1
        else
            say "$server $workload: the measurement failed (not fatal for $server)"
        fi
    fi
}

# "authorize" is POST /_portcullis/authorize (Portcullis only); its requests are built by
# authorize_requests() in loadbench.py, the hook to change if the endpoint changes.
WORKLOADS=(GetUser ListUsers ListUsersLastPage GetCallerIdentity ListPolicies GetPolicy SimulatePrincipalPolicy mixed authorize)

say "starting Portcullis"
start_portcullis portcullis "$WORK/portcullis-data"
PORT_URL="$P_URL"; PORT_PID="$P_PID"; PORT_AK="$P_AK"; PORT_SK="$P_SK"
say "seeding Portcullis: $USERS users, $POLICIES customer policies"
"$PY" "$HERE/loadbench.py" seed --endpoint "$PORT_URL" --access-key "$PORT_AK" --secret-key "$PORT_SK" \
    --users "$USERS" --policies "$POLICIES"
PORT_ARN="$("$PY" "$HERE/loadbench.py" user-arn --endpoint "$PORT_URL" --access-key "$PORT_AK" --secret-key "$PORT_SK")"

if [ "$DO_MOTO" = 1 ]; then
    bench_start_moto
    say "seeding moto: $USERS users, $POLICIES customer policies"
    "$PY" "$HERE/loadbench.py" seed --moto --endpoint "$MOTO_URL" --access-key "$MOTO_AK" --secret-key "$MOTO_SK" \
        --users "$USERS" --policies "$POLICIES"
    MOTO_ARN="$("$PY" "$HERE/loadbench.py" user-arn --endpoint "$MOTO_URL" --access-key "$MOTO_AK" --secret-key "$MOTO_SK")"
fi

# ------------------------------------------------------------------ 3. main comparison
for w in "${WORKLOADS[@]}"; do
    measure main portcullis "$PORT_URL" "$PORT_AK" "$PORT_SK" "$PORT_PID" "$w" "$USERS" "$POLICIES" "$PORT_ARN"
    if [ "$DO_MOTO" = 1 ]; then
        measure main moto "$MOTO_URL" "$MOTO_AK" "$MOTO_SK" "$MOTO_PID" "$w" "$USERS" "$POLICIES" "$MOTO_ARN"
    fi
done
if [ "$DO_MOTO" = 1 ]; then
    kill "$MOTO_PID" 2>/dev/null || true  # frees its CPU for what follows
    wait "$MOTO_PID" 2>/dev/null || true
fi

# ------------------------------------------------------------------ 3b. open loop
# Latency at fixed offered rates (oha, latency from when each request was due), where wrk's
# closed loop only gives latency at saturation (= connections / throughput). The moto rows
# just measured give each workload's 100x-moto rate.
if [ "$DO_OPEN" = 1 ]; then
    say "open loop: oha at $OPEN_RATES req/s$([ "$DO_MOTO" = 1 ] && echo ' and 100 x moto'), $OPEN_DURATION each after a $WARMUP warm-up"
    for w in GetUser GetCallerIdentity GetPolicy authorize; do
        if ! "$PY" "$HERE/loadbench.py" openloop --server portcullis --endpoint "$PORT_URL" \
            --access-key "$PORT_AK" --secret-key "$PORT_SK" --pid "$PORT_PID" --workload "$w" \
            --users "$USERS" --policies "$POLICIES" --user-arn "$PORT_ARN" --oha "$OHA" \
            --rates "$OPEN_RATES" --connections "$CONNS" --duration "$OPEN_DURATION" --warmup "$WARMUP" \
            --results "$RESULTS" --must-succeed; then
            FAILED=1
        fi
    done
fi

# ------------------------------------------------------------------ 4. diagnostics
if [ "$DO_DIAG" = 1 ]; then
    say "diagnostics"
    # Service time without queueing: one connection.
    # (argparse keeps the last --connections/--threads given.)
    for w in GetCallerIdentity GetUser; do
        measure diag portcullis "$PORT_URL" "$PORT_AK" "$PORT_SK" "$PORT_PID" "$w" "$USERS" "$POLICIES" "$PORT_ARN" \
            --connections 1 --threads 1 --note "1 connection (service time)"
    done
    # Temporary credentials skip the per-request last-used write (authenticate.rs).
    read -r S_AK S_SK S_TOKEN < <("$PY" "$HERE/loadbench.py" session-token --endpoint "$PORT_URL" --access-key "$PORT_AK" --secret-key "$PORT_SK")
    for w in GetCallerIdentity GetUser; do
        measure diag portcullis "$PORT_URL" "$S_AK" "$S_SK" "$PORT_PID" "$w" "$USERS" "$POLICIES" "$PORT_ARN" \
            --session-token "$S_TOKEN" --note "session credentials (no last-used write)"
    done
    # Last-used bookkeeping is throttled per key for one service and region: a key that
    # alternates IAM and STS writes on (nearly) every request. The same mix with the STS calls
    # signed by a second key of the same user isolates that write.
    read -r K2_AK K2_SK < <("$PY" "$HERE/loadbench.py" create-key --endpoint "$PORT_URL" --access-key "$PORT_AK" --secret-key "$PORT_SK")
    measure diag portcullis "$PORT_URL" "$PORT_AK" "$PORT_SK" "$PORT_PID" mixed "$USERS" "$POLICIES" "$PORT_ARN" \
        --sts-access-key "$K2_AK" --sts-secret-key "$K2_SK" --note "STS calls signed with a 2nd key (no per-request write)"
    # The same server with its database on tmpfs: fsync costs nothing there.
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then
        SHM_DIR="$(mktemp -d -p /dev/shm portcullis-loadbench.XXXXXX)"
        start_portcullis portcullis-tmpfs "$SHM_DIR/data"
        "$PY" "$HERE/loadbench.py" seed --endpoint "$P_URL" --access-key "$P_AK" --secret-key "$P_SK" \
            --users "$USERS" --policies "$POLICIES"
        SHM_ARN="$("$PY" "$HERE/loadbench.py" user-arn --endpoint "$P_URL" --access-key "$P_AK" --secret-key "$P_SK")"
        for w in GetCallerIdentity GetUser SimulatePrincipalPolicy mixed; do
            measure diag portcullis "$P_URL" "$P_AK" "$P_SK" "$P_PID" "$w" "$USERS" "$POLICIES" "$SHM_ARN" \
                --note "database on tmpfs (no fsync cost)"
        done
        kill "$P_PID" 2>/dev/null || true
    fi
fi

# ------------------------------------------------------------------ 5. scaling check
if [ "$DO_SCALE" = 1 ]; then
    say "scaling: growing the Portcullis account to $SCALE_USERS users and $SCALE_POLICIES customer policies"
    "$PY" "$HERE/loadbench.py" seed --endpoint "$PORT_URL" --access-key "$PORT_AK" --secret-key "$PORT_SK" \
        --users "$SCALE_USERS" --policies "$SCALE_POLICIES"
    sleep 20  # let the seeding's writes (SQLite's WAL checkpoint, the kernel's write-back) settle
    for w in GetUser ListUsers ListUsersLastPage GetCallerIdentity ListPolicies GetPolicy SimulatePrincipalPolicy authorize; do
        measure scale portcullis "$PORT_URL" "$PORT_AK" "$PORT_SK" "$PORT_PID" "$w" "$SCALE_USERS" "$SCALE_POLICIES" "$PORT_ARN"
    done
fi

# ------------------------------------------------------------------ 6. report
mkdir -p "$HERE/results"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
cp "$RESULTS" "$HERE/results/$STAMP.jsonl"
{
    echo "Load benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
    echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency (after a $WARMUP warm-up); main account: $USERS users, $POLICIES customer policies"
    if [ "$DO_OPEN" = 1 ]; then
        echo "open loop: $OHA_V -c$CONNS -z$OPEN_DURATION -q RATE --latency-correction (after a $WARMUP warm-up at the same rate)"
    fi
    echo
    "$PY" "$HERE/loadbench.py" report "$RESULTS"
    for f in "$WORK"/portcullis*.err; do
        [ -f "$f" ] || continue
        cp "$f" "$HERE/results/$STAMP-$(basename "$f" .err).log"
        echo
        echo "$(basename "$f" .err) server log: $(grep -c 'WARN' "$f" || true) warnings," \
            "$(grep -c 'could not record access key use' "$f" || true) of them 'could not record access key use'," \
            "$(grep -c 'ERROR' "$f" || true) errors"
    done
} | tee "$HERE/results/$STAMP.md"
say "results kept in bench/load/results/$STAMP.{md,jsonl}"

if [ "$FAILED" = 1 ]; then
    say "FAILED: Portcullis answered part of a workload with errors (see above); the figures are not valid"
    exit 1
fi
exit 0
