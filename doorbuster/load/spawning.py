"""How fast a run may add users, and how long a busy worker may stay silent.

Locust spawns a worker's share of each change in one loop that never yields to the gevent
loop (WorkerRunner.start_worker → spawn_users), so a big jump blocks the worker's heartbeat
greenlet. The master counts a worker missing after HEARTBEAT_LIVENESS silent seconds (3 in
Locust 2.x) and stops the test when the last one goes missing: on a loaded machine, a
ramp's 1x → 5x step did exactly that. So:

- a distributed run adds at most SPAWN_PER_PROCESS_S users per second per worker (Locust's own
  "spawn rate too high" line); its dispatcher sends that many a second and sleeps in between;
- the master waits HEARTBEAT_LIVENESS_S silent seconds before it counts a worker missing. A
  dead worker is still noticed (its rows are then missing from the files, and the log says
  so); only a few busy seconds no longer end the run. Workers need no change: they wait 60 s
  (MASTER_HEARTBEAT_TIMEOUT) for a silent master already.
"""

from __future__ import annotations

from typing import Any

from locust import runners

__all__ = ["HEARTBEAT_LIVENESS_S", "SPAWN_PER_PROCESS_S", "spawn_budget", "tolerate_busy_workers"]

SPAWN_PER_PROCESS_S = 100
HEARTBEAT_LIVENESS_S = 15


def spawn_budget(runner: Any) -> int | None:
    """Users a second a distributed run may add: SPAWN_PER_PROCESS_S for each worker.

    None for a local runner: it has no heartbeat to miss, and in a stall its pool must grow
    as fast as starts wait (a frozen shop shows as hundreds of stuck requests, not as few).
    """
    if not isinstance(runner, runners.MasterRunner):
        return None
    return SPAWN_PER_PROCESS_S * max(1, runner.worker_count)


def tolerate_busy_workers() -> None:
    """On the master, before workers report: HEARTBEAT_LIVENESS_S silent seconds make a worker missing.

    Locust reads the module constant each time a heartbeat arrives, and has no option for it.
    """
    runners.HEARTBEAT_LIVENESS = max(runners.HEARTBEAT_LIVENESS, HEARTBEAT_LIVENESS_S)
