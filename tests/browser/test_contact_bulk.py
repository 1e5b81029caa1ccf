"""Contact list filters and bulk actions in Chromium, as a customer-service
representative whose grant manages EU Headquarters (and who only views US
Sales): a filter by organization subtree lists the right contacts; a bulk
"add to Gold" asks, previews, confirms, and the members' effective groups
then hold Gold; a contact it may only view is refused by name."""

import re

import pytest
from playwright.sync_api import Page, expect

from clientbase.customers.models import Contact, Role
from tests.browser.conftest import log_in
from tests.browser.test_backoffice import pick_autocomplete
from tests.conftest import make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def team(world):
    rep = make_account("rep@example.com", Role.CUSTOMER_SERVICE)
    rep.grants.create(organization=world["EU-HQ"], include_descendants=True, level="manage")
    rep.grants.create(organization=world["US-SALES"], include_descendants=True, level="view")

    def contact(first, last, org):
        c = Contact.objects.create(first_name=first, last_name=last, email=f"{first.lower()}@example.com")
        c.organizations.add(org)
        return c

    return {"ann": contact("Ann", "Smith", world["EU-MGMT"]), "bob": contact("Bob", "Baker", world["EU-HQ"]),
            "carl": contact("Carl", "Jones", world["US-SALES"])}


def open_filters(page: Page) -> None:
    toggle = page.locator("a[x-on\\:click='filterOpen = true']")
    if toggle.is_visible():
        toggle.click()


def run_action(page: Page, action: str) -> None:
    page.locator("#action-toggle").check()
    page.select_option("select[name=action]", action)
    page.click("#changelist-actions button[name=index]")


def test_a_filtered_selection_is_added_to_gold_after_a_preview(live_server, world, team, page: Page):
    base = live_server.url
    log_in(page, base, "rep@example.com")
    page.goto(f"{base}/admin/customers/contact/")
    results = page.locator("#result_list")
    expect(results).to_contain_text("Carl Jones")

    # filters the list to EU Headquarters with the units below it
    open_filters(page)
    pick_autocomplete(page, "organization", "EU Head", "EU Headquarters")
    page.select_option("select[name=subtree]", "1")
    page.get_by_role("button", name=re.compile("Apply Filters", re.I)).click()
    expect(page).to_have_url(re.compile(r"subtree=1"))
    expect(results).to_contain_text("Ann Smith")
    expect(results).to_contain_text("Bob Baker")
    expect(results).not_to_contain_text("Carl Jones")

    # selects the page and adds it to Gold: a preview first, nothing written yet
    run_action(page, "add_to_customer_group")
    expect(page.locator("#bulk-selection")).to_contain_text("2 contacts selected")
    page.select_option("#id_group", label="— Gold (GOLD)")
    page.click("button[name=_preview]")
    expect(page.locator("#bulk-summary")).to_contain_text("2 of 2 selected contacts will be added to Gold (GOLD)")
    expect(page.locator("#bulk-changing")).to_contain_text("Ann Smith")
    assert not Contact.objects.filter(customer_groups=world["GOLD"]).exists()
    page.click("button[name=_confirm]")
    expect(page.locator("body")).to_contain_text("2 contact(s) added to Gold (GOLD)")
    expect(page).to_have_url(re.compile(r"subtree=1"))  # back on the filtered list

    # the members' effective groups now hold Gold (and Customers, its parent)
    for name in ("ann", "bob"):
        answer = page.request.get(f"{base}/api/v1/contacts/{team[name].pk}/effective-groups")
        assert answer.ok
        assert {item["group"]["key"] for item in answer.json()["items"]} == {"GOLD", "CUSTOMERS"}
    assert not team["carl"].customer_groups.exists()


def test_a_contact_the_representative_only_views_is_refused_by_name(live_server, world, team, page: Page):
    base = live_server.url
    log_in(page, base, "rep@example.com")
    page.goto(f"{base}/admin/customers/contact/")
    run_action(page, "add_to_customer_group")
    page.select_option("#id_group", label="— Silver (SILVER)")
    page.click("button[name=_preview]")
    expect(page.locator("#bulk-summary")).to_contain_text("2 of 3 selected contacts")
    expect(page.locator("#bulk-refused")).to_contain_text("Carl Jones")
    page.click("button[name=_confirm]")
    expect(page.locator("body")).to_contain_text("1 refused")
    assert set(Contact.objects.filter(customer_groups=world["SILVER"]).values_list("first_name", flat=True)) == {
        "Ann", "Bob"}
