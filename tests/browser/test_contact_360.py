"""The contact 360 page in Chromium: an administrator sees a contact's
organizations with their paths, its effective groups with the path of
each and its orders; invites a contact without an account, whose link sets
a password that logs in at the storefront; a customer-service account whose
grant covers EU Headquarters only gets a 404 for a US contact. The page's
screenshot is saved in the test's tmp_path (docs/images has a copy)."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from clientbase.customers.models import Account, Contact, Grant, Role
from clientbase.shopping.services import carts
from clientbase.shopping.services.orders import checkout
from tests.browser.conftest import log_in
from tests.browser.test_storefront import add_prices
from tests.conftest import make_account
from tests.pricing import conftest as pricing_fixtures

catalog = pricing_fixtures.catalog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADDRESS = {"first_name": "Anna", "last_name": "Schmidt", "line1": "Hauptstr. 1", "line2": "",
           "city": "Berlin", "postcode": "10115", "country": "DE"}
NEW_PASSWORD = "Chosen-by-Bea-2026"


def open_tab(page: Page, name: str) -> None:
    page.locator("a").filter(has_text=re.compile(rf"^\s*{name}\s*$")).click()


def test_an_administrator_reads_a_contact_360_and_invites_a_contact(live_server, world, catalog, page: Page,
                                                                     tmp_path):
    # given: Anna in EU Management and US Sales, Gold through EU Headquarters, with an order
    base = live_server.url
    add_prices(catalog)
    world["EU-HQ"].customer_groups.set([world["GOLD"]])
    anna = Contact.objects.create(first_name="Anna", last_name="Schmidt", email="anna@example.com")
    anna.organizations.set([world["EU-MGMT"], world["US-SALES"]])
    shopper = make_account("anna@example.com", Role.REGISTERED, contact=anna)
    cart = carts.cart_for_account(shopper, market=catalog["EU"])
    carts.add_line(cart, "TS-M", 2)
    order = checkout(cart, shipping=ADDRESS, billing=ADDRESS)
    make_account("boss@example.com", Role.ADMINISTRATORS)
    log_in(page, base, "boss@example.com")

    # when the administrator opens her page
    page.goto(f"{base}/admin/customers/contact/{anna.pk}/change/")

    # then: her organizations with their paths, and each effective group with its path
    organizations = page.locator("#c360-organizations")
    expect(organizations).to_contain_text("Administration › EU Headquarters › EU Management")
    expect(organizations).to_contain_text("US Headquarters › US Sales")
    gold = page.locator("#c360-groups tr[data-key=GOLD]")
    expect(gold).to_contain_text("via EU Headquarters, an ancestor of organization EU Management")
    expect(page.locator("#c360-groups tr[data-key=CUSTOMERS]")).to_contain_text("via parent group of Gold")
    page.screenshot(path=str(tmp_path / "backoffice-contact-360.png"), full_page=True)
    # on a tablet the tabs stay in reach and the paths readable
    page.set_viewport_size({"width": 820, "height": 1180})
    expect(organizations).to_be_visible()
    expect(page.locator("a").filter(has_text=re.compile(r"^\s*Orders and carts\s*$"))).to_be_visible()
    page.screenshot(path=str(tmp_path / "backoffice-contact-360-tablet.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})

    # and her order, with its lines, in the "Orders and carts" tab
    open_tab(page, "Orders and carts")
    row = page.locator(f"#c360-orders details[data-number='{order.number}']")
    expect(row).to_contain_text("Placed")
    row.locator("summary").click()
    expect(row).to_contain_text("TS-M")

    # and the price of a SKU, explained
    open_tab(page, "Prices")
    page.fill("#c360-sku", "TS-M")
    page.click("#c360-preview-submit")
    expect(page.locator("#c360-preview-result")).to_contain_text("TS-M in EU")
    expect(page.locator("#c360-candidates")).to_contain_text("wins")
    page.screenshot(path=str(tmp_path / "backoffice-contact-360-prices.png"), full_page=True)

    # when: Bea, without an account, is invited
    bea = Contact.objects.create(first_name="Bea", last_name="Berg", email="bea@example.com")
    bea.organizations.set([world["EU-HQ"]])
    page.goto(f"{base}/admin/customers/contact/{bea.pk}/change/")
    page.get_by_role("link", name="Invite to create an account").click()
    expect(page.locator("#contact-action-explanation")).to_contain_text("bea@example.com")
    page.locator("#contact-action-form").get_by_role("button", name="Invite to create an account").click()
    expect(page.get_by_text("Invitation sent to bea@example.com.")).to_be_visible()

    # then: the link in the mail opens a page that sets her password
    [sent] = mail.outbox
    link = re.search(r"http://\S+(/account/invitation/\S+/)", sent.body)[1]
    page.context.clear_cookies()
    page.goto(f"{base}{link}")
    page.fill("#id_password", NEW_PASSWORD)
    page.fill("#id_password_again", NEW_PASSWORD)
    page.get_by_role("button", name="Set the password").click()

    # and with it she logs in at the storefront
    expect(page).to_have_url(re.compile(r"/account/login/"))
    page.fill("#id_username", "bea@example.com")
    page.fill("#id_password", NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    assert Account.objects.get(contact=bea).is_active

    # and the link does not work a second time
    response = page.goto(f"{base}{link}")
    assert response.status == 400
    expect(page.locator("body")).to_contain_text("does not work any more")


def test_customer_service_for_eu_headquarters_gets_a_404_for_a_us_contact(live_server, world, page: Page):
    rep = make_account("rep@example.com", Role.CUSTOMER_SERVICE)
    Grant.objects.create(account=rep, organization=world["EU-HQ"], include_descendants=True, level="manage")
    eu = Contact.objects.create(first_name="Eva", last_name="Eu", email="eva@example.com")
    eu.organizations.set([world["EU-MGMT"]])
    us = Contact.objects.create(first_name="Ulf", last_name="Us", email="ulf@example.com")
    us.organizations.set([world["US-SALES"]])
    log_in(page, live_server.url, "rep@example.com")

    page.goto(f"{live_server.url}/admin/customers/contact/{eu.pk}/change/")
    expect(page.locator("#c360-organizations")).to_contain_text("EU Headquarters › EU Management")
    for path in ("change", "invite"):
        response = page.goto(f"{live_server.url}/admin/customers/contact/{us.pk}/{path}/")
        assert response.status == 404
