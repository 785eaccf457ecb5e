"""Double opt-in on PostgreSQL: the state, the token and the counts (forms and mail come later)."""

from __future__ import annotations

import pytest

from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.audience.model import ContactStatus
from openmailer.core.audience.service import AudienceService
from openmailer.core.errors import NotFound
from tests.integration.accounts.accounts_helpers import make_user
from tests.integration.audience.audience_helpers import new_address, principal_of

pytestmark = pytest.mark.integration


async def test_a_form_sign_up_to_a_double_opt_in_list_is_pending_until_confirmed(
    audience: AudienceService, accounts: Accounts
) -> None:
    owner = principal_of(await make_user(accounts))
    listed = await audience.create_list(owner, "double opt-in", double_opt_in=True)
    address = new_address("form")
    pending = await audience.sign_up_through_form(owner.user.id, listed.id, address)
    assert pending.status is ContactStatus.PENDING
    assert pending.confirmation_token and len(pending.confirmation_token) >= 43
    counted = await audience.get_list(owner, listed.id)
    assert (counted.total_contacts, counted.active_contacts) == (1, 0)

    # Signing up again keeps the one contact and its token.
    again = await audience.sign_up_through_form(owner.user.id, listed.id, address.upper())
    assert (again.id, again.confirmation_token) == (pending.id, pending.confirmation_token)

    confirmed = await audience.confirm_subscription(pending.confirmation_token)
    assert confirmed.status is ContactStatus.SUBSCRIBED and confirmed.email_verified
    assert confirmed.confirmation_token is None and confirmed.confirmed_at is not None
    counted = await audience.get_list(owner, listed.id)
    assert (counted.total_contacts, counted.active_contacts) == (1, 1)
    with pytest.raises(NotFound):
        await audience.confirm_subscription(pending.confirmation_token)


async def test_a_sign_up_to_another_list_subscribes_at_once(
    audience: AudienceService, accounts: Accounts
) -> None:
    owner = principal_of(await make_user(accounts))
    listed = await audience.create_list(owner, "single opt-in", double_opt_in=False)
    contact = await audience.sign_up_through_form(owner.user.id, listed.id, new_address("open"))
    assert contact.status is ContactStatus.SUBSCRIBED and contact.confirmation_token is None
    assert (await audience.get_list(owner, listed.id)).active_contacts == 1
