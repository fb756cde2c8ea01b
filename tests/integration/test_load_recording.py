"""Real Locust runs against a small real HTTP server: the run folder, multi-process merging,
coordinated omission. The server runs in its own process so that a test can freeze it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psutil
import pytest

from doorbuster.runfolder import (
    GENERATOR_COLUMNS,
    GENERATOR_POOL_COLUMNS,
    ITERATION_COLUMNS,
    LEDGER_COLUMNS,
    PLANNED_RATE_COLUMNS,
    REQUEST_COLUMNS,
)

pytestmark = pytest.mark.slow

SERVER = textwrap.dedent(
    """
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = b"pong" if self.path.startswith("/ping") else b"not what you expected"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()
    """
)

LOCUSTFILE = textwrap.dedent(
    """
    from locust import FastHttpUser  # noqa: F401  (gevent before anything else)

    from doorbuster.load.user import PacedUser


    class PingJourney(PacedUser):
        journey = "ping"
        requests_per_iteration = 1

        def run_journey(self):
            with self.client.get("/ping", name="GET /ping", catch_response=True) as resp:
                if resp.text != "pong":
                    resp.failure(f"expected pong, got {resp.text[:20]!r}")


    class WrongBodyJourney(PacedUser):
        journey = "wrongbody"
        requests_per_iteration = 1

        def run_journey(self):
            with self.client.get("/other", name="GET /other", catch_response=True) as resp:
                if resp.text != "pong":
                    resp.failure(f"expected pong, got {resp.text[:20]!r}")
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reap(proc: subprocess.Popen[bytes]) -> None:
    """Kill a process we started (by its PID), even if it is frozen."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
        except ProcessLookupError:
            pass
    proc.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(script), str(port)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready", "the test server did not start"
        yield f"http://127.0.0.1:{port}", proc
    finally:
        reap(proc)


@pytest.fixture
def locustfile(tmp_path: Path) -> Path:
    path = tmp_path / "ping_locustfile.py"
    path.write_text(LOCUSTFILE)
    return path


def profile(tmp_path: Path, rps: float, mix: dict[str, float]) -> Path:
    path = tmp_path / "profile.yaml"
    doc = {
        "name": "test",
        "one_x_rps": rps,
        "mix": mix,
        "think_time_s": {"min": 0, "max": 0},
        "seed": 1,
        # a loaded shared machine answers slowly now and then: size the pool for it
        "pacing": {"headroom": 2, "expected_latency_ms": 150},
    }
    path.write_text(json.dumps(doc))
    return path


def locust_args(locustfile: Path, host: str, run_dir: Path, prof: Path, shape_args: str) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--host", host,
        "--traffic-profile", str(prof), "--shape", "steady", "--shape-args", shape_args,
        "--run-dir", str(run_dir), "--csv", str(run_dir / "locust"), "--csv-full-history",
        "--loglevel", "WARNING",
    ]  # fmt: skip


def run(args: list[str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def read_run(run_dir: Path) -> dict[str, pd.DataFrame]:
    return {
        "requests": pd.read_parquet(run_dir / "requests.parquet"),
        "iterations": pd.read_csv(run_dir / "iterations.csv"),
        "planned": pd.read_csv(run_dir / "planned_rate.csv"),
        "generator": pd.read_csv(run_dir / "generator.csv"),
        "ledger": pd.read_csv(run_dir / "ledger.csv"),
    }


def test_a_local_run_records_every_request_iteration_plan_tick_and_failed_check(
    server: tuple[str, subprocess.Popen[bytes]], locustfile: Path, tmp_path: Path
) -> None:
    host, _ = server
    run_dir = tmp_path / "run"
    prof = profile(tmp_path, 60, {"ping": 2, "wrongbody": 1})
    # the shape would run for 5 minutes: --run-time bounds it
    started = time.monotonic()
    result = run([*locust_args(locustfile, host, run_dir, prof, "duration=300"), "--run-time", "4s"])
    # every wrongbody request fails its check, and Locust exits 1 when it saw a failure
    assert result.returncode == 1, result.stderr[-2000:]
    assert time.monotonic() - started < 60

    data = read_run(run_dir)
    assert tuple(data["requests"].columns) == REQUEST_COLUMNS
    assert tuple(data["iterations"].columns) == ITERATION_COLUMNS
    assert tuple(data["planned"].columns) == PLANNED_RATE_COLUMNS
    assert tuple(data["generator"].columns) == GENERATOR_COLUMNS + GENERATOR_POOL_COLUMNS
    assert tuple(data["ledger"].columns) == LEDGER_COLUMNS
    for name in ("locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv"):
        assert (run_dir / name).exists(), name

    requests = data["requests"]
    planned = 60 * 4
    assert 0.8 * planned <= len(requests) <= 1.1 * planned
    ping = requests[requests.journey == "ping"]
    wrong = requests[requests.journey == "wrongbody"]
    assert ping.ok.all() and (ping.status == 200).all() and (ping.name == "GET /ping").all()
    assert not wrong.ok.any(), "a 200 with the wrong body must be recorded as a failure"
    assert wrong.error.str.contains("expected pong, got 'not what you").all()
    assert len(ping) == pytest.approx(2 * len(wrong), rel=0.25)
    assert requests.intended_ts.notna().all() and (requests.intended_ts <= requests.ts + 1e-3).all()
    assert set(requests.iteration) <= set(data["iterations"].iteration)

    iterations = data["iterations"]
    assert not iterations.iteration.duplicated().any()
    assert (data["planned"].planned_rps == 60).all() and (data["planned"].stage == "1x").all()
    assert len(data["planned"]) >= 3
    generator = data["generator"]
    assert generator.cpu_percent.notna().all() and len(generator) >= 2
    assert (generator.users > 0).all() and (generator.pool_users >= generator.users - 1).all()
    assert not generator.cap_hit.any() and generator.idle_users.notna().all()

    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["run_id"] == "run"
    assert meta["target"] == host
    assert meta["shape"] == {"name": "steady", "args": {"multiplier": 1.0, "duration": 300.0}}
    assert meta["one_x_rps"] == 60 and meta["profile"]["mix"]["ping"] == pytest.approx(2 / 3)
    assert meta["status"] == "completed" and meta["processes"] == 1
    assert set(meta["versions"]) == {"doorbuster", "locust", "python"}
    assert meta["started_at"] < meta["ended_at"]


def assert_one_merged_run(run_dir: Path, workers: int, planned: int) -> None:
    assert sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("locust")) == [
        "generator.csv",
        "iterations.csv",
        "ledger.csv",
        "meta.json",
        "planned_rate.csv",
        "requests.parquet",
    ]
    data = read_run(run_dir)
    requests, iterations = data["requests"], data["iterations"]
    assert requests.worker.nunique() == workers, "every worker's rows reach the one set of files"
    assert 0.8 * planned <= len(requests) <= 1.1 * planned
    assert not iterations.iteration.duplicated().any()
    assert set(requests.iteration) <= set(iterations.iteration)
    counts = requests.worker.value_counts()
    assert counts.min() >= 0.3 * len(requests), "the workers share the plan"
    assert data["generator"].worker.nunique() >= workers
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["processes"] == workers and meta["rows"]["requests"] == len(requests)


def test_processes_2_writes_one_merged_complete_set_of_files(
    server: tuple[str, subprocess.Popen[bytes]], locustfile: Path, tmp_path: Path
) -> None:
    host, _ = server
    run_dir = tmp_path / "run"
    prof = profile(tmp_path, 80, {"ping": 1})
    # A port of its own: on Locust's default 5557 another run on the machine shares the workers.
    port = str(free_port())
    ports = ["--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--master-port", port]
    result = run([*locust_args(locustfile, host, run_dir, prof, "duration=4"), "--processes", "2", *ports])
    assert result.returncode == 0, result.stderr[-2000:]
    assert_one_merged_run(run_dir, workers=2, planned=80 * 4)


def test_master_and_two_workers_write_one_merged_complete_set_of_files(
    server: tuple[str, subprocess.Popen[bytes]], locustfile: Path, tmp_path: Path
) -> None:
    host, _ = server
    run_dir = tmp_path / "run"
    prof = profile(tmp_path, 80, {"ping": 1})
    port = free_port()
    master_args = [
        *locust_args(locustfile, host, run_dir, prof, "duration=4"),
        "--master", "--expect-workers", "2", "--master-bind-port", str(port),
    ]  # fmt: skip
    # workers get only the locustfile: our options reach them from the master, late
    worker_args = [sys.executable, "-m", "locust", "-f", str(locustfile), "--worker"]
    worker_args += ["--master-port", str(port), "--loglevel", "WARNING"]
    workers: list[subprocess.Popen[bytes]] = []
    try:
        master = subprocess.Popen(master_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        workers = [subprocess.Popen(worker_args, stderr=subprocess.DEVNULL) for _ in range(2)]
        try:
            _, err = master.communicate(timeout=90)
        finally:
            if master.poll() is None:
                master.kill()
                master.wait(timeout=10)
        assert master.returncode == 0, err[-2000:]
        for worker in workers:
            worker.wait(timeout=30)  # the master's quit ends them
    finally:
        for worker in workers:
            reap(worker)  # type: ignore[arg-type]
    assert_one_merged_run(run_dir, workers=2, planned=80 * 4)


def freeze(proc: subprocess.Popen[bytes], at: float, seconds: float | None) -> float:
    """SIGSTOP the server `at` seconds from now, SIGCONT it `seconds` later (never if None).

    Returns when the stop really happened: on a busy machine the sleep can overrun by a lot."""
    time.sleep(at)
    os.kill(proc.pid, signal.SIGSTOP)
    stopped_at = time.time()
    if seconds is not None:
        time.sleep(seconds)
        os.kill(proc.pid, signal.SIGCONT)
    return stopped_at


def start_run(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_requests(
    run_dir: Path, proc: subprocess.Popen[str], deadline_s: float = 30, file: str = "generator.csv", rows: int = 1
) -> None:
    """The run is generating load once the generator has sampled itself (or `file` holds `rows`)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline and proc.poll() is None:
        path = run_dir / file
        if path.exists() and len(path.read_text().splitlines()) >= rows + 1:
            return
        time.sleep(0.1)
    if proc.poll() is not None:
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"the load run ended (exit {proc.returncode}) before generating: {err[-2000:]}")
    raise AssertionError(f"the load run did not start generating within {deadline_s:.0f} s")


def finish(proc: subprocess.Popen[str], timeout: float = 90) -> str:
    try:
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return err


def run_through_a_freeze(
    server: tuple[str, subprocess.Popen[bytes]], locustfile: Path, tmp_path: Path
) -> tuple[dict[str, pd.DataFrame], float]:
    """A 9 s run at 100 pings/s with the shop frozen for 3 s early on: the run's files, and when
    the freeze really began."""
    host, server_proc = server
    run_dir = tmp_path / "run"
    prof = profile(tmp_path, 100, {"ping": 1})
    proc = start_run(locust_args(locustfile, host, run_dir, prof, "duration=9"))
    try:
        wait_for_requests(run_dir, proc)
        frozen_at = freeze(server_proc, at=0.5, seconds=3.0)
        err = finish(proc)
    finally:
        os.kill(server_proc.pid, signal.SIGCONT)
    data = read_run(run_dir)
    # The frozen server's listen backlog (5) overflows: some connections wait out TCP's retry
    # backoff for seconds after the thaw, and one still unanswered past the end's grace is a
    # failed request (interrupted), which makes Locust exit 1. No other failure is allowed.
    failed = data["requests"][~data["requests"].ok]
    assert proc.returncode == (1 if len(failed) else 0), err[-2000:]
    assert failed.error.str.contains("stopped \\(the run ended\\) before the shop answered").all()
    return data, frozen_at


def test_a_frozen_shop_shows_up_as_schedule_lag_not_as_missing_latency(
    server: tuple[str, subprocess.Popen[bytes]], locustfile: Path, tmp_path: Path
) -> None:
    data, frozen_at = run_through_a_freeze(server, locustfile, tmp_path)
    iterations, requests = data["iterations"], data["requests"]
    # the plan wanted ~300 starts while the shop was frozen; the few users could make none of them
    # (frozen for 3 s from frozen_at: anything intended before +2.4 s waited at least 0.6 s)
    during = iterations[(iterations.intended_ts > frozen_at + 0.2) & (iterations.intended_ts < frozen_at + 2.4)]
    assert len(during) >= 150
    # served late (every user stuck) or started by a user the pool grew, then stuck: either way late
    assert ((during.ended_ts - during.intended_ts) > 0.5).mean() > 0.9, "iterations during the stall ended late"
    # every user was stuck, so starts waited (late) and the pool grew to serve them
    generator = data["generator"]
    assert generator.late_starts.max() > 0
    assert generator.pool_users.max() > generator.pool_users.iloc[0]
    # latency from the intended start (what a shopper would have seen) shows seconds...
    from_intended_s = requests.ts - requests.intended_ts + requests.latency_ms / 1000
    assert from_intended_s.quantile(0.9) > 1.0
    stalled = requests[(requests.intended_ts > frozen_at) & (requests.intended_ts < frozen_at + 2.0)]
    assert len(stalled) and (stalled.ts - stalled.intended_ts + stalled.latency_ms / 1000 > 1.0).all()
    # ...while the latency of requests actually sent mostly stays small
    assert requests.latency_ms.median() < 200


def test_every_iteration_started_during_a_stall_sends_its_request(
    server: tuple[str, subprocess.Popen[bytes]], locustfile: Path, tmp_path: Path
) -> None:
    data, frozen_at = run_through_a_freeze(server, locustfile, tmp_path)
    iterations, requests = data["iterations"], data["requests"]
    planned = iterations[(iterations.intended_ts > frozen_at) & (iterations.intended_ts < frozen_at + 2.0)]
    sent = requests[(requests.intended_ts > frozen_at) & (requests.intended_ts < frozen_at + 2.0)]
    # one ping per iteration: every planned start of the stall is a request, however late; the pool
    # shrinking after the thaw ends idle users only, and the run's end records what is unanswered
    assert len(sent) == len(planned) - int(planned.missed.sum()), (len(sent), len(planned), planned.missed.sum())
    started = iterations[~iterations.missed]
    assert set(started.iteration) <= set(requests.iteration), "an iteration started and sent nothing"


def test_starts_the_generator_never_made_before_the_end_are_recorded_as_missed(
    server: tuple[str, subprocess.Popen[bytes]], locustfile: Path, tmp_path: Path
) -> None:
    host, server_proc = server
    run_dir = tmp_path / "run"
    prof = profile(tmp_path, 100, {"ping": 1})
    proc = start_run(locust_args(locustfile, host, run_dir, prof, "duration=5"))
    wait_for_requests(run_dir, proc)
    os.kill(server_proc.pid, signal.SIGSTOP)  # frozen until the run ends
    frozen_at = time.time()
    err = finish(proc)
    # the requests sent into the freeze are never answered: failed, as interrupted, not lost
    assert proc.returncode == 1, err[-2000:]
    data = read_run(run_dir)
    failed = data["requests"][~data["requests"].ok]
    assert len(failed) > 0 and (failed.ts > frozen_at - 1).all()
    assert failed.error.str.contains("stopped \\(the run ended\\) before the shop answered").all()
    started = data["iterations"][~data["iterations"].missed]
    assert set(started.iteration) <= set(data["requests"].iteration), "an iteration started and sent nothing"

    iterations = data["iterations"]
    missed = iterations[iterations.missed]
    assert len(missed) >= 100
    assert missed.started_ts.isna().all() and missed.ended_ts.isna().all()
    assert (missed.intended_ts > frozen_at - 1).all()
    assert (missed.lag_ms > 0).all()
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "completed"


def test_doorbuster_load_runs_locust_bounded_and_leaves_a_completed_run_folder(
    server: tuple[str, subprocess.Popen[bytes]], locustfile: Path, tmp_path: Path
) -> None:
    host, _ = server
    run_dir = tmp_path / "run"
    prof = profile(tmp_path, 40, {"ping": 1})
    # A storefront URL as `doorbuster up` prints it, with its trailing slash.
    cmd = [sys.executable, "-m", "doorbuster.cli", "load", "--host", host + "/", "--locustfile", str(locustfile)]
    cmd += ["--profile", str(prof), "--shape", "ramp", "--shape-args", "step_s=2", "--run-time", "4s"]
    started = time.monotonic()
    result = run([*cmd, "--run-dir", str(run_dir)])
    assert result.returncode == 0, result.stderr[-2000:]
    assert time.monotonic() - started < 60
    assert f"run completed → {run_dir}" in result.stdout
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "completed" and meta["shape"]["name"] == "ramp"
    planned = pd.read_csv(run_dir / "planned_rate.csv")
    assert list(planned.stage.unique()) == ["1x", "5x"], "--run-time cut the ramp after its second step"
    assert (run_dir / "locust_stats_history.csv").exists()
    requests = pd.read_parquet(run_dir / "requests.parquet")
    assert len(requests) > 0 and requests["ok"].all(), "no request reached the server, or one failed"


CRASHING_LOCUSTFILE = textwrap.dedent(
    """
    from locust import FastHttpUser  # noqa: F401  (gevent before anything else)

    from doorbuster.load.user import PacedUser


    class CrashingJourney(PacedUser):
        journey = "ping"
        requests_per_iteration = 1

        def run_journey(self):
            raise ValueError("invalid request URI '//': protocol-relative targets are not origin-form")
    """
)


def test_a_journey_that_dies_on_every_call_shows_as_failures_not_silence(
    server: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    host, _ = server
    crashing = tmp_path / "crashing.py"
    crashing.write_text(CRASHING_LOCUSTFILE)
    run_dir = tmp_path / "run"
    prof = profile(tmp_path, 20, {"ping": 1})
    # a long grace: this test is about recording the crash, not about aborting on it
    result = run([*locust_args(crashing, host, run_dir, prof, "duration=3"), "--fail-grace", "60s"])
    assert result.returncode == 1, result.stderr[-2000:]
    requests = read_run(run_dir)["requests"]
    assert len(requests) >= 30 and not requests.ok.any()
    assert (requests.name == "ping journey").all() and (requests.method == "JOURNEY").all()
    assert requests.error.str.contains("invalid request URI '//'").all()
    stats = pd.read_csv(run_dir / "locust_stats.csv")
    crashed = stats[stats.Name == "ping journey"]
    # Locust's own statistics count them as failed requests too (its last CSV may miss the last one)
    assert int(crashed["Failure Count"].iloc[0]) == int(crashed["Request Count"].iloc[0]) >= 30


def doorbuster_load(host: str, locustfile: Path, prof: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "doorbuster.cli", "load", "--host", host, "--locustfile", str(locustfile),
        "--profile", str(prof), "--run-dir", str(run_dir), *extra,
    ]  # fmt: skip


def alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def processes_of(run_dir: Path) -> list[psutil.Process]:
    """Census: every live process on the machine whose command line names this run folder."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if str(run_dir) in " ".join(proc.info["cmdline"] or ()) and alive(proc):
            found.append(proc)
    return found


def wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive(p) for p in procs):
            return []
        time.sleep(0.1)
    return [p for p in procs if alive(p)]


@pytest.mark.parametrize(
    ("sig", "processes"),
    [(signal.SIGTERM, 1), (signal.SIGHUP, 1), (signal.SIGINT, 1), (signal.SIGTERM, 2)],
    ids=["SIGTERM", "SIGHUP", "SIGINT", "SIGTERM-processes-2"],
)
def test_a_signal_that_ends_doorbuster_load_ends_every_generator_and_records_an_interrupted_run(
    server: tuple[str, subprocess.Popen[bytes]], locustfile: Path, tmp_path: Path, sig: signal.Signals, processes: int
) -> None:
    host, _ = server
    run_dir = tmp_path / "run"
    prof = profile(tmp_path, 40, {"ping": 1})
    cmd = doorbuster_load(host, locustfile, prof, run_dir, "--shape-args", "duration=300")
    proc = start_run([*cmd, "--processes", str(processes)])
    generators: list[psutil.Process] = []
    try:
        wait_for_requests(run_dir, proc, file="iterations.csv", rows=10)  # rows reach the run folder
        generators = psutil.Process(proc.pid).children(recursive=True)
        assert len(generators) >= processes
        os.kill(proc.pid, sig)
        err = finish(proc, timeout=60)
        assert proc.returncode == 130, err[-2000:]
        assert not wait_gone(generators, timeout=10), "a generator outlived doorbuster load"
        assert not processes_of(run_dir), "a process of this run is still alive"
    finally:
        for leftover in generators:
            if alive(leftover):
                leftover.kill()
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "interrupted"
    assert len(pd.read_parquet(run_dir / "requests.parquet")) > 0


def test_locust_quits_when_doorbuster_load_is_killed_outright(
    server: tuple[str, subprocess.Popen[bytes]], locustfile: Path, tmp_path: Path
) -> None:
    host, _ = server
    run_dir = tmp_path / "run"
    prof = profile(tmp_path, 40, {"ping": 1})
    proc = start_run(doorbuster_load(host, locustfile, prof, run_dir, "--shape-args", "duration=300"))
    generators: list[psutil.Process] = []
    try:
        wait_for_requests(run_dir, proc)
        generators = psutil.Process(proc.pid).children(recursive=True)
        proc.kill()  # SIGKILL: no handler runs; Locust notices its parent is gone
        finish(proc)
        assert not wait_gone(generators, timeout=20), "Locust outlived a SIGKILLed doorbuster load"
    finally:
        for leftover in generators:
            if alive(leftover):
                leftover.kill()
    assert json.loads((run_dir / "meta.json").read_text())["status"] == "interrupted"


def test_doorbuster_load_on_a_closed_port_aborts_at_once_with_exit_4(locustfile: Path, tmp_path: Path) -> None:
    prof = profile(tmp_path, 40, {"ping": 1})
    host = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run(doorbuster_load(host, locustfile, prof, tmp_path / "run", "--shape-args", "duration=300"))
    assert result.returncode == 4, result.stderr[-2000:]
    assert time.monotonic() - started < 20
    assert f"doorbuster: error: --host {host}: nothing answers at 127.0.0.1:" in result.stderr
    assert "Connection refused" in result.stderr and "Traceback" not in result.stderr


def test_a_target_where_every_request_fails_aborts_after_the_grace_with_exit_4(
    server: tuple[str, subprocess.Popen[bytes]], locustfile: Path, tmp_path: Path
) -> None:
    host, _ = server
    run_dir = tmp_path / "run"
    prof = profile(tmp_path, 40, {"wrongbody": 1})
    started = time.monotonic()
    proc = subprocess.run(
        doorbuster_load(host, locustfile, prof, run_dir, "--shape-args", "duration=300"),
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "DOORBUSTER_FAIL_GRACE": "2s"},
    )  # fmt: skip
    assert proc.returncode == 4, proc.stderr[-2000:]
    assert time.monotonic() - started < 40
    assert f"every request to {host} failed in the first 2 s" in proc.stderr
    assert "expected pong, got 'not what you" in proc.stderr
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "failed" and "failed in the first 2 s" in meta["reason"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--run-time", "0"], "--run-time '0': must be more than zero"),
        (["--shape-args", "multiplier=inf"], "shape steady: multiplier='inf' must be a finite number"),
        (["--shape-args", "multiplier=0"], "shape steady: multiplier='0' must be a multiplier of 1x above zero"),
    ],
    ids=["run-time-0", "multiplier-inf", "multiplier-0"],
)
def test_doorbuster_load_refuses_a_run_that_would_lie(
    locustfile: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    prof = profile(tmp_path, 40, {"ping": 1})
    result = run(doorbuster_load("http://127.0.0.1:9", locustfile, prof, tmp_path / "run", *extra))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_plain_locust_refuses_run_time_0_instead_of_running_without_a_bound(
    server: tuple[str, subprocess.Popen[bytes]], locustfile: Path, tmp_path: Path
) -> None:
    host, _ = server
    prof = profile(tmp_path, 40, {"ping": 1})
    args = locust_args(locustfile, host, tmp_path / "run", prof, "duration=300")
    result = run([*args, "--run-time", "0"], timeout=60)
    assert result.returncode == 2
    assert "--run-time 0: must be more than zero" in result.stderr
