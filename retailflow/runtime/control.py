"""The control API (docs/contracts.md section 5): status, pods, links, services, provider, audit.

It knows the supervisor only through the `Controlled` protocol below, so the supervisor
imports this module and this module imports nothing of the supervisor.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from retailflow.runtime.errors import ControlError
from retailflow.runtime.expiry import parse_expiry
from retailflow.runtime.linkproxy import LinkProxy

__all__ = ["Controlled", "create_control_app"]


class Controlled(Protocol):
    """What the control API asks of the runtime (the supervisor implements it)."""

    def status(self) -> dict[str, Any]: ...
    def kill_pod(self, service: str, replica: int, sig: int) -> int: ...
    def freeze_pod(self, service: str, replica: int, expires_in_s: float) -> dict[str, Any]: ...
    def thaw_pod(self, service: str, replica: int) -> dict[str, Any]: ...
    def link(self, name: str) -> LinkProxy: ...
    def fault_link(self, name: str, fault: Callable[[LinkProxy], None], expires_in_s: float) -> dict[str, Any]: ...
    def heal_link(self, name: str) -> dict[str, Any]: ...
    def stop_service(self, service: str, expires_in_s: float) -> dict[str, Any]: ...
    def start_service(self, service: str) -> dict[str, Any]: ...
    async def rolling_restart(self, service: str, timeout_s: float) -> dict[str, Any]: ...
    async def provider(self) -> dict[str, Any]: ...
    async def set_provider_fault(self, settings: dict[str, Any], expires_in_s: float) -> dict[str, Any]: ...
    async def clear_provider_fault(self) -> dict[str, Any]: ...
    async def heal_everything(self) -> dict[str, Any]: ...
    async def audit(self, ledger: list[Any]) -> dict[str, Any]: ...
    def request_stop(self, reason: str) -> None: ...


log = logging.getLogger("retailflow.runtime.control")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_BODY = 16 * 1024 * 1024  # an audit ledger of a long run


def _error(status: int, code: str, detail: str) -> web.Response:
    return web.json_response({"error": code, "detail": detail}, status=status)


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ControlError as exc:
        return _error(exc.status, exc.code, exc.detail)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        return _error(exc.status, code, f"{request.method} {request.path}: {exc.reason}")
    except Exception as exc:  # a bug of ours: still a JSON answer, and the traceback in the log
        log.exception("control API error", extra={"path": request.path})
        return _error(500, "internal", f"{request.method} {request.path} failed: {exc}; see the supervisor log")


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ControlError(f"the body is not valid JSON: {exc}", code="malformed_json") from None
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object", code="malformed_json")
    return body


def _signal(name: Any) -> signal.Signals:
    if isinstance(name, int) and not isinstance(name, bool):
        try:
            return signal.Signals(name)
        except ValueError:
            pass
    elif isinstance(name, str):
        key = name.upper() if name.upper().startswith("SIG") else f"SIG{name.upper()}"
        if key in signal.Signals.__members__:
            return signal.Signals[key]
    raise ControlError(
        f"signal {name!r} is unknown; use e.g. 'SIGKILL' or 'SIGTERM'", code="invalid_signal", status=422
    )


def _replica(request: web.Request) -> int:
    try:
        return int(request.match_info["replica"])
    except ValueError:
        raise ControlError(
            f"replica {request.match_info['replica']!r} must be a whole number", code="not_found", status=404
        ) from None


def create_control_app(supervisor: Controlled) -> web.Application:
    app = web.Application(middlewares=[errors_as_json], client_max_size=MAX_BODY)
    routes = web.RouteTableDef()

    @routes.get("/status")
    async def status(request: web.Request) -> web.Response:
        return web.json_response(supervisor.status())

    @routes.post("/pods/{service}/{replica}/kill")
    async def kill(request: web.Request) -> web.Response:
        body = await _body(request)
        sig = _signal(body.get("signal", "SIGKILL"))
        replica = _replica(request)
        pid = supervisor.kill_pod(request.match_info["service"], replica, sig)
        return web.json_response(
            {"service": request.match_info["service"], "replica": replica, "pid": pid, "signal": sig.name}
        )

    @routes.post("/pods/{service}/{replica}/freeze")
    async def freeze(request: web.Request) -> web.Response:
        expires_in_s = parse_expiry(await _body(request))
        return web.json_response(supervisor.freeze_pod(request.match_info["service"], _replica(request), expires_in_s))

    @routes.post("/pods/{service}/{replica}/thaw")
    async def thaw(request: web.Request) -> web.Response:
        return web.json_response(supervisor.thaw_pod(request.match_info["service"], _replica(request)))

    @routes.post("/links/{name}/cut")
    async def cut(request: web.Request) -> web.Response:
        body = await _body(request)
        mode = body.get("mode", "blackhole")
        expires_in_s = parse_expiry(body)
        name = request.match_info["name"]
        return web.json_response(supervisor.fault_link(name, lambda link: link.cut(mode), expires_in_s))

    @routes.post("/links/{name}/latency")
    async def latency(request: web.Request) -> web.Response:
        body = await _body(request)
        if "ms" not in body:
            raise ControlError("the body needs 'ms', the added latency in milliseconds", code="invalid", status=422)
        expires_in_s = parse_expiry(body)
        return web.json_response(
            supervisor.fault_link(request.match_info["name"], lambda link: link.set_latency(body["ms"]), expires_in_s)
        )

    @routes.post("/links/{name}/bandwidth")
    async def bandwidth(request: web.Request) -> web.Response:
        body = await _body(request)
        if "kbps" not in body:
            raise ControlError(
                "the body needs 'kbps', the limit in kilobits a second (0 = none)", code="invalid", status=422
            )
        expires_in_s = parse_expiry(body)
        name = request.match_info["name"]
        return web.json_response(
            supervisor.fault_link(name, lambda link: link.limit_bandwidth(body["kbps"]), expires_in_s)
        )

    @routes.post("/links/{name}/heal")
    async def heal(request: web.Request) -> web.Response:
        return web.json_response(supervisor.heal_link(request.match_info["name"]))

    @routes.post("/services/{service}/stop")
    async def stop_service(request: web.Request) -> web.Response:
        expires_in_s = parse_expiry(await _body(request))
        return web.json_response(supervisor.stop_service(request.match_info["service"], expires_in_s))

    @routes.post("/services/{service}/start")
    async def start_service(request: web.Request) -> web.Response:
        return web.json_response(supervisor.start_service(request.match_info["service"]))

    @routes.post("/services/{service}/restart")
    async def restart_service(request: web.Request) -> web.Response:
        body = await _body(request)
        timeout_s = body.get("timeout_s", 120)
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not 0 < timeout_s <= 3600:
            raise ControlError(
                f"timeout_s {timeout_s!r} must be a number of seconds, more than 0 and at most 3600",
                code="invalid",
                status=422,
            )
        return web.json_response(await supervisor.rolling_restart(request.match_info["service"], float(timeout_s)))

    @routes.get("/provider")
    async def provider(request: web.Request) -> web.Response:
        return web.json_response(await supervisor.provider())

    @routes.post("/provider/fault")
    async def provider_fault(request: web.Request) -> web.Response:
        body = await _body(request)
        settings: dict[str, Any] = {k: body[k] for k in ("latency_ms", "failure_rate") if k in body}
        if not settings:
            raise ControlError("the body needs 'latency_ms' and/or 'failure_rate'", code="invalid", status=422)
        expires_in_s = parse_expiry(body)
        return web.json_response(await supervisor.set_provider_fault(settings, expires_in_s))

    @routes.post("/provider/clear")
    async def provider_clear(request: web.Request) -> web.Response:
        return web.json_response(await supervisor.clear_provider_fault())

    @routes.post("/heal")
    async def heal_everything(request: web.Request) -> web.Response:
        return web.json_response(await supervisor.heal_everything())

    @routes.post("/audit")
    async def audit(request: web.Request) -> web.Response:
        body = await _body(request)
        ledger = body.get("ledger", [])
        if not isinstance(ledger, list):
            raise ControlError("'ledger' must be a list of confirmed orders", code="invalid", status=422)
        return web.json_response(await supervisor.audit(ledger))

    @routes.post("/shutdown")
    async def shutdown(request: web.Request) -> web.Response:
        asyncio.get_running_loop().call_soon(supervisor.request_stop, "shutdown requested through the control API")
        return web.json_response({"stopping": True}, status=202)

    app.add_routes(routes)
    return app
