"""One exception base for the runtime; a command line turns each kind into its exit code."""

from __future__ import annotations

from retailflow.common.errors import RetailFlowError

__all__ = ["AlreadyRunning", "ControlError", "NotReady", "NotRunning", "PodRuntimeError", "TopologyError"]


class PodRuntimeError(RetailFlowError):
    """Base of every error the local runtime raises."""


class TopologyError(PodRuntimeError):
    """The requested services, replicas, ports or store URLs make no sense; the message says which."""


class NotRunning(PodRuntimeError):
    """No supervisor answers for the data folder or control URL."""


class AlreadyRunning(PodRuntimeError):
    """A shop is already running from that data folder."""


class NotReady(PodRuntimeError):
    """The shop did not become ready: the supervisor exited, an init job failed, or time ran out."""


class ControlError(PodRuntimeError):
    """A control API request was refused; carries the HTTP status and the stable error code."""

    def __init__(self, detail: str, *, status: int = 400, code: str = "bad_request") -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.code = code
