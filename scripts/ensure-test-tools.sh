#!/usr/bin/env bash
# Idempotently installs the command-line tools the compatibility suite uses as independent
# references: oathtool (TOTP codes) and zbarimg (decodes the MFA QR code PNG).
set -euo pipefail
missing=()
command -v oathtool >/dev/null 2>&1 || missing+=(oathtool)
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
if [ ${#missing[@]} -gt 0 ]; then
    echo "ensure-test-tools: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
