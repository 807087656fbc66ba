#!/usr/bin/env bash
# Soak: mixed IAM/STS traffic (bench/load's "mixed" workload plus a share of writes) at 64
# connections for 10 minutes, sampling the server's RSS every 5 s; passes when the RSS at
# the end is within 10 % of the RSS after the first minute. See README.md here.
#
#   bash bench/soak/run.sh                              # 10 minutes (+ the build)
#   bash bench/soak/run.sh --duration 60                # a quick look
#   PORTCULLIS_BIN=/path/to/portcullis bash bench/soak/run.sh   # a binary already built
#
# Options (or environment variables):
#   --duration S         seconds of load                              (SOAK_DURATION, 600)
#   --connections N      concurrent connections                       (SOAK_CONNECTIONS, 64)
#   --threads N          wrk threads                                  (SOAK_THREADS, 2)
#   --sample-interval S  seconds between RSS samples                  (SOAK_SAMPLE_INTERVAL, 5)
#   --write-every N      one write (TagUser/UntagUser) per N requests, 0 = none (SOAK_WRITE_EVERY, 50)
#   --users N            seeded users                                 (SOAK_USERS, 10)
#   --policies N         seeded customer policies                     (SOAK_POLICIES, 10)
#   --tolerance P        percent allowed between first minute and end (SOAK_TOLERANCE, 10)
#   --scrape-metrics S   GET /metrics every S seconds during the load, as Prometheus would;
#                        0 = never                                    (SOAK_SCRAPE_METRICS, 0)
#   --audit-events L     the server's --audit-events: all, writes, off (PORTCULLIS_AUDIT_EVENTS,
#                        unset: the server's default, all)
#   PORTCULLIS_BIN=PATH  use this binary instead of building target/release/portcullis
#
# Idempotent: installs wrk (apt-get) and the test virtualenv (scripts/setup-python-env.sh)
# only when missing, builds with cargo (a no-op when up to date), runs the server on a fresh
# data directory in a temporary directory that it removes, and stops the server on exit.
# Keeps the RSS samples (CSV), the summary and the server log in bench/soak/results/
# (ignored by git). Exits 0 on PASS, 1 on FAIL or if any request was not answered 2xx.
set -euo pipefail

BENCH_NAME=soak
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"
HERE="$BENCH_DIR/soak"
REPO="$BENCH_REPO"

DURATION="${SOAK_DURATION:-600}"
CONNS="${SOAK_CONNECTIONS:-64}"
THREADS="${SOAK_THREADS:-2}"
INTERVAL="${SOAK_SAMPLE_INTERVAL:-5}"
WRITE_EVERY="${SOAK_WRITE_EVERY:-50}"
USERS="${SOAK_USERS:-10}"
POLICIES="${SOAK_POLICIES:-10}"
TOLERANCE="${SOAK_TOLERANCE:-10}"
SCRAPE="${SOAK_SCRAPE_METRICS:-0}"
AUDIT="${PORTCULLIS_AUDIT_EVENTS:-}"

while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --connections) CONNS="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --sample-interval) INTERVAL="$2"; shift 2 ;;
        --write-every) WRITE_EVERY="$2"; shift 2 ;;
        --users) USERS="$2"; shift 2 ;;
        --policies) POLICIES="$2"; shift 2 ;;
        --tolerance) TOLERANCE="$2"; shift 2 ;;
        --scrape-metrics) SCRAPE="$2"; shift 2 ;;
        --audit-events) AUDIT="$2"; shift 2 ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

say() { bench_say "$@"; }
DURATION="${DURATION%s}"  # "600s" is accepted too
[[ "$DURATION" =~ ^[0-9]+$ ]] && [ "$DURATION" -gt 0 ] || { echo "run.sh: --duration wants seconds" >&2; exit 2; }
case "$AUDIT" in ""|all|writes|off) ;; *) echo "run.sh: --audit-events is all, writes or off" >&2; exit 2 ;; esac

# ------------------------------------------------------------------ 1. tools and build
bench_ensure_wrk
bench_portcullis_bin
bench_test_venv

# ------------------------------------------------------------------ 2. server
bench_workdir
DATA="$WORK/data"
# Loopback only; SQLite (the default store) on a fresh data directory.
[ -n "$AUDIT" ] && export PORTCULLIS_AUDIT_EVENTS="$AUDIT"
bench_start_portcullis server "$DATA"
URL="$P_URL"; SERVER_PID="$P_PID"
bench_bootstrap "$DATA"
AK="$P_AK"; SK="$P_SK"
say "audit events: ${AUDIT:-default (all)}"

say "seeding: $USERS users, $POLICIES customer policies"
"$PY" "$REPO/bench/load/loadbench.py" seed --endpoint "$URL" --access-key "$AK" --secret-key "$SK" \
    --users "$USERS" --policies "$POLICIES"

# ------------------------------------------------------------------ 3. soak
mkdir -p "$HERE/results"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
say "soak: ${DURATION}s at $CONNS connections; RSS every ${INTERVAL}s into bench/soak/results/$STAMP-rss.csv"
RC=0
"$PY" "$HERE/soak.py" run --endpoint "$URL" --access-key "$AK" --secret-key "$SK" --pid "$SERVER_PID" \
    --users "$USERS" --duration "$DURATION" --connections "$CONNS" --threads "$THREADS" \
    --write-every "$WRITE_EVERY" --scrape-metrics "$SCRAPE" --sample-interval "$INTERVAL" --tolerance "$TOLERANCE" \
    --audit-label "${AUDIT:-all (the default)}" \
    --out-dir "$HERE/results" --work-dir "$WORK" --stamp "$STAMP" >"$WORK/summary.txt" || RC=$?

# ------------------------------------------------------------------ 4. report
{
    echo "Soak, $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1); load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "binary: $BIN"
    cat "$WORK/summary.txt"
    echo "data directory at the end: $(du -sh "$DATA" 2>/dev/null | cut -f1)"
    echo "server log: $(grep -c 'WARN' "$WORK/server.err" || true) warnings, $(grep -c 'ERROR' "$WORK/server.err" || true) errors"
} | tee "$HERE/results/$STAMP.txt"
cp "$WORK/server.err" "$HERE/results/$STAMP-server.log"
say "results kept in bench/soak/results/$STAMP{.txt,-rss.csv,-summary.json,-server.log}"

case "$RC" in
    0) say "PASS" ;;
    2) say "FAILED before the load: a request was not answered 200 (see above)" ;;
    *) say "FAIL: memory not flat or requests not answered 2xx (see above)" ;;
esac
exit "$RC"
