"""One exception base for the shop; HTTP errors carry their status and a stable code."""

from __future__ import annotations

__all__ = ["BadRequest", "Conflict", "NotFound", "RetailFlowError", "ServiceUnavailable", "ShopHTTPError"]


class RetailFlowError(Exception):
    """Base of every error raised by the shop's code."""


class ConfigError(RetailFlowError):
    """The environment asks for something the service cannot do; the message names the variable."""


class ShopHTTPError(RetailFlowError):
    """An error with an HTTP answer: `{"error": code, "detail": detail}` and the status."""

    status = 500
    code = "internal"

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None, **extra: object):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = extra


class BadRequest(ShopHTTPError):
    status = 400
    code = "bad_request"


class NotFound(ShopHTTPError):
    status = 404
    code = "not_found"


class Conflict(ShopHTTPError):
    status = 409
    code = "conflict"


class ServiceUnavailable(ShopHTTPError):
    status = 503
    code = "unavailable"
