"""The campaign lifecycle: one state machine, the only place that says which action may move a
campaign from which state.

    DRAFT --schedule--> SCHEDULED --unschedule--> DRAFT
    DRAFT | SCHEDULED --start--> SENDING <--resume-- PAUSED
    SENDING --pause--> PAUSED
    SENDING --complete--> SENT --retry--> SENDING   (retry-failed: transient failures again)
    SENDING | PAUSED --fail--> FAILED
    SCHEDULED | SENDING | PAUSED --cancel--> CANCELLED

CANCELLED and FAILED are final; SENT is final but for `retry`, which only `retry-failed` takes
when it put recipients back to PENDING. A draft is not cancelled (it is deleted); only a draft is
edited or deleted, so what preflight checked at schedule time is what starts.
"""

from __future__ import annotations

from enum import StrEnum

from openmailer.core.errors import Conflict


class CampaignStatus(StrEnum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    SENDING = "SENDING"
    PAUSED = "PAUSED"
    SENT = "SENT"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


class CampaignAction(StrEnum):
    SCHEDULE = "schedule"
    UNSCHEDULE = "unschedule"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    COMPLETE = "complete"
    FAIL = "fail"
    RETRY = "retry"


S = CampaignStatus
# action -> (the states it may leave, the state it reaches)
TRANSITIONS: dict[CampaignAction, tuple[frozenset[CampaignStatus], CampaignStatus]] = {
    CampaignAction.SCHEDULE: (frozenset({S.DRAFT}), S.SCHEDULED),
    CampaignAction.UNSCHEDULE: (frozenset({S.SCHEDULED}), S.DRAFT),
    CampaignAction.START: (frozenset({S.DRAFT, S.SCHEDULED}), S.SENDING),
    CampaignAction.PAUSE: (frozenset({S.SENDING}), S.PAUSED),
    CampaignAction.RESUME: (frozenset({S.PAUSED}), S.SENDING),
    CampaignAction.CANCEL: (frozenset({S.SCHEDULED, S.SENDING, S.PAUSED}), S.CANCELLED),
    CampaignAction.COMPLETE: (frozenset({S.SENDING}), S.SENT),
    CampaignAction.FAIL: (frozenset({S.SENDING, S.PAUSED}), S.FAILED),
    CampaignAction.RETRY: (frozenset({S.SENT}), S.SENDING),
}
EDITABLE_STATES = frozenset({S.DRAFT})
FINAL_STATES = frozenset({S.SENT, S.CANCELLED, S.FAILED})


def allowed_sources(action: CampaignAction) -> frozenset[CampaignStatus]:
    return TRANSITIONS[action][0]


def target_of(action: CampaignAction) -> CampaignStatus:
    return TRANSITIONS[action][1]


def invalid_transition(status: CampaignStatus, action: CampaignAction) -> Conflict:
    return Conflict(f"a {status.value} campaign cannot {action.value}", code="invalid_transition")


def transition(status: CampaignStatus, action: CampaignAction) -> CampaignStatus:
    """The state `action` leads to from `status`; Conflict `invalid_transition` otherwise."""
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise invalid_transition(status, action)
    return target


def not_editable(status: CampaignStatus) -> Conflict:
    return Conflict(
        f"a {status.value} campaign cannot be changed or deleted; only a DRAFT can"
        + (" (unschedule it first)" if status is S.SCHEDULED else ""),
        code="campaign_not_editable",
    )
