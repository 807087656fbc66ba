#!/usr/bin/env bash
# Measure how closely Portcullis agrees with real AWS, using the responses that
# LocalStack recorded against real AWS in its IAM and STS tests
# (tests/aws/services/{iam,sts}/test_*.snapshot.json).
#
# Nothing of LocalStack is kept in this repository: at run time the script
# fetches LocalStack at a pinned commit, builds a throw-away venv with the
# pinned test dependencies, starts a fresh Portcullis server, and runs
# LocalStack's own pytest suite against it with snapshot matching ON
# (no --snapshot-update). It runs only the tests LocalStack lists in its
# *.validation.json files (those run against real AWS), and in the
# TEST_TARGET=AWS_CLOUD mode, i.e. the mode the snapshots were recorded in:
# LocalStack's per-test skip_snapshot_verify exemptions do not apply, every
# recorded snapshot key must match.
#
# Usage:
#   tools/localstack-agreement.sh [--work DIR] [--keep] [-- PYTEST_ARGS...]
#
#   --work DIR   scratch directory (default: /tmp/localstack-agreement)
#   --keep       leave the Portcullis server's data dir and log in DIR
#   PYTEST_ARGS  extra pytest arguments, e.g. -- -k test_assume_role
#
# Environment:
#   LOCALSTACK_GIT_URL  where to fetch LocalStack from
#                       (default https://github.com/localstack/localstack.git;
#                       a local clone or bare mirror path works too)
#   LOCALSTACK_REF      ref that contains the pinned commit (default refs/pull/13720/head)
#   LOCALSTACK_COMMIT   pinned commit (default 708a15e6a..., see below)
#   PORTCULLIS_BIN      server binary (default target/debug/portcullis; built if missing)
#   PYTHON              interpreter for the venv (default python3; >= 3.11)
#   TEST_TIMEOUT        per-test timeout in seconds (default 300)
#
# Output (in DIR/out): results.jsonl (one line per selected test: outcome and,
# for snapshot mismatches, each mismatching key with AWS vs Portcullis values),
# report.md (summary table + per-test details), pytest.log, junit.xml.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO/tools"

LOCALSTACK_GIT_URL="${LOCALSTACK_GIT_URL:-https://github.com/localstack/localstack.git}"
LOCALSTACK_REF="${LOCALSTACK_REF:-refs/pull/13720/head}"
# "IAM/STS: fix avro compatibility for new providers (#13891)": the IAM suite
# split into test_iam_*.py files, each with its snapshot and validation file.
LOCALSTACK_COMMIT="${LOCALSTACK_COMMIT:-708a15e6aa0ecfc5dc8e91c2290d7b0abca73b41}"
PYTHON="${PYTHON:-python3}"
TEST_TIMEOUT="${TEST_TIMEOUT:-300}"
WORK=/tmp/localstack-agreement
KEEP=0
PYTEST_EXTRA=()

while [ $# -gt 0 ]; do
  case "$1" in
    --work) WORK="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --) shift; PYTEST_EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
LS="$WORK/localstack"
VENV="$WORK/venv"
OUT="$WORK/out"
SRV="$WORK/server"
log() { echo "[localstack-agreement] $*" >&2; }

# ---------------------------------------------------------------- LocalStack
fetch_localstack() {
  if [ -d "$LS/.git" ] && [ "$(git -C "$LS" rev-parse HEAD 2>/dev/null)" = "$LOCALSTACK_COMMIT" ] \
     && [ -f "$LS/.la-prepared" ]; then
    log "LocalStack $LOCALSTACK_COMMIT already checked out in $LS"
    return
  fi
  rm -rf "$LS"
  git init -q "$LS"
  log "fetching LocalStack $LOCALSTACK_COMMIT from $LOCALSTACK_GIT_URL"
  if ! git -C "$LS" fetch -q --depth 1 "$LOCALSTACK_GIT_URL" "$LOCALSTACK_COMMIT" 2>/dev/null; then
    git -C "$LS" fetch -q "$LOCALSTACK_GIT_URL" "+$LOCALSTACK_REF:refs/la/pin"
  fi
  git -C "$LS" -c advice.detachedHead=false checkout -q "$LOCALSTACK_COMMIT"
  # setuptools_scm would generate this file on install; we use the source tree directly
  printf '__version__ = version = "0.0.0+%s"\n__version_tuple__ = version_tuple = (0, 0, 0)\n' \
    "${LOCALSTACK_COMMIT:0:9}" > "$LS/localstack-core/localstack/version.py"
  # LocalStack targets Python 3.13; the few newer-syntax files are rewritten for older interpreters
  "$PYTHON" "$TOOLS/localstack_agreement.py" downport "$LS/localstack-core"
  touch "$LS/.la-prepared"
}

# ---------------------------------------------------------------- venv
make_venv() {
  local stamp="$VENV/.la-$LOCALSTACK_COMMIT"
  if [ -f "$stamp" ]; then return; fi
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  log "installing LocalStack's pinned test dependencies (subset) into $VENV"
  # constraints = LocalStack's own pins; only what the IAM/STS tests and the
  # pytest plugins they load import (no CDK, no service runtimes)
  "$VENV/bin/pip" install -q \
    -c "$LS/requirements-test.txt" -r "$LS/requirements-base-runtime.txt" \
    pytest pytest-httpserver localstack-snapshot pyotp jinja2 moto-ext pytest-timeout
  touch "$stamp"
}

# ---------------------------------------------------------------- server
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$KEEP" = 0 ]; then rm -rf "$SRV/data"; fi
}

start_server() {
  local bin="${PORTCULLIS_BIN:-$REPO/target/debug/portcullis}"
  if [ ! -x "$bin" ]; then
    log "building portcullis"
    (cd "$REPO" && cargo build -q)
  fi
  rm -rf "$SRV"; mkdir -p "$SRV"
  "$bin" serve --listen 127.0.0.1:0 --data-dir "$SRV/data" >"$SRV/stdout.log" 2>"$SRV/stderr.log" </dev/null &
  SERVER_PID=$!
  trap stop_server EXIT
  local port=""
  for _ in $(seq 1 300); do
    port="$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$SRV/stdout.log" | head -1)"
    [ -n "$port" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SRV/stderr.log" >&2; log "server exited"; exit 1; }
    sleep 0.2
  done
  [ -n "$port" ] || { log "server did not announce its port"; exit 1; }
  ENDPOINT="http://127.0.0.1:$port"
  "$bin" bootstrap-admin --user-name localstack-admin --data-dir "$SRV/data" >"$SRV/creds.ini" 2>>"$SRV/stderr.log"
  KEY_ID="$(sed -n 's/^aws_access_key_id = //p' "$SRV/creds.ini")"
  SECRET="$(sed -n 's/^aws_secret_access_key = //p' "$SRV/creds.ini")"
  [ -n "$KEY_ID" ] && [ -n "$SECRET" ] || { log "bootstrap-admin gave no key"; exit 1; }
  log "portcullis at $ENDPOINT (admin key $KEY_ID)"
}

# ---------------------------------------------------------------- run
fetch_localstack
make_venv
start_server

rm -rf "$OUT"; mkdir -p "$OUT"
"$VENV/bin/python" "$TOOLS/localstack_agreement.py" select "$LS" "$OUT/selected.txt"

cd "$LS"
set +e
env -i PATH="$VENV/bin:/usr/bin:/bin" HOME="$WORK" LANG=C.UTF-8 \
  TEST_TARGET=AWS_CLOUD \
  AWS_ENDPOINT_URL="$ENDPOINT" \
  AWS_ACCESS_KEY_ID="$KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET" \
  AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
  PYTHONPATH="$LS/localstack-core:$TOOLS" \
  LA_SELECT="$OUT/selected.txt" LA_RESULTS="$OUT/results.jsonl" \
  "$VENV/bin/python" -m pytest \
    -p localstack_agreement \
    -p no:localstack.testing.pytest.stepfunctions.fixtures \
    -p no:localstack.testing.pytest.cloudformation.fixtures \
    -p no:cacheprovider \
    --timeout "$TEST_TIMEOUT" -o log_level=WARNING -q -rN --tb=line \
    --junitxml "$OUT/junit.xml" \
    tests/aws/services/iam/test_iam.py tests/aws/services/iam/test_iam_*.py \
    tests/aws/services/sts/test_sts.py \
    "${PYTEST_EXTRA[@]}" >"$OUT/pytest.log" 2>&1
rc=$?
set -e
tail -3 "$OUT/pytest.log" >&2
log "pytest exit code $rc (non-zero is expected while some tests disagree)"
cp "$SRV/stderr.log" "$OUT/server-stderr.log" 2>/dev/null || true
"$VENV/bin/python" "$TOOLS/localstack_agreement.py" report "$OUT"
