"""Ports the supervisor holds: nobody else gets them, the replicas still can bind them."""

from __future__ import annotations

import socket

import pytest

from retailflow.runtime.errors import TopologyError
from retailflow.runtime.ports import PortHolds


def _bind(port: int, *, reuse_port: bool) -> socket.socket:
    # What retailflow.serve does for a replica's sockets.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(8)
    return sock


def test_a_held_service_port_is_shared_by_replicas_and_kept_from_others() -> None:
    holds = PortHolds()
    try:
        port = holds.hold(0, shared=True)
        replicas = [_bind(port, reuse_port=True), _bind(port, reuse_port=True)]
        with socket.socket() as stranger, pytest.raises(OSError):
            stranger.bind(("127.0.0.1", port))
        for sock in replicas:
            sock.close()
        # Both replicas gone (killed): the port is still ours for the restart.
        with socket.socket() as stranger, pytest.raises(OSError):
            stranger.bind(("127.0.0.1", port))
        _bind(port, reuse_port=True).close()
    finally:
        holds.close()


def test_a_held_pod_port_can_be_rebound_by_its_replica_after_a_restart() -> None:
    holds = PortHolds()
    try:
        port = holds.hold(0, shared=False)
        _bind(port, reuse_port=False).close()
        _bind(port, reuse_port=False).close()
    finally:
        holds.close()


def test_a_port_something_listens_on_is_refused_naming_it() -> None:
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # even a same-user shop that would share it
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        holds = PortHolds()
        with pytest.raises(TopologyError, match=f"port {port} on 127.0.0.1 is already in use"):
            holds.hold(port, shared=True)
        holds.close()
