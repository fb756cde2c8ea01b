"""One exception base for the runtime; the CLI translates it to a DoorbusterError."""

from __future__ import annotations

from retailflow.common.errors import RetailFlowError

__all__ = ["ControlError", "NotRunning", "PodRuntimeError", "TopologyError"]


class PodRuntimeError(RetailFlowError):
    """Base of every error the local runtime raises."""


class TopologyError(PodRuntimeError):
    """The requested services, replicas, ports or store URLs make no sense; the message says which."""


class NotRunning(PodRuntimeError):
    """No supervisor answers for the data folder or control URL."""


class ControlError(PodRuntimeError):
    """A control API request was refused; carries the HTTP status and the stable error code."""

    def __init__(self, detail: str, *, status: int = 400, code: str = "bad_request") -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.code = code
