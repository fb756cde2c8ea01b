"""The load engine behind the journeys in scenarios/: plans, pacing, recording, Locust wiring.

Modules, by job:
    profile       traffic profiles (fixtures/profiles/*.yaml): 1x peak, mix, think times
    plans         traffic shapes as rate plans, and the demand that sizes the user pool
    pacing        the open-model schedule of intended iteration starts
    user          PacedUser, the base class of every journey
    shop          what journeys learn about the shop and how they check its answers
    locust_shape  the Locust LoadTestShape that ticks a plan
    options, planning, messages, sampling, request_rows, guards, meta, wiring
                  the Locust side: options, per-run state, worker/master messages, recording
    recording     writing the run folder
    safety        where load may go
    cli           `doorbuster load`
    locustfiles/  the journeys as one locustfile (journeys.py), shipped inside the package

Nothing here imports locust at package import: `doorbuster load` runs Locust in a child process,
and gevent must patch the standard library before anything else in that process.
"""
