"""A variant's prices in a real browser: a customer-service representative
opens a variant, reads its price grid and previews the price as a Gold
contact (chosen through the autocomplete) and as an anonymous visitor."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from clientbase.catalog.models import Market
from clientbase.customers.models import Contact, Grant, Role
from clientbase.pricing.models import PriceRow
from tests.browser.conftest import log_in
from tests.conftest import make_account
from tests.pricing.conftest import catalog  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



def add_prices(catalog) -> None:
    def row(unit_price: str, **fields) -> None:
        PriceRow.objects.create(variant=catalog["TS-M"], market=catalog["EU"], currency="EUR",
                                unit_price=Decimal(unit_price), **fields)

    row("20.00")
    row("18.00", min_quantity=Decimal(10))
    row("15.00", sale_type="customer_group", sale_code="GOLD")
    row("17.00", sale_type="customer_group", sale_code="SILVER")
    PriceRow.objects.create(product=catalog["TSHIRT"], market=catalog["US"], currency="USD",
                            unit_price=Decimal("25.00"))


def test_a_representative_reads_the_grid_and_previews_prices(
        live_server, transactional_db, world, catalog, page: Page, tmp_path):
    # given
    base = live_server.url
    add_prices(catalog)
    csr = make_account("rep@example.com", Role.CUSTOMER_SERVICE)
    Grant.objects.create(account=csr, organization=world["EU-HQ"], include_descendants=True, level="view")
    gina = Contact.objects.create(first_name="Gina", last_name="Goldberg", email="gina@example.com")
    gina.organizations.add(world["EU-MGMT"])
    gina.customer_groups.add(world["GOLD"])
    hidden = Contact.objects.create(first_name="Gil", last_name="Goldsmith", key="US-GIL")
    hidden.organizations.add(world["US-SALES"])
    hidden.customer_groups.add(world["GOLD"])
    log_in(page, base, "rep@example.com")

    # when: the representative opens the variant
    page.goto(f"{base}/admin/catalog/variant/{catalog['TS-M'].pk}/change/")

    # then: the grid has a line per sale type and code, a column per quantity break
    grid = page.locator("#price-grid")
    expect(grid).to_be_visible()
    everyone = grid.locator("tr[data-level=variant][data-sale-type=all_customers]")
    expect(everyone.locator("td[data-quantity='0']")).to_have_text("20.00")
    expect(everyone.locator("td[data-quantity='1']")).to_have_text("18.00")
    expect(grid.locator("tr[data-sale-code=GOLD] td[data-quantity='0']")).to_have_text("15.00")
    expect(grid.locator("tr[data-level=product]")).to_contain_text("25.00")
    page.screenshot(path=str(tmp_path / "variant.png"), full_page=True)

    # when: a preview as Gina, chosen through the autocomplete (Gil is not offered)
    page.locator("#id_contact + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill("g")
    options = page.locator(".select2-results__option")
    expect(options.first).to_contain_text("Gina Goldberg")
    expect(options).to_have_count(1)
    options.first.click()
    page.click("#preview-submit")

    # then: the Gold price, and why
    expect(page.locator("#resolved-price")).to_have_text("15.00 EUR")
    explain = page.locator("#explain-table")
    expect(explain.locator("tr[data-wins=yes]")).to_contain_text("GOLD")
    expect(explain).to_contain_text("contact not in group SILVER")
    expect(explain).to_contain_text("quantity below 10")
    page.screenshot(path=str(tmp_path / "preview-gold.png"), full_page=True)

    # when: anonymous, for 12 pieces
    page.locator("#id_contact + .select2 .select2-selection__clear").click()
    page.fill("#id_quantity", "12")
    page.click("#preview-submit")

    # then: the all-customers price from 10
    expect(page.locator("#resolved-price")).to_have_text("18.00 EUR")
    expect(page.locator("#preview-result h2")).to_contain_text("anonymous")

    # when: a contact outside the representative's grant is asked for by key
    page.goto(f"{base}/admin/pricing/pricerow/variant/{catalog['TS-M'].pk}/preview/"
              "?market=EU&quantity=1&contact=US-GIL")

    # then: it does not exist for the representative
    expect(page.locator("#contact-errors")).to_contain_text("not found, or not visible to you")
    expect(page.locator("#resolved-price")).to_have_count(0)

    # and the "prices as this contact" page lists Gina's price of every variant
    page.goto(f"{base}/admin/pricing/pricerow/preview/?contact={gina.pk}")
    expect(page.locator("tr[data-sku=TS-M]")).to_contain_text("15.00 EUR")
    expect(page.locator("tr[data-sku=TS-S]")).to_contain_text("no price")
    page.screenshot(path=str(tmp_path / "contact-prices.png"), full_page=True)


def test_a_catalog_manager_adds_a_price_from_the_grid_and_sees_errors_on_the_fields(
        live_server, transactional_db, world, catalog, page: Page, tmp_path):
    # given
    base = live_server.url
    add_prices(catalog)
    make_account("catalog@example.com", Role.CATALOG_MANAGERS)
    log_in(page, base, "catalog@example.com")
    page.goto(f"{base}/admin/catalog/variant/{catalog['TS-M'].pk}/change/")

    # when: "Add a price" with a price in USD for the EU market, three decimals,
    # and a group that does not exist
    page.click("#add-price")
    expect(page).to_have_url(re.compile(r"/admin/pricing/pricerow/add/\?variant="))
    page.locator("#id_market + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill("EU")
    page.locator(".select2-results__option", has_text="Europe").first.click()
    page.fill("#id_currency", "USD")
    page.select_option("#id_sale_type", "customer_group")
    page.fill("#id_sale_code", "PLATINUM")
    page.fill("#id_min_quantity", "5")
    page.fill("#id_unit_price", "12.345")
    page.click("button[name=_save]")

    # then: each error on its field, nothing saved
    form = page.locator("#pricerow_form")
    expect(form).to_contain_text("Market EU sells in EUR, not USD.")
    expect(form).to_contain_text("No customer group 'PLATINUM'.")
    expect(form).to_contain_text("USD prices have at most 2 decimal(s).")
    assert PriceRow.objects.count() == 5
    page.screenshot(path=str(tmp_path / "price-errors.png"), full_page=True)

    # when: corrected
    page.fill("#id_currency", "EUR")
    page.fill("#id_sale_code", "GOLD")
    page.fill("#id_unit_price", "14.50")
    page.click("button[name=_save]")

    # then: saved, and the grid shows it in a new "from 5" column
    expect(page).to_have_url(re.compile(r"/admin/pricing/pricerow/$"))
    row = PriceRow.objects.get(min_quantity=5)
    assert (row.variant, row.currency, row.sale_code, row.unit_price) == (
        catalog["TS-M"], "EUR", "GOLD", Decimal("14.50"))
    page.goto(f"{base}/admin/catalog/variant/{catalog['TS-M'].pk}/change/")
    expect(page.locator("#price-grid th[data-quantity='5']")).to_be_visible()

    # and deleting the EU market is refused with the count
    page.goto(f"{base}/admin/catalog/market/{catalog['EU'].pk}/delete/")
    expect(page.get_by_text("5 price row(s) use it")).to_be_visible()
    page.screenshot(path=str(tmp_path / "market-delete.png"), full_page=True)
    assert Market.objects.filter(key="EU").exists()

    # unless asked explicitly to delete its price rows too
    page.click("#delete-with-prices")
    page.click("#confirm-delete-with-prices")
    expect(page).to_have_url(re.compile(r"/admin/catalog/market/$"))
    expect(page.get_by_text("Deleted market EU and 5 price row(s).")).to_be_visible()
    assert not Market.objects.filter(key="EU").exists()
    assert PriceRow.objects.count() == 1
