"""How fast a run may add users, and how long a busy worker may stay silent.

Locust spawns a worker's share of each change in one loop that never yields to the gevent
loop (WorkerRunner.start_worker → spawn_users), so a big jump blocks the worker's heartbeat
greenlet. The master counts a worker missing after HEARTBEAT_LIVENESS silent seconds (3 in
Locust 2.x) and stops the test when the last one goes missing: on a loaded machine, a
ramp's 1x → 5x step did exactly that. So:

- users are added at most SPAWN_PER_PROCESS_S per second per generator process (Locust's own
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


def spawn_budget(runner: Any) -> int:
    """Users a second this run may add: SPAWN_PER_PROCESS_S for each generator process."""
    processes = runner.worker_count if isinstance(runner, runners.MasterRunner) else 1
    return SPAWN_PER_PROCESS_S * max(1, processes)


def tolerate_busy_workers() -> None:
    """On the master, before workers report: HEARTBEAT_LIVENESS_S silent seconds make a worker missing.

    Locust reads the module constant each time a heartbeat arrives, and has no option for it.
    """
    runners.HEARTBEAT_LIVENESS = max(runners.HEARTBEAT_LIVENESS, HEARTBEAT_LIVENESS_S)
