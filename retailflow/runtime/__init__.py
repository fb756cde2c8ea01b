"""The local pod runtime: every RetailFlow service as N replica processes on loopback.

A supervisor starts the replicas ("pods"), restarts a killed one with back-off as a
ReplicaSet would, probes readiness, and routes the network paths an experiment may cut
("links") through a fault-injecting TCP proxy. Callers drive it through the control API or
`retailflow.runtime.client.RuntimeClient`; users through `doorbuster up|down|status`,
whose command line (doorbuster/shop.py) calls `retailflow.runtime.launch`.
"""
