#!/usr/bin/env bash
# Start-up and reset of the ephemeral test mode beside moto's server; prints medians.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo build --release -p portcullis
bash scripts/setup-python-env.sh >/dev/null
if [ ! -x bench/load/.venv/bin/moto_server ]; then
    python3 -m venv bench/load/.venv
    bench/load/.venv/bin/pip install -q --disable-pip-version-check -r bench/load/requirements.txt
fi
.venv/bin/python bench/testmode/startup_reset.py
