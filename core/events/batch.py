"""Many stored events decided in one pass over the state their unit of work read locked: each
event is decided from the state as the events before it in the batch left it (a campaign's
second bounce counts from the first), and the rows' final values are written once, set-based.

An event whose decision fails leaves the state and the writes as they were before it, and the
batch goes on without it (the service records its failure).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from openmailer.core.audience.model import ContactStatus
from openmailer.core.events.model import (
    CampaignState,
    ContactState,
    Effects,
    MessageKey,
    MessageState,
    RecipientEvent,
    RowWrites,
)
from openmailer.core.events.policy import decide

_ABSENT = object()
NO_RECIPIENT = "the event names no recipient of a message"


@dataclasses.dataclass(slots=True)
class _Recipient:
    status: str | None
    bounced: bool
    complained: bool


class EffectsBatch:
    """`states`: each message an event of the batch names, as read (absent: no such log)."""

    def __init__(self, states: Mapping[MessageKey, MessageState]) -> None:
        self._states = dict(states)
        self._logs: dict[int, str] = {}
        self._recipients: dict[int, _Recipient] = {}
        self._contacts: dict[int, ContactState] = {}
        self._campaigns: dict[int, CampaignState] = {}
        for state in states.values():
            self._logs[state.log_id] = state.log_status
            if state.recipient_id is not None:
                self._recipients[state.recipient_id] = _Recipient(
                    state.recipient_status, state.recipient_bounced, state.recipient_complained
                )
            if state.contact is not None:
                self._contacts[state.contact.id] = state.contact
            if state.campaign is not None:
                self._campaigns[state.campaign.id] = state.campaign
        self.writes = RowWrites()
        self._journal: list[tuple[MutableMapping[Any, Any] | set[Any], Any, Any]] | None = None

    def decide_event(self, user_id: int, events: list[RecipientEvent]) -> str | None:
        """Decide one stored event's recipient events in order and keep their effects; the
        event's note (why parts of it changed nothing), or None."""
        notes = []
        with self._undone_on_error():
            for event in events:
                state = self.current(MessageKey.of(user_id, event.message_id, event.recipient))
                effects = decide(event, state)
                if state is not None and not effects.empty:
                    self._keep(state, effects)
                if effects.note:
                    notes.append(f"{event.recipient}: {effects.note}")
            if not events:
                notes.append(NO_RECIPIENT)
        return "; ".join(notes) or None

    def current(self, key: MessageKey) -> MessageState | None:
        read = self._states.get(key)
        if read is None:
            return None
        recipient = None if read.recipient_id is None else self._recipients[read.recipient_id]
        return dataclasses.replace(
            read,
            log_status=self._logs[read.log_id],
            recipient_status=read.recipient_status if recipient is None else recipient.status,
            recipient_bounced=read.recipient_bounced if recipient is None else recipient.bounced,
            recipient_complained=(
                read.recipient_complained if recipient is None else recipient.complained
            ),
            contact=None if read.contact is None else self._contacts[read.contact.id],
            campaign=None if read.campaign is None else self._campaigns[read.campaign.id],
        )

    @contextmanager
    def _undone_on_error(self) -> Iterator[None]:
        self._journal = []
        try:
            yield
        except BaseException:
            for container, key, old in reversed(self._journal):
                if isinstance(container, set):
                    container.discard(key)
                elif old is _ABSENT:
                    del container[key]
                else:
                    container[key] = old
            raise
        finally:
            self._journal = None

    def _set(self, mapping: MutableMapping[Any, Any], key: Any, value: Any) -> None:
        assert self._journal is not None, "state changes only inside decide_event"
        self._journal.append((mapping, key, mapping.get(key, _ABSENT)))
        mapping[key] = value

    def _add(self, members: set[int], member: int) -> None:
        assert self._journal is not None, "state changes only inside decide_event"
        if member not in members:
            self._journal.append((members, member, _ABSENT))
            members.add(member)

    def _write(self, rows: dict[int, dict[str, Any]], row_id: int, values: dict[str, Any]) -> None:
        self._set(rows, row_id, {**rows.get(row_id, {}), **values})

    def _keep(self, state: MessageState, effects: Effects) -> None:
        if effects.log:
            self._write(self.writes.logs, state.log_id, effects.log)
            self._set(self._logs, state.log_id, effects.log.get("status", state.log_status))
        if effects.recipient and state.recipient_id is not None:
            self._write(self.writes.recipients, state.recipient_id, effects.recipient)
            old = self._recipients[state.recipient_id]
            self._set(
                self._recipients,
                state.recipient_id,
                _Recipient(
                    effects.recipient.get("status", old.status),
                    old.bounced or "bounced_at" in effects.recipient,
                    old.complained or "complained_at" in effects.recipient,
                ),
            )
        if effects.contact and state.contact is not None:
            contact = state.contact
            self._write(self.writes.contacts, contact.id, effects.contact)
            self._set(self._contacts, contact.id, _changed(contact, effects.contact))
            if effects.contact_status_changed:
                self._add(self.writes.status_changed, contact.id)
        if effects.campaign and state.campaign is not None:
            self._write(self.writes.campaigns, state.campaign.id, effects.campaign)
            self._set(
                self._campaigns, state.campaign.id, _changed(state.campaign, effects.campaign)
            )


def _changed(state: Any, values: Mapping[str, Any]) -> Any:
    """`state` (a ContactState or CampaignState) with the columns of `values` it holds."""
    names = {field.name for field in dataclasses.fields(state)}
    changes = {name: value for name, value in values.items() if name in names}
    if isinstance(state, ContactState) and "status" in changes:
        changes["status"] = ContactStatus(changes["status"])
    return dataclasses.replace(state, **changes)
