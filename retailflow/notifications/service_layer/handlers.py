"""The consumer of order events (group "notifications"): one message per settled order."""

from __future__ import annotations

import logging

from retailflow.common.bus import BusMessage
from retailflow.notifications.adapters.store import NotificationStore
from retailflow.notifications.domain.messages import message_for

__all__ = ["GROUP", "TOPIC", "OrderEventConsumer"]

log = logging.getLogger("retailflow.notifications")

TOPIC = "orders"
GROUP = "notifications"


class OrderEventConsumer:
    def __init__(self, store: NotificationStore) -> None:
        self.store = store

    async def __call__(self, message: BusMessage) -> None:
        payload = dict(message.payload)
        # The event's own id survives a re-published outbox row; the bus msg_id is the fallback.
        payload.setdefault("event_id", message.msg_id)
        if "order_id" not in payload:
            log.warning("dropping an order event without order_id", extra={"msg_id": message.msg_id})
            return
        note = message_for(payload)
        if note is not None and not self.store.add(note):
            log.info("dropped a duplicate event", extra={"event_id": note.event_id})
