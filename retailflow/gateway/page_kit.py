"""What every storefront page handler needs: upstream answers as page errors, forms, redirects."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from retailflow.common.errors import BadRequest, NotFound, ServiceUnavailable, ShopHTTPError
from retailflow.common.upstream import UpstreamResponse
from retailflow.gateway.queries import ID_LENGTH
from retailflow.gateway.views import Views

__all__ = ["CART_COOKIE", "cart_id_of", "expect_ok", "form_text", "html_errors", "read_form", "see_other"]

CART_COOKIE = "rf_cart"
Handler = Callable[[Request], Awaitable[Response]]


def expect_ok(response: UpstreamResponse, what: str) -> Any:
    """The body of a 2xx answer; anything else becomes the page's error."""
    if response.ok and not isinstance(response.body, bytes | bytearray):
        return response.body
    body = response.body if isinstance(response.body, dict) else {}
    if response.status == 404:
        raise NotFound(body.get("detail") or f"{what} does not exist")
    if 400 <= response.status < 500:
        raise ShopHTTPError(
            str(body.get("detail") or body.get("error") or f"{what} was refused"),
            code=str(body.get("error") or "refused"),
            status=response.status,
        )
    raise ServiceUnavailable(f"{what} is unavailable right now; please try again shortly")


async def read_form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "application/x-www-form-urlencoded")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise ShopHTTPError(
            "send the form as application/x-www-form-urlencoded", code="unsupported_media_type", status=415
        )
    try:
        return dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True, max_num_fields=20))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"the form could not be read: {exc}") from None


def form_text(form: dict[str, str], key: str, *, required: bool = True, max_length: int = ID_LENGTH) -> str:
    value = form.get(key, "").strip()
    if required and not value:
        raise ShopHTTPError(f"the form field '{key}' is required", code="invalid", status=422)
    if len(value) > max_length:
        raise ShopHTTPError(f"the form field '{key}' is longer than {max_length}", code="invalid", status=422)
    return value


def see_other(url: str, cart_id: str | None = None) -> Response:
    response = RedirectResponse(url, status_code=303)
    if cart_id is not None:
        response.set_cookie(CART_COOKIE, cart_id, max_age=7 * 86400, httponly=True, samesite="lax")
    return response


def html_errors(views: Views) -> Callable[[Handler], Handler]:
    """Page handlers answer their errors as an HTML page with the error's status."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except ShopHTTPError as exc:
                return views.error(exc.status, exc.code, exc.detail)

        return page

    return wrap


def cart_id_of(request: Request) -> str:
    value = request.query_params.get("cart_id") or request.cookies.get(CART_COOKIE) or ""
    return value if len(value) <= ID_LENGTH else ""
