"""The audience use cases on the in-memory fakes."""

from __future__ import annotations

import pytest

from openmailer.core.accounts.model import Principal
from openmailer.core.audience.model import (
    BatchItem,
    BatchOutcome,
    ContactEdit,
    ContactFilter,
    ContactStatus,
    NewContact,
)
from openmailer.core.audience.service import AudienceService
from openmailer.core.audience.services.lists import MAX_MEMBERS_PER_CALL
from openmailer.core.errors import Conflict, NotFound, ValidationError
from tests.unit.audience.fakes import Store

pytestmark = pytest.mark.unit


def new(email: str, status: ContactStatus = ContactStatus.SUBSCRIBED) -> NewContact:
    return NewContact(email=email, status=status)


async def test_one_contact_per_address_in_any_case(
    audience: AudienceService, ann: Principal
) -> None:
    first = await audience.create_contact(ann, new(" Ann@Example.ORG "))
    assert first.email == "Ann@example.org"
    with pytest.raises(Conflict) as duplicate:
        await audience.create_contact(ann, new("ann@example.org"))
    assert f"id {first.id}" in duplicate.value.detail


async def test_a_pending_contact_gets_a_confirmation_token(
    audience: AudienceService, ann: Principal
) -> None:
    pending = await audience.create_contact(ann, new("p@example.org", ContactStatus.PENDING))
    subscribed = await audience.create_contact(ann, new("s@example.org"))
    assert pending.confirmation_token and subscribed.confirmation_token is None


async def test_another_users_contact_is_not_found(
    audience: AudienceService, ann: Principal, bob: Principal
) -> None:
    contact = await audience.create_contact(ann, new("a@example.org"))
    with pytest.raises(NotFound):
        await audience.get_contact(bob, contact.id)
    with pytest.raises(NotFound):
        await audience.update_contact(bob, contact.id, ContactEdit(first_name="x"))
    with pytest.raises(NotFound):
        await audience.delete_contact(bob, contact.id)


async def test_an_override_is_recorded_and_a_refused_move_writes_nothing(
    audience: AudienceService, ann: Principal, store: Store
) -> None:
    contact = await audience.create_contact(ann, new("b@example.org", ContactStatus.BOUNCED))
    with pytest.raises(ValidationError):
        await audience.update_contact(
            ann, contact.id, ContactEdit(first_name="New", status=ContactStatus.SUBSCRIBED)
        )
    unchanged = await audience.get_contact(ann, contact.id)
    assert (unchanged.status, unchanged.first_name) == (ContactStatus.BOUNCED, None)
    assert store.overrides == []
    moved = await audience.update_contact(
        ann,
        contact.id,
        ContactEdit(status=ContactStatus.SUBSCRIBED, status_override_reason="fixed"),
    )
    assert moved.status is ContactStatus.SUBSCRIBED
    [override] = store.overrides
    assert (override.from_status, override.to_status, override.reason) == (
        ContactStatus.BOUNCED,
        ContactStatus.SUBSCRIBED,
        "fixed",
    )


async def test_keyset_pages_and_a_foreign_cursor(audience: AudienceService, ann: Principal) -> None:
    ids = [(await audience.create_contact(ann, new(f"c{i}@example.org"))).id for i in range(5)]
    seen, cursor = [], None
    while True:
        page = await audience.list_contacts(ann, ContactFilter(), cursor=cursor, limit=2)
        seen += [contact.id for contact in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ids
    with pytest.raises(ValidationError):
        await audience.list_contacts(ann, ContactFilter(), cursor="WyJ4Il0", limit=2)  # ["x"]


async def test_batch_results_per_item(audience: AudienceService, ann: Principal) -> None:
    kept = await audience.create_contact(ann, NewContact("k@example.org", ContactStatus.COMPLAINED))
    results = await audience.upsert_contacts(
        ann,
        [
            BatchItem("n@example.org", tags=("x",)),
            BatchItem("bad"),
            BatchItem("N@example.org"),
            BatchItem("k@example.org", status=ContactStatus.SUBSCRIBED),
            BatchItem("k@example.org".upper(), first_name="again"),
        ],
    )
    assert [(r.outcome, r.code) for r in results] == [
        (BatchOutcome.CREATED, None),
        (BatchOutcome.REJECTED, "invalid_email"),
        (BatchOutcome.REJECTED, "duplicate_in_batch"),
        (BatchOutcome.REJECTED, "status_override_required"),
        (BatchOutcome.REJECTED, "duplicate_in_batch"),
    ]
    assert (await audience.get_contact(ann, kept.id)).status is ContactStatus.COMPLAINED
    with pytest.raises(ValidationError):
        await audience.upsert_contacts(ann, [BatchItem(f"{i}@example.org") for i in range(1001)])


async def test_counts_follow_memberships_and_statuses(
    audience: AudienceService, ann: Principal
) -> None:
    listed = await audience.create_list(ann, "news")
    a = await audience.create_contact(ann, new("a@example.org"))
    b = await audience.create_contact(ann, new("b@example.org", ContactStatus.PENDING))
    added = await audience.add_members(
        ann, listed.id, contact_ids=[a.id, 999], emails=["B@EXAMPLE.ORG", "no@example.org"]
    )
    assert (added.added, added.not_found_ids, added.not_found_emails) == (
        [a.id, b.id],
        [999],
        ["no@example.org"],
    )
    current = await audience.get_list(ann, listed.id)
    assert (current.total_contacts, current.active_contacts) == (2, 1)
    await audience.remove_member(ann, listed.id, a.id)
    current = await audience.get_list(ann, listed.id)
    assert (current.total_contacts, current.active_contacts) == (1, 0)
    with pytest.raises(NotFound):
        await audience.remove_member(ann, listed.id, a.id)
    with pytest.raises(ValidationError):
        await audience.add_members(
            ann, listed.id, contact_ids=list(range(1, MAX_MEMBERS_PER_CALL + 2)), emails=[]
        )


async def test_list_names_are_unique_per_user_and_lists_are_private(
    audience: AudienceService, ann: Principal, bob: Principal
) -> None:
    mine = await audience.create_list(ann, " Weekly ")
    assert mine.name == "Weekly"
    with pytest.raises(Conflict):
        await audience.create_list(ann, "Weekly")
    await audience.create_list(bob, "Weekly")
    with pytest.raises(NotFound):
        await audience.get_list(bob, mine.id)
    with pytest.raises(NotFound):
        await audience.add_members(bob, mine.id, contact_ids=[1], emails=[])
    with pytest.raises(ValidationError):
        await audience.create_list(ann, "   ")


async def test_double_opt_in_sign_up_stays_pending_until_confirmed(
    audience: AudienceService, ann: Principal
) -> None:
    listed = await audience.create_list(ann, "confirmed", double_opt_in=True)
    pending = await audience.sign_up_through_form(ann.user.id, listed.id, "v@example.org")
    assert pending.status is ContactStatus.PENDING and pending.confirmation_token
    counted = await audience.get_list(ann, listed.id)
    assert (counted.total_contacts, counted.active_contacts) == (1, 0)

    confirmed = await audience.confirm_subscription(pending.confirmation_token)
    assert confirmed.status is ContactStatus.SUBSCRIBED
    assert confirmed.email_verified and confirmed.confirmed_at is not None
    assert confirmed.confirmation_token is None
    counted = await audience.get_list(ann, listed.id)
    assert counted.active_contacts == 1
    with pytest.raises(NotFound):  # spent
        await audience.confirm_subscription(pending.confirmation_token)


async def test_a_sign_up_to_a_single_opt_in_list_subscribes_at_once(
    audience: AudienceService, ann: Principal
) -> None:
    listed = await audience.create_list(ann, "open", double_opt_in=False)
    contact = await audience.sign_up_through_form(ann.user.id, listed.id, "w@example.org")
    assert contact.status is ContactStatus.SUBSCRIBED and contact.confirmation_token is None
    with pytest.raises(NotFound):
        await audience.confirm_subscription("not-a-token")


async def test_a_form_does_not_resubscribe_a_bounced_address(
    audience: AudienceService, ann: Principal
) -> None:
    listed = await audience.create_list(ann, "open", double_opt_in=False)
    bounced = await audience.create_contact(ann, new("x@example.org", ContactStatus.BOUNCED))
    again = await audience.sign_up_through_form(ann.user.id, listed.id, "X@example.org")
    assert again.id == bounced.id and again.status is ContactStatus.BOUNCED
