"""The batch service (imports) and the single-contact services (API, back
office) judge a contact by the same rules: for any fields, memberships and
acting account, the batch rejects a row exactly when the single write
rejects it, and names at least the bad fields the single write names."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientbase.core.batches import RowStatus
from clientbase.core.errors import DomainError
from clientbase.customers.models import Contact, Organization
from clientbase.customers.services.contact_batches import ContactRow, upsert_contacts
from clientbase.customers.services.contacts import create_contact, update_contact

VALUES = {
    "key": [None, "", "C-NEW", "OLD", "US-1", "bad key!", "0b5e7b0e-8f8c-4c8e-9d9b-5b0f8d2c8a11", "K" * 300],
    "first_name": ["Ann", "  Ann  ", "A\u200bnn", "x" * 101, "", "=cmd|' /C calc'!A0", "N\x00"],
    "last_name": ["Smith", "", None, "\u202eevil"],
    "email": [None, "", "new@example.com", " New@EXAMPLE.com ", "taken@example.com", "not-an-email",
              "a@" + "b" * 250 + ".com"],
    "phone": [None, "", "+4930123456", "12", "+49 30 123456", "+999123"],
    "birth_date": [None, "1990-12-31", "2990-01-01", "1899-12-31", "31.12.1990"],
    "preferred_language": [None, "", "de", "en-GB", "EN", "deutsch"],
    "preferred_currency": [None, "", "EUR", "eur", "ABC", "JPY"],
    "source": ["import", "back_office", "nonsense"],
    "color": ["red"],  # no such field
}
FIELDS = st.fixed_dictionaries({}, optional={name: st.sampled_from(values) for name, values in VALUES.items()})
ORGANIZATIONS = st.none() | st.lists(st.sampled_from(["EU-HQ", "EU-MGMT", "US-SALES"]), unique=True, max_size=2)
ACTORS = st.sampled_from([None, "admin", "csr", "csr_nogrant", "registered"])


@pytest.fixture
def existing(world, accounts):
    create_contact(actor=None, fields={"key": "OLD", "email": "taken@example.com"}, organizations=[world["EU-HQ"]])
    create_contact(actor=None, fields={"key": "US-1", "email": "us@example.com"}, organizations=[world["US-SALES"]])
    return accounts


def single(fields, org_keys, actor) -> set[str] | None:
    """The fields the single write names when it refuses (None: it accepts),
    with the organizations found as a door finds them: among those the actor sees."""
    visible = Organization.objects.all() if actor is None else Organization.objects.visible_to(actor)
    organizations = None if org_keys is None else list(visible.filter(key__in=org_keys))
    if organizations is not None and len(organizations) < len(org_keys):
        return {"organizations"}
    key = (fields.get("key") or "").strip()
    contact = Contact.objects.filter(key=key).first() if key else None
    seen = contact is not None and (actor is None or Contact.objects.visible_to(actor).filter(pk=contact.pk).exists())
    try:
        if seen:
            update_contact(contact, actor=actor, changes=fields, organizations=organizations)
        else:
            create_contact(actor=actor, fields=fields, organizations=organizations or ())
    except DomainError as exc:
        return {e.field for e in exc.errors}
    return None


def batch(fields, org_keys, actor) -> set[str] | None:
    [outcome] = upsert_contacts([ContactRow(fields=fields, organizations=org_keys)], actor=actor)
    return {e.field for e in outcome.errors} if outcome.status == RowStatus.FAILED else None


def rolled_back(write, *args):
    with transaction.atomic():
        answer = write(*args)
        transaction.set_rollback(True)
    return answer


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=FIELDS, org_keys=ORGANIZATIONS, actor_name=ACTORS)
def test_the_batch_rejects_exactly_what_the_single_write_rejects(existing, fields, org_keys, actor_name):
    actor = existing[actor_name] if actor_name else None

    by_single = rolled_back(single, fields, org_keys, actor)
    by_batch = rolled_back(batch, fields, org_keys, actor)

    assert (by_single is None) == (by_batch is None), (by_single, by_batch)
    if by_single is not None:
        # The batch names every bad field of the row at once; the single write stops at the first
        # kind of fault (permission, fields, scope, uniqueness), the batch checks the scope last.
        assert by_single & set(VALUES) <= by_batch, (by_single, by_batch)
