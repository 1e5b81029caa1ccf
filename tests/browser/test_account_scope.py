"""Issue 10, items 5–7 in a real browser: "what can this account see" for a
customer-service account whose grant covers EU Headquarters only, variant
options edited as named fields, and an empty autocomplete that says why."""

import re

import pytest
from playwright.sync_api import Page, expect

from clientbase.catalog.models import Product, Variant
from clientbase.customers.models import Contact, Role
from tests.browser.conftest import log_in
from tests.conftest import make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_what_a_representative_can_see_is_only_its_branch(live_server, world, page: Page, tmp_path):
    # given a representative whose grant covers EU Headquarters (and below), and contacts on both sides
    base = live_server.url
    make_account("boss@example.com", Role.ADMINISTRATORS)
    rep = make_account("rep@example.com", Role.CUSTOMER_SERVICE)
    rep.grants.create(organization=world["EU-HQ"], include_descendants=True, level="manage")
    for first, last, org in (("Erika", "Europa", "EU-MGMT"), ("Ulysses", "Zimmer", "US-SALES")):
        Contact.objects.create(first_name=first, last_name=last).organizations.add(world[org])
    log_in(page, base, "boss@example.com")

    # when the administrator opens the representative's account and asks what it can see
    page.goto(f"{base}/admin/customers/account/{rep.pk}/change/")
    page.get_by_role("link", name=re.compile("What it can see and do")).click()
    expect(page).to_have_url(re.compile(rf"/admin/customers/account/{rep.pk}/scope/$"))

    # then the role's permissions, the one grant with its branch, and the lists as the representative sees them
    expect(page.locator("[data-role=CustomerServiceRepresentatives]")).to_contain_text("Can view contact")
    grants = page.locator("#grant-tree .grant")
    expect(grants).to_have_count(1)
    expect(grants.first).to_contain_text("EU Headquarters")
    expect(grants.first).to_contain_text("manage")
    expect(grants.first.locator(".grant-children")).to_contain_text("EU Management")
    expect(page.locator(".view-as-organization")).to_have_text(["EU Headquarters", "└ EU Management"])
    expect(page.locator(".view-as-contact")).to_have_text(["Erika Europa"])
    expect(page.locator("#account-scope")).not_to_contain_text("US Headquarters")
    expect(page.locator("#account-scope")).not_to_contain_text("Ulysses")
    page.screenshot(path=str(tmp_path / "backoffice-account-scope.png"), full_page=True)

    # and the representative itself, on its own page, sees the same and is told the page is limited to what it sees
    page.context.clear_cookies()
    log_in(page, base, "rep@example.com")
    page.goto(f"{base}/admin/customers/account/{rep.pk}/scope/")
    expect(page.locator(".view-as-organization")).to_have_text(["EU Headquarters", "└ EU Management"])
    expect(page.locator("#scope-note")).to_contain_text("only within what you can see yourself")


def test_variant_options_are_edited_as_named_fields(live_server, world, page: Page):
    # given a catalog manager and a T-shirt in size M
    base = live_server.url
    make_account("cat@example.com", Role.CATALOG_MANAGERS)
    shirt = Product.objects.create(key="TSHIRT", name="T-shirt")
    variant = Variant.objects.create(sku="TS-M", product=shirt, name="T-shirt M", options={"size": "M"})
    log_in(page, base, "cat@example.com")
    page.goto(f"{base}/admin/catalog/variant/{variant.pk}/change/")
    rows = page.locator("#id_options .cb-option-rows .cb-option")
    expect(rows.first.locator(".cb-option-name")).to_have_value("size")

    # when it adds a colour, then a duplicate size, and saves
    page.locator("#id_options .cb-option-add").click()
    rows.nth(2).locator(".cb-option-name").fill("colour")
    rows.nth(2).locator(".cb-option-value").fill("red")
    rows.nth(1).locator(".cb-option-name").fill("Size")
    rows.nth(1).locator(".cb-option-value").fill("L")
    page.click("button[name=_continue]")

    # then the form says what is wrong, and nothing is saved
    expect(page.locator(".errorlist, .text-red-600").filter(has_text="appears twice").first).to_be_visible()
    assert Variant.objects.get(pk=variant.pk).options == {"size": "M"}

    # when it removes the duplicate and saves again
    duplicate = page.locator("#id_options .cb-option").filter(
        has=page.locator(".cb-option-name[value=Size]"))
    duplicate.locator(".cb-option-remove").click()
    page.click("button[name=_continue]")

    # then the options are stored as the same JSON object the API serves
    expect(page.locator("#id_options .cb-option-name").first).to_have_value("size")
    assert Variant.objects.get(pk=variant.pk).options == {"size": "M", "colour": "red"}


def test_an_empty_autocomplete_says_why(live_server, world, page: Page):
    # given a representative of EU Headquarters, and a US contact it cannot see
    base = live_server.url
    rep = make_account("rep@example.com", Role.CUSTOMER_SERVICE)
    rep.grants.create(organization=world["EU-HQ"], include_descendants=True, level="manage")
    log_in(page, base, "rep@example.com")

    # when it looks for a US organization in a contact's organization field
    page.goto(f"{base}/admin/customers/contact/add/")
    page.locator("#id_organizations + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill("US Sales")

    # then the list says why it is empty
    expect(page.locator(".select2-results__message")).to_have_text(
        "Nothing you can pick matches: not found, or not visible to you.")
