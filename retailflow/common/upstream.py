"""Calls from one service to another over a pooled aiohttp session.

An idempotent call that fails on the connection is retried on a fresh connection, which the
kernel's SO_REUSEPORT balancing most likely lands on another replica. Failures end as a 503
naming the upstream, never as a traceback.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from retailflow.common.errors import ServiceUnavailable
from retailflow.common.web import correlation_id

__all__ = ["Upstream", "UpstreamResponse"]

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class UpstreamResponse:
    __slots__ = ("body", "status")

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Upstream:
    def __init__(self, name: str, base_url: str, *, timeout_s: float = 3.0, retries: int = 1, pool: int = 100) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(1.0, timeout_s))
        self.retries = retries
        self.pool = pool
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.pool, keepalive_timeout=30, enable_cleanup_closed=True)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self.timeout, json_serialize=lambda o: orjson.dumps(o).decode()
            )
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        retry: bool | None = None,
    ) -> UpstreamResponse:
        """Call the upstream; a 5xx or a dead connection is retried when the call is idempotent."""
        rid = correlation_id.get()
        send_headers = {"x-request-id": rid} if rid else {}
        if headers:
            send_headers.update(headers)
        attempts = 1 + (self.retries if (retry if retry is not None else method in IDEMPOTENT) else 0)
        last: str = ""
        for attempt in range(attempts):
            try:
                async with self._get_session().request(
                    method, self.base_url + path, json=json, headers=send_headers
                ) as resp:
                    raw = await resp.read()
                    body = orjson.loads(raw) if raw and resp.content_type == "application/json" else raw
                    if resp.status in (502, 503, 504) and attempt + 1 < attempts:
                        last = f"status {resp.status}"
                        continue
                    return UpstreamResponse(resp.status, body)
            except (TimeoutError, aiohttp.ClientError, orjson.JSONDecodeError) as exc:
                last = f"{type(exc).__name__}: {exc}".rstrip(": ")
        raise ServiceUnavailable(f"{self.name} did not answer ({last})", code=f"{self.name}_unavailable")

    async def get(self, path: str, **kw: Any) -> UpstreamResponse:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> UpstreamResponse:
        return await self.request("POST", path, json=json, **kw)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
