"""The campaign state machine, every state against every action."""

from __future__ import annotations

import itertools

import pytest

from openmailer.core.campaigns.lifecycle import (
    FINAL_STATES,
    CampaignAction,
    CampaignStatus,
    transition,
)
from openmailer.core.errors import Conflict

S, A = CampaignStatus, CampaignAction
# The whole table written out once more, by hand: (state, action) -> next state.
LEGAL = {
    (S.DRAFT, A.SCHEDULE): S.SCHEDULED,
    (S.DRAFT, A.START): S.SENDING,
    (S.SCHEDULED, A.UNSCHEDULE): S.DRAFT,
    (S.SCHEDULED, A.START): S.SENDING,
    (S.SCHEDULED, A.CANCEL): S.CANCELLED,
    (S.SENDING, A.PAUSE): S.PAUSED,
    (S.SENDING, A.CANCEL): S.CANCELLED,
    (S.SENDING, A.COMPLETE): S.SENT,
    (S.SENDING, A.FAIL): S.FAILED,
    (S.PAUSED, A.RESUME): S.SENDING,
    (S.PAUSED, A.CANCEL): S.CANCELLED,
    (S.PAUSED, A.FAIL): S.FAILED,
    (S.SENT, A.RETRY): S.SENDING,
}


@pytest.mark.parametrize(("status", "action"), list(itertools.product(S, A)))
def test_every_state_and_action(status: CampaignStatus, action: CampaignAction) -> None:
    expected = LEGAL.get((status, action))
    if expected is not None:
        assert transition(status, action) is expected
        return
    with pytest.raises(Conflict) as refused:
        transition(status, action)
    assert refused.value.code == "invalid_transition"
    assert status.value in refused.value.detail and action.value in refused.value.detail


def test_final_states_have_no_way_out_but_a_retry_of_a_sent_campaign() -> None:
    exits = {(source, action) for source, action in LEGAL if source in FINAL_STATES}
    assert exits == {(S.SENT, A.RETRY)}
    assert {S.SENT, S.CANCELLED, S.FAILED} == FINAL_STATES
