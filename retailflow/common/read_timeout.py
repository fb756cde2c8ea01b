"""A bound on how long a request may take to arrive, headers and body, enforced by the HTTP server.

uvicorn waits for a request's bytes as long as the client likes: a body shorter than its
Content-Length, or headers sent a byte at a time, held a connection and its handler for minutes.
Here every request must arrive whole within `read_timeout_s` of its first byte (a new connection:
of its opening). Late, it gets a 408 and the connection is closed; the handler waiting for the
body sees the client gone. Once a request has arrived, answering it takes as long as it takes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["read_timeout_protocol"]


def _timeout_answer(read_timeout_s: float) -> bytes:
    body = orjson.dumps(
        {"error": "request_timeout", "detail": f"the request did not arrive whole within {read_timeout_s:g} s"}
    )
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class _ReadTimeoutProtocol(HttpToolsProtocol):
    read_timeout_s = 5.0
    timeout_answer = _timeout_answer(read_timeout_s)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._arrival: asyncio.TimerHandle | None = None
        self._arriving: Any = None  # the cycle of the request being read, once its headers are in

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a connection that never sends a byte is not kept either

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arriving = None
        self._arm()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arriving = self.cycle

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self) -> None:
        self._disarm()
        self._arrival = self.loop.call_later(self.read_timeout_s, self._too_late)

    def _disarm(self) -> None:
        if self._arrival is not None:
            self._arrival.cancel()
            self._arrival = None

    def _too_late(self) -> None:
        self._arrival = None
        if self.transport.is_closing():
            return
        if self._arriving is None or not self._arriving.response_started:
            self.transport.write(self.timeout_answer)
        self.transport.close()


def read_timeout_protocol(read_timeout_s: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with the bound; give it to `uvicorn.Config(http=...)`."""
    return type(
        "ReadTimeoutProtocol",
        (_ReadTimeoutProtocol,),
        {"read_timeout_s": read_timeout_s, "timeout_answer": _timeout_answer(read_timeout_s)},
    )
