"""The notifications service's HTTP face: read what was sent."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from retailflow.common.web import JSON, query_int
from retailflow.notifications.adapters.store import NotificationStore

__all__ = ["routes"]


def routes(store: NotificationStore) -> list[Route]:
    async def list_notifications(request: Request) -> Response:
        """Messages sent for one order (oldest first), or the latest messages of all orders.
        ---
        summary: 'Messages sent for one order (oldest first), or the latest messages of all orders'
        parameters:
          - {name: order_id, in: query, schema: {type: string, maxLength: 64}}
          - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 500}}
        responses:
          200:
            description: '{"items": [{event_id, order_id, kind, message, created_at}], "duplicates_dropped"}'
          400:
            description: a bad limit
        """
        order_id = request.query_params.get("order_id") or None
        limit = query_int(request, "limit", 100, minimum=1, maximum=500)
        items = [] if order_id is not None and len(order_id) > 64 else store.for_order(order_id, limit)
        return JSON({"items": items, "duplicates_dropped": store.duplicates})

    return [Route("/notifications", list_notifications, methods=["GET"])]
