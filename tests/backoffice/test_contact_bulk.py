"""Bulk actions on the contact list: a confirmation page that says how many
and which contacts change and which are refused, then one service call;
the CSV export of the selection is the contact export's."""

import csv
import io

import pytest
from django.urls import reverse

from clientbase.customers.models import Contact, Grant
from tests.backoffice.conftest import make_contact

LIST = "admin:customers_contact_changelist"


def post_action(client, action: str, contacts, *, query: str = "", **data):
    """What the list's form posts for `action` on `contacts` (plus the
    confirmation page's fields in `data`)."""
    body = {"action": action, "index": "0", "select_across": data.pop("select_across", "0"),
            "_selected_action": [str(c.pk) for c in contacts], **data}
    return client.post(reverse(LIST) + query, body)


def group_keys(contact) -> set[str]:
    return set(contact.customer_groups.values_list("key", flat=True))


@pytest.fixture
def viewing_us(accounts, world):
    """The representative also views (not manages) US Sales."""
    Grant.objects.create(account=accounts["csr"], organization=world["US-SALES"], level="view")
    return accounts["csr"]


def test_adding_to_a_group_asks_previews_and_then_confirms(login, people, world):
    client = login("admin")
    everyone = list(people.values())
    # when: the action is chosen
    first = post_action(client, "add_to_customer_group", everyone)
    # then: a page asks for the group, naming the selection
    assert first.status_code == 200
    assert first.context["selected_count"] == 3
    assert not Contact.objects.filter(customer_groups=world["GOLD"]).exists()
    # when: previewed with Gold
    preview = post_action(client, "add_to_customer_group", everyone, group=str(world["GOLD"].pk), _preview="1")
    # then: how many and which, and still nothing written
    outcome = preview.context["outcome"]
    assert (outcome.selected, outcome.changed) == (3, 3)
    assert "Ann Smith" in preview.content.decode()
    assert not Contact.objects.filter(customer_groups=world["GOLD"]).exists()
    # when: confirmed
    done = post_action(client, "add_to_customer_group", everyone, group=str(world["GOLD"].pk), _confirm="1")
    # then
    assert done.status_code == 302
    assert all(group_keys(c) == {"GOLD"} for c in everyone)


def test_contacts_seen_but_not_managed_are_refused_by_name(login, people, world, viewing_us):
    client = login("csr")
    everyone = list(people.values())
    preview = post_action(client, "add_to_customer_group", everyone, group=str(world["GOLD"].pk), _preview="1")
    outcome = preview.context["outcome"]
    assert (outcome.changed, outcome.refused) == (2, 1)
    assert "Carl Jones" in preview.content.decode()
    post_action(client, "add_to_customer_group", everyone, group=str(world["GOLD"].pk), _confirm="1")
    assert group_keys(people["ann"]) == group_keys(people["bob"]) == {"GOLD"}
    assert group_keys(people["carl"]) == set()


def test_a_contact_outside_the_scope_is_not_even_counted(login, people, world):
    # the representative sees EU contacts only; Carl's id is posted anyway
    client = login("csr")
    page = post_action(client, "add_to_customer_group", list(people.values()),
                       group=str(world["GOLD"].pk), _preview="1")
    assert page.context["outcome"].selected == 2
    assert "Carl Jones" not in page.content.decode()


def test_removing_from_a_group_changes_only_direct_members(login, people, world):
    people["ann"].customer_groups.add(world["GOLD"])
    post_action(login("admin"), "remove_from_customer_group", list(people.values()),
                group=str(world["GOLD"].pk), _confirm="1")
    assert group_keys(people["ann"]) == set()


def test_adding_to_an_organization_offers_only_managed_ones(login, people, world, viewing_us):
    client = login("csr")
    refused = post_action(client, "add_to_organization", [people["ann"]],
                          organization=str(world["US-SALES"].pk), _confirm="1")
    assert refused.status_code == 200  # the form's error: not a choice
    assert "organization" in refused.context["form"].errors
    post_action(client, "add_to_organization", [people["ann"]], organization=str(world["EU-HQ"].pk),
                _confirm="1")
    assert set(people["ann"].organizations.values_list("key", flat=True)) == {"EU-MGMT", "EU-HQ"}


def test_select_all_applies_to_every_contact_of_the_filtered_list(login, people, world):
    # given: the list filtered to EU Headquarters' subtree, one row posted, "select all" on
    query = f"?organization={world['EU-HQ'].pk}&subtree=1"
    post_action(login("admin"), "add_to_customer_group", [people["ann"]], query=query, select_across="1",
                group=str(world["SILVER"].pk), _confirm="1")
    assert group_keys(people["ann"]) == group_keys(people["bob"]) == {"SILVER"}
    assert group_keys(people["carl"]) == set()


def test_a_marketing_manager_may_export_but_not_change_in_bulk(people, world):
    # given: a marketing manager (views contacts, changes none) who sees EU Headquarters
    from django.test import Client

    from clientbase.customers.models import Role
    from tests.conftest import make_account

    manager = make_account("marketing@example.com", Role.MARKETING_MANAGERS)
    Grant.objects.create(account=manager, organization=world["EU-HQ"], level="view")
    client = Client()
    client.force_login(manager)
    # then
    response = client.get(reverse(LIST))
    names = {name for name, _ in response.context["action_form"].fields["action"].choices}
    assert "export_csv" in names
    assert not names & {"add_to_customer_group", "remove_from_customer_group", "add_to_organization"}
    refused = post_action(client, "add_to_customer_group", [people["ann"]], group=str(world["GOLD"].pk),
                          _confirm="1")
    assert refused.status_code == 302
    assert group_keys(people["ann"]) == set()


def test_the_export_writes_the_selection_with_the_api_field_names(login, people, world):
    # given: a name a spreadsheet would run as a formula
    evil = make_contact("=HYPERLINK(1)", "Evil", world["EU-HQ"], key="EVIL")
    response = post_action(login("admin"), "export_csv", [people["ann"], evil])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert list(rows[0]) == ["key", "first_name", "last_name", "email", "phone", "birth_date",
                             "preferred_language", "preferred_currency", "organizations", "customer_groups",
                             "addresses"]
    assert {r["last_name"] for r in rows} == {"Smith", "Evil"}
    assert next(r for r in rows if r["key"] == "EVIL")["first_name"].startswith("'=")
    assert next(r for r in rows if r["key"] == "C-ANN")["organizations"] == "EU-MGMT"


def test_the_export_leaves_out_contacts_outside_the_scope(login, people):
    response = post_action(login("csr"), "export_csv", list(people.values()))
    text = b"".join(response.streaming_content).decode()
    assert "Smith" in text and "Jones" not in text
