"""Loopback ports held by the supervisor for as long as it runs.

A replica's ports must still be free when it restarts after a back-off; meanwhile any
outgoing connection (a load generator opens thousands) could take a free port as its
ephemeral source port. So the supervisor keeps a bound, never-listening socket on each port:
the kernel counts the port as used, yet the replica can still bind it because both sockets
set SO_REUSEADDR (and SO_REUSEPORT for a service port) and only the replica listens.
"""

from __future__ import annotations

import socket

from retailflow.runtime.errors import TopologyError

__all__ = ["PortHolds"]

HOST = "127.0.0.1"


class PortHolds:
    def __init__(self) -> None:
        self._held: dict[int, socket.socket] = {}

    def hold(self, port: int = 0, *, shared: bool) -> int:
        """Reserve `port` (0 = any free one). `shared`: every replica binds it with SO_REUSEPORT."""
        if port:
            self._refuse_if_listening(port)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            sock.close()
            raise TopologyError(f"port {port} on {HOST} is not available: {exc.strerror}") from None
        bound = int(sock.getsockname()[1])
        self._held[bound] = sock
        return bound

    @staticmethod
    def _refuse_if_listening(port: int) -> None:
        # Without SO_REUSEPORT this bind fails if anything listens there, even another shop of
        # the same user, which SO_REUSEPORT alone would silently share the port with.
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise TopologyError(
                f"port {port} on {HOST} is already in use ({exc.strerror}); choose another with --port, or 0 for any"
            ) from None
        finally:
            probe.close()

    def close(self) -> None:
        for sock in self._held.values():
            sock.close()
        self._held.clear()
