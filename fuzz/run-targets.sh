#!/usr/bin/env bash
# Runs fuzz targets one after the other for a fixed time each and prints one result line per
# target (for docs/testing.md). Long runs belong outside CI:
#   fuzz/run-targets.sh 3600 policy_evaluate api_requests      # an hour each
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
secs=${1:?usage: run-targets.sh SECONDS TARGET...}
shift
for t in "$@"; do cargo +nightly fuzz build "$t" >/dev/null 2>&1 || { echo "cargo fuzz build $t failed" >&2; exit 1; }; done
for t in "$@"; do
  mkdir -p "corpus/$t" logs
  log="logs/$t-$(date -u +%Y%m%dT%H%M%SZ).log"
  start=$(date -u +%FT%TZ)
  # FUZZ_ARGS: more libFuzzer flags, e.g. "-len_control=0 -max_len=8192" for structured targets.
  cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -print_final_stats=1 ${FUZZ_ARGS:-} >"$log" 2>&1
  rc=$?
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
  result="no crash"
  if [ "$rc" -ne 0 ]; then result="FAILED (exit $rc): $(grep -m1 -E 'panicked at|ERROR: ' "$log")"; fi
  echo "$t | started $start | ${secs} s | ${runs:-?} runs | ${rate:-?} exec/s | ${cov:-?} | corpus $(ls "corpus/$t" | wc -l) | $result"
done
