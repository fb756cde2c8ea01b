"""The control API (docs/contracts.md section 5): status, kill a pod, cut or heal a link, audit."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from retailflow.runtime.errors import ControlError

if TYPE_CHECKING:
    from retailflow.runtime.supervisor import Supervisor

__all__ = ["create_control_app"]

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


def create_control_app(supervisor: Supervisor) -> web.Application:
    app = web.Application(middlewares=[errors_as_json], client_max_size=MAX_BODY)
    routes = web.RouteTableDef()

    @routes.get("/status")
    async def status(request: web.Request) -> web.Response:
        return web.json_response(supervisor.status())

    @routes.post("/pods/{service}/{replica}/kill")
    async def kill(request: web.Request) -> web.Response:
        body = await _body(request)
        sig = _signal(body.get("signal", "SIGKILL"))
        try:
            replica = int(request.match_info["replica"])
        except ValueError:
            raise ControlError(
                f"replica {request.match_info['replica']!r} must be a whole number", code="not_found", status=404
            ) from None
        pid = supervisor.kill_pod(request.match_info["service"], replica, sig)
        return web.json_response(
            {"service": request.match_info["service"], "replica": replica, "pid": pid, "signal": sig.name}
        )

    @routes.post("/links/{name}/cut")
    async def cut(request: web.Request) -> web.Response:
        body = await _body(request)
        link = supervisor.link(request.match_info["name"])
        link.cut(body.get("mode", "blackhole"))
        return web.json_response(supervisor.link_snapshot(link.name))

    @routes.post("/links/{name}/latency")
    async def latency(request: web.Request) -> web.Response:
        body = await _body(request)
        if "ms" not in body:
            raise ControlError("the body needs 'ms', the added latency in milliseconds", code="invalid", status=422)
        link = supervisor.link(request.match_info["name"])
        link.set_latency(body["ms"])
        return web.json_response(supervisor.link_snapshot(link.name))

    @routes.post("/links/{name}/bandwidth")
    async def bandwidth(request: web.Request) -> web.Response:
        body = await _body(request)
        if "kbps" not in body:
            raise ControlError(
                "the body needs 'kbps', the limit in kilobits a second (0 = none)", code="invalid", status=422
            )
        link = supervisor.link(request.match_info["name"])
        link.limit_bandwidth(body["kbps"])
        return web.json_response(supervisor.link_snapshot(link.name))

    @routes.post("/links/{name}/heal")
    async def heal(request: web.Request) -> web.Response:
        link = supervisor.link(request.match_info["name"])
        link.heal()
        return web.json_response(supervisor.link_snapshot(link.name))

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
