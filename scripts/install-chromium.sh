#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the report rendering test, if missing.
# CI calls this before the tests; locally it is a no-op once chromium is there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: chromium missing and cannot apt-get install it (not root or not Debian);" \
        "the report rendering test will skip" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium
