"""The journeys against a real local RetailFlow shop, and a wrong body recorded as a failure."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from tests.support.processes import communicate_or_kill

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# The journeys need these; the rest of the shop (notifications) plays no part in them.
SERVICES = "gateway,catalog,inventory,orders,payments,legacy"
PROFILE = {
    "name": "journeys",
    "one_x_rps": 12,
    "mix": {"browse": 1, "search": 1, "checkout": 2},
    "think_time_s": {"min": 0.05, "max": 0.2},
    "doorbuster_share": 0.5,
    "seed": 3,
    "pacing": {"headroom": 2, "expected_latency_ms": 150},
}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "doorbuster.cli", *args]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("shop")
    up = subprocess.run(
        _cli("up", "--data-dir", str(data_dir), "--port", "0", "--ttl", "10m", "--timeout", "180",
             "--services", SERVICES, "--products", "2000"),
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    try:
        if up.returncode != 0:
            reason = f"the RetailFlow shop could not be started (doorbuster up exit {up.returncode}): "
            reason += (up.stderr or up.stdout).strip()[-600:]
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        state = json.loads((data_dir / "runtime.json").read_text())
        yield str(state["storefront_url"]).rstrip("/")
    finally:
        subprocess.run(_cli("down", "--data-dir", str(data_dir)), capture_output=True, timeout=120, check=False)
        runtime = data_dir / "runtime.json"
        if runtime.exists():  # the supervisor we started must not outlive the tests
            pid = json.loads(runtime.read_text()).get("pid")
            if pid:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass


def run_locust(
    host: str, run_dir: Path, profile: dict[str, object], seconds: int, *classes: str, exit_code: int
) -> str:
    """Run the journeys; `exit_code` is Locust's: 0 when every check passed, 1 when one failed."""
    prof = run_dir.parent / f"{run_dir.name}-profile.json"
    prof.write_text(json.dumps(profile))
    cmd = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "locustfile.py"), *classes,
        "--headless", "--host", host, "--traffic-profile", str(prof),
        "--shape", "steady", "--shape-args", f"duration={seconds}",
        "--run-dir", str(run_dir), "--csv", str(run_dir / "locust"), "--csv-full-history",
        "--loglevel", "WARNING", "--only-summary",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = communicate_or_kill(proc, timeout=120)
    assert proc.returncode == exit_code, err[-3000:]
    assert (run_dir / "meta.json").exists(), err[-3000:]
    return err


@pytest.fixture(scope="module")
def journeys_run(shop: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    run_dir = tmp_path_factory.mktemp("runs") / "journeys"
    run_locust(shop, run_dir, PROFILE, 10, exit_code=0)  # a healthy shop: every check passes
    return shop, run_dir


def requests_of(run_dir: Path, journey: str) -> pd.DataFrame:
    requests = pd.read_parquet(run_dir / "requests.parquet")
    return requests[requests.journey == journey]


def assert_all_checks_pass(requests: pd.DataFrame) -> None:
    failed = requests[~requests.ok]
    assert failed.empty, failed[["name", "status", "error"]].to_string()


def test_browse_visits_home_categories_and_products_with_every_check_passing(
    journeys_run: tuple[str, Path],
) -> None:
    _, run_dir = journeys_run
    browse = requests_of(run_dir, "browse")
    assert {"GET /", "GET /api/categories", "GET /c/[slug]", "GET /p/[sku]", "GET /api/products/[sku]"} <= set(
        browse.name
    )
    assert_all_checks_pass(browse)
    assert not browse.name.str.contains(r"SKU-|DB-").any(), "requests are named by route, not by URL"


def test_search_queries_real_terms_then_sorts_and_opens_a_product_with_every_check_passing(
    journeys_run: tuple[str, Path],
) -> None:
    _, run_dir = journeys_run
    search = requests_of(run_dir, "search")
    assert {"GET /search", "GET /api/search"} <= set(search.name)
    assert_all_checks_pass(search)


def test_checkout_confirms_orders_that_exist_in_the_shop_as_the_ledger_says(
    journeys_run: tuple[str, Path],
) -> None:
    host, run_dir = journeys_run
    checkout = requests_of(run_dir, "checkout")
    assert {"POST /api/carts", "GET /cart", "GET /checkout", "POST /api/orders"} <= set(checkout.name)
    assert_all_checks_pass(checkout)
    ledger = pd.read_csv(run_dir / "ledger.csv")
    assert len(ledger) >= 3
    assert not ledger.order_id.duplicated().any() and not ledger.idempotency_key.duplicated().any()
    placed = checkout[(checkout.name == "POST /api/orders") & (checkout.status == 201)]
    assert set(placed.order_id) == set(ledger.order_id), "each confirmed order's request carries its id"
    for row in ledger.itertuples():
        with urllib.request.urlopen(f"{host}/api/orders/{row.order_id}", timeout=10) as resp:
            order = json.loads(resp.read())
        assert order["status"] == "confirmed"
        assert order["total_cents"] == row.total_cents
        bought = sorted((i["sku"], i["qty"]) for i in order["items"])
        assert bought == sorted((i["sku"], i["qty"]) for i in json.loads(row.items))
    # sold out is a business answer, recorded as ok; nothing else but 201 or 409/402
    assert set(checkout[checkout.name == "POST /api/orders"].status) <= {201, 402, 409}


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """The standard library's file server over `folder`, in this process: its URL."""
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietFiles, directory=str(folder))) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            thread.join(timeout=10)


def test_a_200_with_the_wrong_body_is_recorded_as_a_failed_check(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html><body>maintenance page</body></html>")  # a 200 that is no home page
    run_dir = tmp_path / "run"
    with serving(site) as url:
        run_locust(url, run_dir, dict(PROFILE, mix={"browse": 1}), 3, "BrowseShopper", exit_code=1)
    requests = pd.read_parquet(run_dir / "requests.parquet")
    assert len(requests) > 0
    assert (requests.status == 200).all() and not requests.ok.any()
    assert (requests.error == 'home page: body is not a home page (no data-page="home")').all()
    failures = pd.read_csv(run_dir / "locust_failures.csv")
    assert failures["Occurrences"].sum() == len(requests)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def web_ui(run_dir: Path, profile: dict[str, object], *extra: str) -> Iterator[str]:
    """Plain `locust -f locustfile.py` with its web UI, no --host (the form names the shop): its URL.
    Stopped in order (SIGTERM) when the block ends, killed should it not quit within a minute."""
    prof = run_dir.parent / f"{run_dir.name}-profile.json"
    prof.write_text(json.dumps(profile))
    port = free_port()
    cmd = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "locustfile.py"), "--web-host", "127.0.0.1",
        "--web-port", str(port), "--traffic-profile", str(prof), "--run-dir", str(run_dir),
        "--loglevel", "WARNING", *extra,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(url + "/", timeout=2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError(f"Locust's web UI did not come up: {proc.communicate(timeout=10)[1][-2000:]}")
    try:
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)  # Locust quits in order on SIGTERM
        communicate_or_kill(proc, timeout=60)


def post(url: str, form: dict[str, object] | None = None) -> dict[str, object]:
    data = urllib.parse.urlencode(form or {}).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST"), timeout=10) as resp:
        return json.loads(resp.read())


def requests_stats(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url + "/stats/requests", timeout=10) as resp:
        return json.loads(resp.read())


@pytest.mark.parametrize("slash", ["/", ""], ids=["trailing-slash", "no-slash"])
def test_the_web_ui_without_a_shape_swarms_the_journeys_with_the_users_from_its_form(
    shop: str, tmp_path: Path, slash: str
) -> None:
    run_dir = tmp_path / "run"
    with web_ui(run_dir, PROFILE) as url:
        answer = post(url + "/swarm", {"user_count": 4, "spawn_rate": 4, "host": shop + slash})
        assert answer["success"] is True and answer["message"] == "Swarming started", answer
        deadline = time.monotonic() + 60
        stats = requests_stats(url)
        while time.monotonic() < deadline:
            stats = requests_stats(url)
            total = next(s for s in stats["stats"] if s["name"] == "Aggregated")  # type: ignore[union-attr]
            if total["num_requests"] >= 40:
                break
            time.sleep(0.5)
        assert total["num_requests"] >= 40, "requests did not flow from the web UI's swarm"
        assert total["num_failures"] == 0, stats["errors"]
        assert stats["user_count"] == 4, "the form's user count is the run's"
        assert post(url + "/stop")["success"] is True
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["model"] == "closed" and meta["shape"] is None and meta["status"] == "completed"
    assert meta["target"] == shop
    requests = pd.read_parquet(run_dir / "requests.parquet")
    assert len(requests) >= 40
    assert requests.ok.all(), requests[~requests.ok].to_dict("records")
    assert requests.intended_ts.isna().all(), "a closed-model run has no intended starts"
    assert {"browse", "search", "checkout"} <= set(requests.journey)


def test_the_web_ui_with_a_shape_runs_the_shape(shop: str, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with web_ui(run_dir, PROFILE, "--shape", "steady", "--shape-args", "duration=4") as url:
        answer = post(url + "/swarm", {"user_count": 1, "spawn_rate": 1, "host": shop + "/"})
        assert answer["message"] == "Swarming started using shape class 'PlannedShape'", answer
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and requests_stats(url)["state"] != "stopped":
            time.sleep(0.5)
        assert requests_stats(url)["state"] == "stopped", "the shape did not end the run"
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["model"] == "open" and meta["status"] == "completed"
    requests = pd.read_parquet(run_dir / "requests.parquet")
    assert len(requests) > 0 and requests.ok.all() and requests.intended_ts.notna().all()
