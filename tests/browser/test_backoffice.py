"""The back office in a real browser: an administrator builds part of the
tree and a contact, a customer-service representative finds only what its
grant covers."""

import re

import pytest
from playwright.sync_api import Page, expect

from clientbase.customers.models import Contact, Organization, Role
from tests.browser.conftest import log_in
from tests.conftest import make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



def pick_autocomplete(page: Page, field: str, term: str, choice: str) -> None:
    """Choose `choice` in the select2 autocomplete of form field `field`."""
    page.locator(f"#id_{field} + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill(term)
    page.locator(".select2-results__option", has_text=choice).first.click()


def search_contacts(page: Page, base_url: str, term: str) -> None:
    page.goto(f"{base_url}/admin/customers/contact/")
    page.fill("input[name=q]", term)
    page.press("input[name=q]", "Enter")
    expect(page).to_have_url(re.compile(r"\?q="))


def test_an_admin_builds_an_organization_and_a_contact_that_only_the_right_people_see(
        live_server, transactional_db, world, page: Page, browser):
    base = live_server.url
    make_account("boss@example.com", Role.ADMINISTRATORS)
    csr = make_account("rep@example.com", Role.CUSTOMER_SERVICE)
    csr.grants.create(organization=world["EU-HQ"], include_descendants=True, level="manage")
    us_contact = Contact.objects.create(first_name="Ulysses", last_name="Zimmer",
                                        email="ulysses@example.com")
    us_contact.organizations.add(world["US-SALES"])

    # an administrator logs in through the form
    log_in(page, base, "boss@example.com")

    # creates EU Sales under EU Headquarters
    page.goto(f"{base}/admin/customers/organization/add/")
    page.fill("#id_name", "EU Sales")
    page.fill("#id_key", "EU-SALES")
    pick_autocomplete(page, "parent", "EU Head", "EU Headquarters")
    page.click("button[name=_save]")
    expect(page).to_have_url(re.compile(r"/admin/customers/organization/$"))
    eu_sales = Organization.objects.get(key="EU-SALES")
    assert eu_sales.parent_id == world["EU-HQ"].pk
    expect(page.get_by_text("EU Sales", exact=False).first).to_be_visible()

    # creates a contact in it
    page.goto(f"{base}/admin/customers/contact/add/")
    page.fill("#id_first_name", "Zelda")
    page.fill("#id_last_name", "Zimmermann")
    page.fill("#id_email", "zelda@example.com")
    pick_autocomplete(page, "organizations", "EU Sa", "EU Sales")
    page.click("button[name=_save]")
    expect(page).to_have_url(re.compile(r"/admin/customers/contact/$"))
    zelda = Contact.objects.get(email="zelda@example.com")
    assert list(zelda.organizations.all()) == [eu_sales]

    # finds both Zimmer* contacts by a name prefix
    search_contacts(page, base, "zimm")
    results = page.locator("#result_list")
    expect(results).to_contain_text("Zelda Zimmermann")
    expect(results).to_contain_text("Ulysses Zimmer")

    # the representative sees the EU contact, not the US one
    rep_page = browser.new_context().new_page()
    log_in(rep_page, base, "rep@example.com")
    search_contacts(rep_page, base, "zimm")
    results = rep_page.locator("#result_list")
    expect(results).to_contain_text("Zelda Zimmermann")
    expect(results).not_to_contain_text("Ulysses")
    response = rep_page.goto(f"{base}/admin/customers/contact/{us_contact.pk}/change/")
    assert response.status == 404
    rep_page.context.close()


def test_a_wrong_password_keeps_the_login_form(live_server, transactional_db, page: Page):
    make_account("boss@example.com", Role.ADMINISTRATORS)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "boss@example.com")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit], input[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    expect(page.locator("body")).to_contain_text("correct")
