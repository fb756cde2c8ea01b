"""The load engine behind the journeys in scenarios/: plans, pacing, recording, Locust wiring.

Journeys are written on doorbuster.journeys (the public API), never on these modules.

Modules, by job:
    profile       traffic profiles (fixtures/profiles/*.yaml): 1x peak, mix, think times
    plans         traffic shapes as rate plans, and the demand that sizes the user pool
    pacing        the open-model schedule of intended iteration starts
    pool, dispatch  the elastic user pool, per journey, and which journey Locust adds users to
    user          PacedUser, the base class of every journey
    locust_shape  the Locust LoadTestShape that ticks a plan
    options, planning, messages, sampling, request_rows, guards, meta, wiring
                  the Locust side: options, per-run state, worker/master messages, recording
    recording     writing the run folder
    safety        where load may go
    cli           `doorbuster load`
    closed_users  plain Locust users (HttpUser with a wait_time) under a shape: the closed model
    locustfile_check  what Locust's loader finds in a locustfile of your own (a child process)
    locustfiles/  the journeys as one locustfile (journeys.py), and our hooks alone (suite.py)

Nothing here imports locust at package import: `doorbuster load` runs Locust in a child process,
and gevent must patch the standard library before anything else in that process.
"""
