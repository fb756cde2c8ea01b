#!/usr/bin/env bash
# CI: build the wheel, install it into a fresh virtual environment, and from there start the
# shop, run a 10-second load against it, audit the shop and write the report. Everything runs
# outside the checkout, so no folder of the repository can stand in for what the wheel failed
# to install.
#
#   scripts/check-wheel.sh            # needs network access for the dependencies (pip)
#   KEEP=1 scripts/check-wheel.sh     # keep the scratch folder to look at the run
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/check-wheel.XXXXXX")
VENV="$WORK/venv"
SHOP="$WORK/shop"
RUN="$WORK/run"
LOAD_S=10

cleanup() {
    if [ -x "$VENV/bin/doorbuster" ]; then
        "$VENV/bin/doorbuster" down --data-dir "$SHOP" --timeout 30 || true
    fi
    if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "check-wheel: kept $WORK"; fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "build the wheel"
python3 -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$ROOT"
WHEEL=$(ls "$WORK"/dist/doorbuster-*.whl)

step "every module and data file of the packaged folders is in $(basename "$WHEEL")"
python3 - "$ROOT" "$WHEEL" <<'PY'
import subprocess, sys, zipfile
from pathlib import Path

root, wheel = Path(sys.argv[1]), sys.argv[2]
# Installed as doorbuster.<name>, so that no top-level module shadows a PyPI distribution.
under_doorbuster = ("reports", "scenarios", "chaos", "fixtures")
data = (".py", ".yaml", ".yml", ".json", ".j2", ".html", ".css", ".sql")
tracked = subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, text=True, check=True).stdout.split()
expected = set()
for name in tracked:
    top = name.split("/")[0]
    if not name.endswith(data):
        continue
    if top in ("doorbuster", "retailflow"):
        expected.add(name)
    elif top in under_doorbuster:
        expected.add(f"doorbuster/{name}")
in_wheel = set(zipfile.ZipFile(wheel).namelist())
missing = sorted(expected - in_wheel)
shadowing = sorted({n.split("/")[0] for n in in_wheel} & set(under_doorbuster))
if missing or shadowing:
    print("missing from the wheel (add the package to [tool.setuptools] packages or package-data):", *missing, sep="\n  ")
    print("top-level modules that shadow PyPI names:", shadowing)
    sys.exit(1)
print(f"ok: {len(expected)} files")
PY

step "install it into a fresh virtual environment"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "$WHEEL"
cd "$WORK"  # never the checkout: imports must come from the installed wheel
"$VENV/bin/python" - <<'PY'
import importlib.util
for name in ("reports", "scenarios", "chaos", "fixtures"):
    assert importlib.util.find_spec(name) is None, f"the wheel installs a top-level module {name!r}"
import doorbuster.reports, retailflow.contracts  # noqa: E401
print("ok: imports from", doorbuster.reports.__file__)
PY

step "shop up from the installed package"
URL=$("$VENV/bin/doorbuster" up --data-dir "$SHOP" --port 0 --products 2000 --ttl 15m --timeout 240)
echo "storefront: $URL"

step "a ${LOAD_S}-second load"
"$VENV/bin/doorbuster" load --host "$URL" --profile ci --shape steady --run-time "${LOAD_S}s" --run-dir "$RUN"

step "the audit of what the load confirmed"
"$VENV/bin/doorbuster" audit --data-dir "$SHOP" --ledger "$RUN/ledger.csv" --out "$RUN/audit.json"

step "the report"
set +e
"$VENV/bin/doorbuster" report "$RUN"
rc=$?
set -e
# A 10-second run on a CI machine may well be NO-GO or INCONCLUSIVE; what this step checks is
# that the installed report evaluated the run. 2 (could not evaluate) or anything else fails.
case $rc in
    0 | 1 | 3) ;;
    *) echo "check-wheel: the report exited $rc" >&2; exit 1 ;;
esac
for file in report.html summary.json junit.xml; do
    test -s "$RUN/$file" || { echo "check-wheel: no $file in $RUN" >&2; exit 1; }
done
echo "check-wheel: ok (report exit $rc)"
