"""Reports of run folders made by real Locust runs against a small local HTTP server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from doorbuster.cli import main

pytestmark = pytest.mark.slow

SERVER = textwrap.dedent(
    """
    import sys, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/search"):
                time.sleep(0.02)
            code = 500 if self.path.startswith("/fail") else 200
            body = b"<html><body>ok</body></html>"
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)

# Stands in for the load part's recorder: every request event becomes a requests.parquet row.
LOCUSTFILE = textwrap.dedent(
    """
    import os
    import time

    from locust import HttpUser, LoadTestShape, between, events, task

    RECORD = os.environ.get("REPORT_TEST_RECORD")
    rows = []

    @events.request.add_listener
    def record(request_type, name, response_time, response_length, response=None, exception=None,
               start_time=None, **kwargs):
        status = getattr(response, "status_code", 0) or 0
        rows.append({
            "ts": start_time or time.time() - response_time / 1000.0, "intended_ts": float("nan"),
            "journey": "shopper", "name": f"{request_type} {name}", "method": request_type,
            "latency_ms": float(response_time), "status": int(status), "bytes": int(response_length or 0),
            "ok": exception is None, "error": "" if exception is None else str(exception)[:200],
            "order_id": "", "iteration": "", "worker": f"127.0.0.1:{os.getpid()}",
        })

    @events.quitting.add_listener
    def write(environment, **kwargs):
        if RECORD:
            import pandas as pd
            pd.DataFrame(rows).to_parquet(RECORD, index=False)

    class LoadThenIdle(LoadTestShape):
        # Locust rewrites its CSVs once a second and not at exit: idling for the last 2.5 s lets the
        # final locust_stats.csv hold every request, so the counts can be compared exactly.
        def tick(self):
            t = self.get_run_time()
            return (4, 4) if t < 4 else (0, 10) if t < 6.5 else None

    class Shopper(HttpUser):
        wait_time = between(0.01, 0.05)

        @task(5)
        def home(self):
            self.client.get("/")

        @task(3)
        def search(self):
            self.client.get("/search?q=tv", name="/search")

        @task(1)
        def broken(self):
            if os.environ.get("REPORT_TEST_FAIL"):
                self.client.get("/fail")
    """
)


def _reap(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    script = tmp_path_factory.mktemp("server") / "server.py"
    script.write_text(SERVER, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()  # blocks until the server is listening
        assert port.isdigit(), f"test server did not start (exit {proc.poll()})"
        yield f"http://127.0.0.1:{port}"
    finally:
        _reap(proc)


def _locust_run(run_dir: Path, url: str, *, record: bool, fail: bool) -> Path:
    run_dir.mkdir(parents=True)
    locustfile = run_dir.parent / f"{run_dir.name}_locustfile.py"
    locustfile.write_text(LOCUSTFILE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORT_TEST_")}
    if record:
        env["REPORT_TEST_RECORD"] = str(run_dir / "requests.parquet")
    if fail:
        env["REPORT_TEST_FAIL"] = "1"
    cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--host", url,
           "--csv", str(run_dir / "locust"), "--csv-full-history", "--only-summary",
           "--exit-code-on-error", "0", "--loglevel", "WARNING"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=120)  # 5 s of load; generous for a loaded machine
    finally:
        _reap(proc)
    assert proc.returncode == 0, out.decode(errors="replace")[-2000:]
    assert (run_dir / "locust_stats.csv").exists()
    return run_dir


def _aggregated(run_dir: Path) -> pd.Series:
    stats = pd.read_csv(run_dir / "locust_stats.csv", keep_default_na=False)
    return stats[stats["Name"] == "Aggregated"].iloc[0]


def test_a_plain_locust_run_gets_a_report_with_missing_sections_not_measured(
    tmp_path: Path, server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = _locust_run(tmp_path / "plain", server_url, record=False, fail=False)
    code = main(["report", str(run_dir)])
    out = capsys.readouterr().out
    assert code == 3, out  # SLOs without data are not a pass
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["total_requests"] == int(_aggregated(run_dir)["Request Count"]) > 0
    verdicts = {s["name"]: s["verdict"] for s in summary["slos"]}
    assert verdicts["page-time-average"] == "pass"
    assert verdicts["error-rate"] == "pass"
    assert verdicts["throughput"] == verdicts["sustained-5x"] == "no data"
    assert "throughput not measured: needs planned_rate.csv and per-request data" in out
    # Availability per minute from the cumulative counts of Locust's full history.
    availability = next(s for s in summary["slos"] if s["name"] == "availability")
    assert (availability["measured"], availability["verdict"]) == (1.0, "pass")
    assert availability["source"] == "locust_stats_history.csv (Locust's cumulative counts)"
    assert availability["requests"] == summary["total_requests"]
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "per-request data (requests.parquet): figures come from Locust&#39;s bucketed CSVs" in html
    assert "not measured: no chaos/*.journal.json" in html
    assert "From Locust&#39;s own locust_stats.csv (bucketed percentiles)" in html
    assert html.count("data:image/png;base64,") == 3  # latency, throughput, errors from Locust's history


def test_whole_run_counts_from_raw_requests_equal_locusts_own_aggregated_row(tmp_path: Path, server_url: str) -> None:
    run_dir = _locust_run(tmp_path / "recorded", server_url, record=True, fail=True)
    assert main(["report", str(run_dir)]) == 1  # /fail answers 500: the error-rate SLO is breached
    summary = json.loads((run_dir / "summary.json").read_text())
    aggregated = _aggregated(run_dir)
    assert summary["requests_source"] == "requests.parquet"
    assert summary["total_requests"] == int(aggregated["Request Count"])
    error_rate = next(s for s in summary["slos"] if s["name"] == "error-rate")
    assert error_rate["verdict"] == "fail"
    assert error_rate["measured"] == pytest.approx(int(aggregated["Failure Count"]) / int(aggregated["Request Count"]))
    stats = pd.read_csv(run_dir / "locust_stats.csv", keep_default_na=False)
    per_name = dict(zip(stats["Type"] + " " + stats["Name"], stats["Request Count"], strict=True))
    requests = pd.read_parquet(run_dir / "requests.parquet")
    for name, count in requests.groupby("name").size().items():
        assert per_name[name] == count
