#!/usr/bin/env bash
# Create (idempotently) the Python virtualenv used by the compatibility suite
# in tests/compat: boto3, botocore, aws-cli v1, pytest and requests, pinned in
# tests/compat/requirements.txt.
#
#   scripts/setup-python-env.sh            # creates/updates <repo>/.venv
#   PORTCULLIS_VENV=/some/dir scripts/setup-python-env.sh
#   PYTHON=python3.12 scripts/setup-python-env.sh
#
# Re-running it is cheap: when the venv exists and every pinned package is
# installed at exactly its pinned version, nothing is installed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PORTCULLIS_VENV:-$REPO/.venv}"
REQ="$REPO/tests/compat/requirements.txt"
PYTHON="${PYTHON:-python3}"

if [ ! -f "$REQ" ]; then
    echo "setup-python-env: missing $REQ" >&2
    exit 1
fi

# (Re)create the venv when it is missing or its interpreter no longer runs
# (e.g. the base Python it was made from has gone away).
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        echo "setup-python-env: '$PYTHON' not found; install Python 3.9+ (Debian: apt-get install python3 python3-venv)" >&2
        exit 1
    fi
    echo "setup-python-env: creating virtualenv at $VENV"
    rm -rf "$VENV"
    if ! "$PYTHON" -m venv "$VENV"; then
        echo "setup-python-env: '$PYTHON -m venv' failed (Debian: apt-get install python3-venv)" >&2
        exit 1
    fi
fi

# Exit status 0 when every "name==version" pin in requirements.txt is
# installed at exactly that version in the venv.
pins_satisfied() {
    "$VENV/bin/python" - "$REQ" <<'PY'
import re, sys
from importlib import metadata

ok = True
for raw in open(sys.argv[1], encoding="utf-8"):
    line = raw.split("#", 1)[0].strip()
    if not line:
        continue
    m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)", line)
    if not m:
        continue  # unpinned line: "installed at all" is checked by pip below
    name, want = m.groups()
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        have = None
    if have != want:
        print(f"setup-python-env: {name}: have {have}, want {want}", file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
PY
}

if pins_satisfied 2>/dev/null && "$VENV/bin/python" -c 'import boto3, botocore, awscli, pytest, requests' >/dev/null 2>&1; then
    echo "setup-python-env: packages already up to date"
else
    echo "setup-python-env: installing pinned packages from $REQ"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQ"
    if ! pins_satisfied; then
        echo "setup-python-env: pinned versions still not satisfied after install" >&2
        exit 1
    fi
fi

echo "setup-python-env: virtualenv ready at $VENV"
echo "  python: $VENV/bin/python"
echo "  aws:    $VENV/bin/aws"
echo "  run:    $VENV/bin/python -m pytest $REPO/tests/compat"
