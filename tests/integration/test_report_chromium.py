"""The HTML report renders in a real headless browser (Debian's chromium) without errors."""

from __future__ import annotations

import html as htmlmod
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from doorbuster.cli import main
from doorbuster.reports.synthetic import Burst, FaultSpec, SyntheticRun

pytestmark = pytest.mark.slow

# Injected into a copy of the report only: after load, record what the page decoded and fetched.
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e.type)), true);
window.addEventListener('load', () => {
  const imgs = [...document.images];
  document.body.setAttribute('data-probe', JSON.stringify({
    images: imgs.length,
    decoded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    resources: performance.getEntriesByType('resource').map(r => r.name),
    errors: window.__errors,
    verdict: document.querySelector('#verdict h1').textContent,
  }));
});
</script>"""


def _chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found:
        return found
    reason = "chromium is not installed (scripts/install-chromium.sh installs Debian's package)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + "; CI must have it")
    pytest.skip(reason)


def _run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:  # reap the whole browser process group, even on timeout
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def test_the_report_renders_in_headless_chromium_with_every_chart_and_no_fetch(tmp_path: Path) -> None:
    binary = _chromium()
    run = SyntheticRun(
        stages=((1.0, 60.0, "steady"), (5.0, 60.0, "steady")), faults=[FaultSpec(70, 80)], bursts=[Burst(70, 80, 0.1)]
    )
    run_dir = run.write(tmp_path / "run")
    assert main(["report", str(run_dir)]) == 1  # 10% errors in the fault window: over its 5% budget
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    probe = run_dir / "probe.html"
    probe.write_text(report.replace("</body>", PROBE + "</body>"), encoding="utf-8")

    dumped = _run_chromium(binary, tmp_path / "profile", "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    found = re.search(r'data-probe="([^"]*)"', dumped.stdout)
    assert found, "the page never finished loading: " + dumped.stdout[-500:]
    state = json.loads(htmlmod.unescape(found.group(1)))
    assert state == {"images": 4, "decoded": 4, "resources": [], "errors": [], "verdict": "NO-GO"}

    shot = tmp_path / "report.png"
    shown = _run_chromium(binary, tmp_path / "profile2", "--window-size=1200,2400", f"--screenshot={shot}",
                          (run_dir / "report.html").as_uri())  # fmt: skip
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    console = [line for line in shown.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
