#!/usr/bin/env bash
# The suite's test command (README "Quickstart"); CI calls this too.
set -uo pipefail
cd "$(dirname "$0")/.."
python3 -m pytest "$@"
rc=$?
# pytest exits 5 when it collected nothing: that is a failure of the suite, not a pass.
exit $rc
