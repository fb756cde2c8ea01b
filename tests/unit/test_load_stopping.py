"""Stopping a user never loses a request: a shrinking pool lets a busy user finish its iteration,
a user killed at the run's end records the request it was waiting on, as interrupted, and an idle
user being stopped starts no iteration (whose request the kill would cut off)."""

import subprocess
import sys
import textwrap

# Locust must be imported before ssl (gevent patches it): its side runs in a fresh interpreter.
LOCUST_SIDE = textwrap.dedent(
    """
    import socket
    import time

    import gevent
    from gevent.pool import Group
    from locust.env import Environment

    from doorbuster.load.request_rows import request_listener
    from doorbuster.load.state import load_state
    from doorbuster.load.user import PacedUser

    # a shop that takes the connection (in the kernel) and never answers
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)


    class Hang(PacedUser):
        journey = "hang"

        def run_journey(self):
            self.client.get("/slow", name="GET /slow")


    env = Environment(user_classes=[Hang], host=f"http://127.0.0.1:{silent.getsockname()[1]}")
    state = load_state(env)
    env.events.request.add_listener(request_listener(state))
    user = Hang(env)
    user.start(Group())
    deadline = time.monotonic() + 10
    while user.client.in_flight is None and time.monotonic() < deadline:
        gevent.sleep(0.01)
    assert user.client.in_flight is not None, "the request never went out"

    # the pool shrinks while the run goes on: Locust asks with force, the busy user finishes first
    assert user.stop(force=True) is False
    gevent.sleep(0.2)
    assert not user.greenlet.dead and not state.outbox.rows["requests"], "a shrink killed a busy user"

    # the run ends and its grace is over: Locust kills the user, the request is still recorded
    state.stopping_at = time.time()
    assert user.stop(force=True) is True
    rows = state.outbox.rows["requests"]
    assert len(rows) == 1, rows
    _, _, journey, name, method, latency_ms, status, _, ok, error, *_ = rows[0]
    assert (journey, name, method, status, ok) == ("hang", "GET /slow", "GET", 0, False)
    assert latency_ms >= 200 and "stopped (the run ended) before the shop answered" in error
    print("ok")
    """
)


def test_a_busy_user_is_not_killed_by_a_shrink_and_its_request_survives_the_runs_end() -> None:
    result = subprocess.run([sys.executable, "-c", LOCUST_SIDE], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr[-2000:]


IDLE_SIDE = textwrap.dedent(
    """
    import sys
    import time

    import gevent
    from gevent.pool import Group
    from locust.env import Environment
    from locust.user.task import LOCUST_STATE_WAITING

    from doorbuster.load.state import load_state
    from doorbuster.load.user import PacedUser

    iterations = []


    class Idle(PacedUser):
        journey = "idle"

        def wait_time(self):
            return 0.05

        def run_journey(self):
            iterations.append(time.time())


    for stopping in (False, True):  # a shrink, the run's end
        iterations.clear()
        env = Environment(user_classes=[Idle], host="http://127.0.0.1:9")
        state = load_state(env)
        state.stopping_at = time.time() if stopping else None
        user = Idle(env)
        user.start(Group())
        deadline = time.monotonic() + 10
        while not (iterations and user._state == LOCUST_STATE_WAITING) and time.monotonic() < deadline:
            gevent.sleep(0.001)
        assert user._state == LOCUST_STATE_WAITING, "the user never waited"
        # Locust kills an idle user by a callback run later; here it comes after the wait ends
        user._group.killone = lambda *args, **kwargs: None
        assert user.stop(force=stopping) is True
        # a shrink and the run's end can both ask before the kill lands: the second is no error
        assert user.stop(force=False) is False
        gevent.sleep(0.3)
        assert len(iterations) == 1, f"a user being stopped started {len(iterations) - 1} iteration(s) more"
        assert user.greenlet.dead, "the user did not end after its wait"
    print("ok")
    """
)


def test_an_idle_user_being_stopped_starts_no_iteration_before_the_kill_lands() -> None:
    result = subprocess.run([sys.executable, "-c", IDLE_SIDE], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr[-2000:]
