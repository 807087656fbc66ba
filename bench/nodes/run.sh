#!/usr/bin/env bash
# Throughput of one, two and three Portcullis nodes on one PostgreSQL database: the load
# benchmark's GetUser (or another workload) replayed against every node of the set at once,
# 64 connections in all, split evenly; prints req/s per node and for the set.
#
#   bash bench/nodes/run.sh                                   # GetUser, 10 s per set size
#   WORKLOAD=mixed DURATION=20s bash bench/nodes/run.sh
#   PORTCULLIS_BIN=/path/to/release/portcullis bash bench/nodes/run.sh
#   PORTCULLIS_BENCH_DATABASE_URL=postgres://user@host:5432/db bash bench/nodes/run.sh
#
# It makes its own database (and drops it), uses loopback addresses only, and stops its nodes.
set -euo pipefail
BENCH_NAME=nodes
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"
HERE="$BENCH_DIR/nodes"
REPO="$BENCH_REPO"
WORKLOAD="${WORKLOAD:-GetUser}"
DURATION="${DURATION:-10s}"
CONNS="${CONNS:-64}"
PG="${PORTCULLIS_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
say() { bench_say "$@"; }

bench_ensure_wrk
bench_portcullis_bin
bench_test_venv

bench_workdir
DB="portcullis_bench_$(date +%s)_$$"
BENCH_ON_EXIT+=("psql \"\$PG\" -qc \"DROP DATABASE IF EXISTS \\\"\$DB\\\" WITH (FORCE)\" >/dev/null 2>&1")
psql "$PG" -qc "CREATE DATABASE \"$DB\"" >/dev/null
URL_DB="${PG%/*}/$DB"

URLS=()
PIDS=()
start_node() {
    local i="$1" dir="$WORK/node-$1"
    mkdir -p "$dir"
    [ "$i" -gt 1 ] && cp "$WORK/node-1/master.key" "$dir/master.key"
    bench_start_portcullis "node-$i" "$dir" --database-url "$URL_DB"
    URLS+=("$P_URL")
    PIDS+=("$P_PID")
}
for i in 1 2 3; do start_node "$i"; done
bench_bootstrap "$WORK/node-1" --database-url "$URL_DB"
AK="$P_AK"; SK="$P_SK"
"$PY" "$HERE/../load/loadbench.py" seed --endpoint "${URLS[0]}" --access-key "$AK" --secret-key "$SK" --users 10 --policies 10 >&2
export AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="$SK"
ARN="$("$REPO/.venv/bin/aws" --endpoint-url "${URLS[0]}" --region us-east-1 iam get-user --query User.Arn --output text)"

echo "| nodes | connections per node | req/s per node | req/s of the set | p99 (worst node) |"
echo "|---:|---:|---|---:|---:|"
for n in 1 2 3; do
    per=$((CONNS / n))
    rm -f "$WORK"/results-*.jsonl
    M=()
    for i in $(seq 1 "$n"); do
        "$PY" "$HERE/../load/loadbench.py" measure --label "nodes-$n" --server portcullis --endpoint "${URLS[$((i-1))]}" \
            --access-key "$AK" --secret-key "$SK" --pid "${PIDS[$((i-1))]}" --workload "$WORKLOAD" --users 10 --policies 10 \
            --user-arn "$ARN" --threads 1 --connections "$per" --duration "$DURATION" --warmup 2s \
            --lua-file "$WORK/requests-$i.lua" --results "$WORK/results-$i.jsonl" --must-succeed >&2 &
        M+=($!)
    done
    for m in "${M[@]}"; do wait "$m" || { say "a measurement failed"; exit 1; }; done
    "$PY" - "$n" "$per" "$WORK" <<'PY'
import glob, json, sys
n, per, work = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [json.loads(open(f).read().splitlines()[-1]) for f in sorted(glob.glob(f"{work}/results-*.jsonl"))]
rps = [r.get("rps", 0.0) for r in rows]
p99 = max((r.get("p99_us", 0.0) for r in rows), default=0.0) / 1000
print(f"| {n} | {per} | {' / '.join(f'{x:,.0f}' for x in rps)} | {sum(rps):,.0f} | {p99:.2f} ms |")
PY
done
