# Shared steps of the benchmark scripts (bench/load, bench/soak, bench/nodes, bench/speed):
# tools, builds, a work directory cleaned on exit, and starting Portcullis and moto.
# Sourced, not run:
#
#   BENCH_NAME=speed
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#
# Every function is idempotent where it installs or builds: it does nothing when the tool or
# binary is already there and current.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_REPO="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_NAME="${BENCH_NAME:-bench}"
BENCH_PIDS=()
BENCH_ON_EXIT=()

bench_say() { echo "[$BENCH_NAME] $*" >&2; }

# Installs wrk from Debian's packages when it is missing.
bench_ensure_wrk() {
    command -v wrk >/dev/null 2>&1 && return 0
    bench_say "installing wrk (Debian package)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
}

# Sets BIN: $PORTCULLIS_BIN when given, otherwise a release build (a no-op when current).
bench_portcullis_bin() {
    if [ -n "${PORTCULLIS_BIN:-}" ]; then
        BIN="$PORTCULLIS_BIN"
        [ -x "$BIN" ] || { bench_say "PORTCULLIS_BIN=$BIN is not an executable"; exit 2; }
        bench_say "using $BIN (not building)"
    else
        bench_say "cargo build --release -p portcullis"
        (cd "$BENCH_REPO" && cargo build --release -p portcullis)
        BIN="${CARGO_TARGET_DIR:-$BENCH_REPO/target}/release/portcullis"
    fi
}

# Sets PY to the test virtualenv's python (boto3, awscli), made when missing.
bench_test_venv() {
    bash "$BENCH_REPO/scripts/setup-python-env.sh" >&2
    PY="$BENCH_REPO/.venv/bin/python"
}

# Sets MOTO_VENV to bench/load/.venv with moto's server, pinned by bench/load/requirements.txt.
bench_moto_venv() {
    MOTO_VENV="$BENCH_DIR/load/.venv"
    local req="$BENCH_DIR/load/requirements.txt"
    if [ ! -x "$MOTO_VENV/bin/python" ] || ! "$MOTO_VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        bench_say "creating $MOTO_VENV for moto"
        rm -rf "$MOTO_VENV"
        python3 -m venv "$MOTO_VENV"
    fi
    if ! "$MOTO_VENV/bin/python" - "$req" >/dev/null 2>&1 <<'PY'
import re, sys
from importlib import metadata
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==(\S+)", line)
    if m and metadata.version(m.group(1)) != m.group(3):
        sys.exit(1)
import flask, flask_cors, moto.server  # the server extra
PY
    then
        bench_say "installing moto[server] into $MOTO_VENV"
        "$MOTO_VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
    fi
}

# Sets OHA to oha, the open-loop load generator: $LOADBENCH_OHA when given, otherwise the
# pinned version built once into bench/load/.tools (ignored by git; about 10 minutes).
BENCH_OHA_VERSION=1.16.0
bench_oha() {
    if [ -n "${LOADBENCH_OHA:-}" ]; then
        OHA="$LOADBENCH_OHA"
        [ -x "$OHA" ] || { bench_say "LOADBENCH_OHA=$OHA is not an executable"; exit 2; }
    else
        OHA="$BENCH_DIR/load/.tools/bin/oha"
        if [ "$("$OHA" --version 2>/dev/null || true)" != "oha $BENCH_OHA_VERSION" ]; then
            bench_say "installing oha $BENCH_OHA_VERSION into bench/load/.tools (cargo install; about 10 minutes on 2 cores)"
            cargo install --locked --force --version "$BENCH_OHA_VERSION" --root "$BENCH_DIR/load/.tools" oha
        fi
    fi
    OHA_V="$("$OHA" --version 2>/dev/null || true)"
    [ "$OHA_V" = "oha $BENCH_OHA_VERSION" ] || bench_say "warning: $OHA is '$OHA_V', the open-loop phase was written for oha $BENCH_OHA_VERSION"
}

# Sets WORK to a new temporary directory; on exit, stops every process in BENCH_PIDS, runs
# the commands in BENCH_ON_EXIT and removes WORK.
bench_workdir() {
    WORK="$(mktemp -d)"
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    local pid cmd
    for pid in "${BENCH_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${BENCH_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    for cmd in "${BENCH_ON_EXIT[@]}"; do eval "$cmd" || true; done
    [ -n "${WORK:-}" ] && rm -rf "$WORK"
    return 0
}

# bench_start_portcullis NAME DATA_DIR [serve options...]: starts `portcullis serve` on a
# loopback port with its output in $WORK/NAME.{out,err}; sets P_URL and P_PID. The
# environment variables of the caller (PORTCULLIS_AUDIT_EVENTS, ...) reach the server.
bench_start_portcullis() {
    local name="$1" dir="$2"
    shift 2
    "$BIN" serve --listen 127.0.0.1:0 --data-dir "$dir" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    P_PID=$!
    BENCH_PIDS+=("$P_PID")
    P_URL=""
    for _ in $(seq 1 300); do
        P_URL="$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*/\1/p' "$WORK/$name.out" | head -n1)"
        [ -n "$P_URL" ] && break
        kill -0 "$P_PID" 2>/dev/null || { cat "$WORK/$name.err" >&2; bench_say "portcullis ($name) exited"; exit 1; }
        sleep 0.1
    done
    [ -n "$P_URL" ] || { cat "$WORK/$name.err" >&2; bench_say "portcullis ($name) did not start"; exit 1; }
    bench_say "$name: $P_URL (pid $P_PID, data $dir)"
}

# bench_bootstrap DATA_DIR [options...]: an administrator's access key; sets P_AK and P_SK.
bench_bootstrap() {
    local dir="$1" creds
    shift
    creds="$("$BIN" bootstrap-admin --user-name bench --data-dir "$dir" "$@")"
    P_AK="$(sed -n 's/^aws_access_key_id *= *//p' <<<"$creds")"
    P_SK="$(sed -n 's/^aws_secret_access_key *= *//p' <<<"$creds")"
    [ -n "$P_AK" ] && [ -n "$P_SK" ] || { bench_say "bootstrap-admin printed no credentials"; exit 1; }
}

bench_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts moto's server (after bench_moto_venv) with the AWS-managed policies loaded; sets
# MOTO_URL, MOTO_PID, and MOTO_AK/MOTO_SK (moto checks no signature: any key will do).
bench_start_moto() {
    local port
    port="$(bench_free_port)"
    MOTO_URL="http://127.0.0.1:$port"
    MOTO_AK="AKIAIOSFODNN7EXAMPLE"
    MOTO_SK="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    MOTO_IAM_LOAD_MANAGED_POLICIES=true "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$WORK/moto.out" 2>"$WORK/moto.err" &
    MOTO_PID=$!
    BENCH_PIDS+=("$MOTO_PID")
    for _ in $(seq 1 300); do
        if python3 -c "import urllib.request; urllib.request.urlopen('$MOTO_URL/moto-api/', timeout=1)" >/dev/null 2>&1; then
            bench_say "moto: $MOTO_URL (pid $MOTO_PID)"
            return 0
        fi
        kill -0 "$MOTO_PID" 2>/dev/null || { cat "$WORK/moto.err" >&2; bench_say "moto exited"; exit 1; }
        sleep 0.2
    done
    bench_say "moto did not start"
    exit 1
}
