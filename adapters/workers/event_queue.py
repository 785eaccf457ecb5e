"""`DramatiqEventQueue`: wakes a worker for stored webhook events through the Redis broker (the
`process_webhook_events` message, sent by `BrokerMessages`). A message lost here loses nothing:
the periodic `retry_webhook_events` reads unprocessed rows from PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from openmailer.adapters.workers.broker_messages import BrokerMessages

PROCESS_EVENTS_ACTOR = "process_webhook_events"
RETRY_EVENTS_ACTOR = "retry_webhook_events"
EVENTS_QUEUE = "webhooks"


class DramatiqEventQueue:
    def __init__(self, redis_url: str) -> None:
        self._messages = BrokerMessages(redis_url, queue=EVENTS_QUEUE, actor=PROCESS_EVENTS_ACTOR)

    def enqueue(self, event_ids: Sequence[int]) -> None:
        self._messages.send(list(event_ids))


class NoEventQueue:
    """For a process without Redis: the periodic retry picks the events up."""

    def enqueue(self, event_ids: Sequence[int]) -> None:
        return None
