"""Issue 8, finding 5: existence leaks. A visible object may refer to an
invisible one by id only — never by name, key, price or count — in the API
and the back office; a filter by an invisible id answers like one by a
nonexistent id.

The representative (`csr`) sees EU Headquarters and below; US Headquarters >
US Sales and their contacts do not exist for it.
"""

import uuid
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from clientbase.customers.models import Contact
from clientbase.pricing.models import PriceRow
from tests.pricing.conftest import catalog, price  # noqa: F401  (fixtures)

US_NAMES = ["US Sales", "US-SALES", "US Headquarters", "US-HQ"]
HIDDEN_PRICE = "777.77"  # a figure no timestamp or id can hold


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(world):
    """Ann (EU Management), Carl (US Sales, invisible to the csr), Dana (in
    both: visible, through EU Management), Hugo (US Sales, no key)."""
    def make(first, key, *orgs):
        contact = Contact.objects.create(first_name=first, last_name="Leak", key=key)
        contact.organizations.set([world[o] for o in orgs])
        return contact

    return {
        "ann": make("Ann", "C-ANN", "EU-MGMT"),
        "carl": make("Carl", "C-CARL", "US-SALES"),
        "dana": make("Dana", "C-DANA", "EU-MGMT", "US-SALES"),
        "hugo": make("Hugo", None, "US-SALES"),
    }


@pytest.fixture
def prices(price, people):
    """Everyone's price, Ann's own, and the hidden customers' own."""
    return {
        "all": price("TS-M", "20.00"),
        "ann": price("TS-M", "15.00", sale_type="customer", sale_code="C-ANN"),
        "carl": price("TS-M", HIDDEN_PRICE, sale_type="customer", sale_code="C-CARL"),
        "hugo": price("TS-M", "666.66", sale_type="customer", sale_code=str(people["hugo"].pk)),
    }


def as_client(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


def assert_no_trace(body: bytes | str, *secrets: str) -> None:
    text = body.decode() if isinstance(body, bytes) else body
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked"


def hidden_price_secrets(people) -> list[str]:
    return ["C-CARL", HIDDEN_PRICE, str(people["hugo"].pk), "666.66"]


# --- effective groups ------------------------------------------------------------


@pytest.fixture
def dana_groups(world, people):
    """Dana gets Gold from US Sales and Silver from its ancestor US HQ."""
    world["US-SALES"].customer_groups.add(world["GOLD"])
    world["US-HQ"].customer_groups.add(world["SILVER"])
    world["EU-MGMT"].customer_groups.add(world["BRONZE"])
    return people["dana"]


def test_effective_groups_name_no_organization_the_caller_cannot_see(caller, dana_groups, world):
    # when
    response = caller("csr").get(f"/contacts/{dana_groups.pk}/effective-groups")

    # then: the groups are there, their invisible sources by id only
    assert response.status_code == 200, response.content
    assert_no_trace(response.content, *US_NAMES)
    groups = {item["group"]["key"]: item for item in response.json()["items"]}
    assert {"GOLD", "SILVER", "BRONZE", "CUSTOMERS"} <= set(groups)
    gold_step = groups["GOLD"]["paths"][0][0]
    assert gold_step == {"kind": "organization", "id": str(world["US-SALES"].pk),
                         "name": "an organization you cannot see", "key": None, "via": None}
    assert "EU Management" in groups["BRONZE"]["reasons"][0]


def test_effective_groups_still_name_everything_for_an_administrator(admin_api, dana_groups):
    response = admin_api.get(f"/contacts/{dana_groups.pk}/effective-groups")
    assert "US Sales" in response.content.decode()
    assert "US Headquarters, an ancestor of organization US Sales" in response.content.decode()


def test_the_contact_page_names_no_organization_the_caller_cannot_see(accounts, dana_groups):
    # when
    response = as_client(accounts["csr"]).get(
        reverse("admin:customers_contact_change", args=[dana_groups.pk]))

    # then
    assert response.status_code == 200
    assert_no_trace(response.content, *US_NAMES)
    assert "an organization you cannot see" in response.content.decode()
    assert "EU Management" in response.content.decode()


def test_the_read_only_contact_page_lists_only_the_organizations_the_caller_sees(accounts, people, world):
    # given: a representative who may only view EU Headquarters and below
    from clientbase.customers.models import Grant, Role
    from tests.conftest import make_account

    viewer = make_account("viewer@example.com", Role.CUSTOMER_SERVICE)
    Grant.objects.create(account=viewer, organization=world["EU-HQ"], include_descendants=True, level="view")

    # when
    response = as_client(viewer).get(reverse("admin:customers_contact_change", args=[people["dana"].pk]))

    # then
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert "EU Management" in response.content.decode()
    assert_no_trace(response.content, *US_NAMES)


def test_the_contact_history_names_only_the_organizations_the_caller_sees(accounts, people, world):
    # given: Dana's memberships changed through the service, so history holds both
    from clientbase.customers.services.contacts import update_contact

    dana = people["dana"]
    update_contact(dana, actor=None, changes={}, organizations=[world["EU-MGMT"]])
    update_contact(dana, actor=None, changes={}, organizations=[world["EU-MGMT"], world["US-SALES"]])

    # when
    mine = as_client(accounts["csr"]).get(reverse("admin:customers_contact_history", args=[dana.pk]))
    everything = as_client(accounts["admin"]).get(reverse("admin:customers_contact_history", args=[dana.pk]))

    # then
    assert mine.status_code == everything.status_code == 200
    assert_no_trace(mine.content, *US_NAMES)
    assert "EU Management" in mine.content.decode()
    assert "organizations you cannot see" in mine.content.decode()
    assert "US Sales" in everything.content.decode()


def test_the_page_of_a_grant_root_names_no_parent_the_caller_cannot_see(accounts, world):
    # given: the representative's grant starts at EU Headquarters, under Administration
    url = reverse("admin:customers_organization_change", args=[world["EU-HQ"].pk])

    # when
    mine = as_client(accounts["csr"]).get(url)
    everything = as_client(accounts["admin"]).get(url)

    # then
    assert mine.status_code == 200
    assert_no_trace(mine.content, "Administration")
    assert "an organization you cannot see" in mine.content.decode()
    assert "Administration" in everything.content.decode()


# --- price rows through the API -----------------------------------------------


def test_the_price_list_hides_rows_of_contacts_the_caller_cannot_see(caller, prices, people):
    response = caller("csr").get("/prices", limit=500)
    assert response.status_code == 200
    ids = {item["id"] for item in response.json()["items"]}
    assert ids == {str(prices["all"].pk), str(prices["ann"].pk)}
    assert_no_trace(response.content, *hidden_price_secrets(people))


def test_an_administrator_lists_every_price_row(admin_api, prices):
    ids = {item["id"] for item in admin_api.get("/prices", limit=500).json()["items"]}
    assert ids == {str(row.pk) for row in prices.values()}


def test_the_visible_price_rows_are_one_query(accounts, prices, django_assert_num_queries):
    csr = accounts["csr"]
    list(PriceRow.objects.visible_to(csr))  # the account's grants and roles, once per request
    with django_assert_num_queries(1):
        rows = list(PriceRow.objects.visible_to(csr))
    assert {row.pk for row in rows} == {prices["all"].pk, prices["ann"].pk}


@pytest.mark.parametrize("code", ["C-CARL", "hugo", "C-NOBODY"])
def test_filtering_prices_by_an_invisible_sale_code_answers_like_nobody(caller, prices, people, code):
    code = str(people["hugo"].pk) if code == "hugo" else code
    response = caller("csr").get("/prices", sale_code=code)
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


def test_a_hidden_price_row_is_404_like_a_nonexistent_one(caller, prices):
    csr = caller("csr")
    hidden = csr.get(f"/prices/{prices['carl'].pk}")
    missing = csr.get(f"/prices/{uuid.uuid4()}")
    assert hidden.status_code == missing.status_code == 404
    assert_no_trace(hidden.content, "C-CARL", HIDDEN_PRICE)
    assert csr.patch(f"/prices/{prices['carl'].pk}", {"unit_price": "1.00"}).status_code == 404
    assert csr.delete(f"/prices/{prices['carl'].pk}").status_code == 404
    assert PriceRow.objects.get(pk=prices["carl"].pk).unit_price == Decimal(HIDDEN_PRICE)


def test_explain_lists_no_candidate_of_a_contact_the_caller_cannot_see(caller, prices, people):
    # when
    response = caller("csr").get("/prices/explain", sku="TS-M", contact="C-ANN", market="EU")

    # then: Ann's own price still wins; other customers' rows are not shown
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["unit_price"] == "15.00"
    assert {c["price"]["id"] for c in body["candidates"]} == {str(prices["all"].pk), str(prices["ann"].pk)}
    assert_no_trace(response.content, *hidden_price_secrets(people))


def test_explain_for_an_administrator_lists_every_candidate(admin_api, prices):
    body = admin_api.get("/prices/explain", sku="TS-M", contact="C-ANN", market="EU").json()
    assert len(body["candidates"]) == 4


def test_a_price_of_a_contact_visible_through_any_of_its_organizations_is_listed(
        caller, price, people):
    # given: Dana (visible to the csr through EU Management) has her own price
    dana_row = price("TS-M", "5.00", sale_type="customer", sale_code="C-DANA")
    # and Bob (EU HQ, no key) has one under his id
    bob = Contact.objects.create(first_name="Bob", last_name="Leak")
    bob.organizations.add(people["ann"].organizations.get())
    bob_row = price("TS-M", "4.00", sale_type="customer", sale_code=str(bob.pk))

    # then the csr sees both
    ids = {item["id"] for item in caller("csr").get("/prices").json()["items"]}
    assert {str(dana_row.pk), str(bob_row.pk)} <= ids


# --- price rows in the back office ----------------------------------------------


def test_the_price_row_changelist_hides_rows_of_invisible_contacts(accounts, prices, people):
    client = as_client(accounts["csr"])
    url = reverse("admin:pricing_pricerow_changelist")
    listing = client.get(url)
    assert listing.status_code == 200
    assert "15.00" in listing.content.decode()
    assert_no_trace(listing.content, *hidden_price_secrets(people))
    # a search by the hidden sale code finds what one naming nobody finds
    searched = client.get(url, {"q": "C-CARL"})
    assert list(searched.context["cl"].result_list) == []
    assert_no_trace(searched.content, HIDDEN_PRICE)


def test_a_hidden_price_rows_page_answers_like_a_nonexistent_one(accounts, prices):
    client = as_client(accounts["csr"])
    hidden = client.get(reverse("admin:pricing_pricerow_change", args=[prices["carl"].pk]))
    missing = client.get(reverse("admin:pricing_pricerow_change", args=[uuid.uuid4()]))
    assert hidden.status_code == missing.status_code
    assert hidden.status_code in (302, 404)
    assert_no_trace(hidden.content, "C-CARL", HIDDEN_PRICE)


def test_a_hidden_price_rows_history_answers_like_a_nonexistent_one(accounts, prices):
    client = as_client(accounts["csr"])
    hidden = client.get(reverse("admin:pricing_pricerow_history", args=[prices["carl"].pk]))
    missing = client.get(reverse("admin:pricing_pricerow_history", args=[uuid.uuid4()]))
    assert hidden.status_code == missing.status_code == 404
    record = PriceRow.history.filter(id=prices["carl"].pk).first()
    form = client.get(reverse("admin:pricing_pricerow_simple_history",
                              args=[prices["carl"].pk, record.history_id]))
    assert form.status_code == 404
    assert_no_trace(hidden.content + form.content, "C-CARL", HIDDEN_PRICE)
    # the visible rows' history stays readable
    assert client.get(reverse("admin:pricing_pricerow_history", args=[prices["ann"].pk])).status_code == 200


def test_the_variant_price_grid_hides_rows_of_invisible_contacts(accounts, prices, catalog, people):
    client = as_client(accounts["csr"])
    page = client.get(reverse("admin:catalog_variant_change", args=[catalog["TS-M"].pk]))
    assert page.status_code == 200
    assert "C-ANN" in page.content.decode()
    assert_no_trace(page.content, *hidden_price_secrets(people))


def test_the_variant_preview_hides_rows_of_invisible_contacts(accounts, prices, catalog, people):
    client = as_client(accounts["csr"])
    page = client.get(reverse("admin:pricing_variant_preview", args=[catalog["TS-M"].pk]),
                      {"market": "EU", "quantity": "1", "contact": str(people["ann"].pk)})
    assert page.status_code == 200
    assert "15.00" in page.content.decode()
    assert_no_trace(page.content, *hidden_price_secrets(people))


def test_the_variant_preview_still_shows_everything_to_an_administrator(accounts, prices, catalog, people):
    page = as_client(accounts["admin"]).get(
        reverse("admin:pricing_variant_preview", args=[catalog["TS-M"].pk]),
        {"market": "EU", "quantity": "1", "contact": str(people["ann"].pk)})
    assert "C-CARL" in page.content.decode()


# --- filtering contacts by an invisible organization -----------------------------


def test_filtering_contacts_by_an_invisible_organization_answers_like_a_nonexistent_one(
        accounts, people, world):
    client = as_client(accounts["csr"])
    url = reverse("admin:customers_contact_changelist")

    hidden = client.get(url, {"organizations__id__exact": str(world["US-SALES"].pk)})
    missing = client.get(url, {"organizations__id__exact": str(uuid.uuid4())})

    assert hidden.status_code == missing.status_code == 200
    # Dana is visible, but listing her here would tell she is in US Sales.
    for name in ["Carl", "Dana", "Hugo"]:
        assert name not in hidden.content.decode()
    assert hidden.context["cl"].result_count == missing.context["cl"].result_count == 0


def test_filtering_contacts_by_a_visible_organization_still_lists_its_contacts(accounts, people, world):
    client = as_client(accounts["csr"])
    response = client.get(reverse("admin:customers_contact_changelist"),
                          {"organizations__id__exact": str(world["EU-MGMT"].pk)})
    assert {c.first_name for c in response.context["cl"].result_list} == {"Ann", "Dana"}


# --- naming an invisible contact in a new price row --------------------------------


@pytest.mark.parametrize("who", ["csr_with_prices", "catalog_manager"])
def test_a_customer_price_for_an_invisible_contact_is_refused_like_one_for_nobody(
        catalog, people, accounts, who):
    # given: staff who may write prices but not see Carl
    from django.contrib.auth.models import Permission
    from clientbase.customers.models import Account, Role
    from tests.conftest import ApiClient, make_account
    if who == "catalog_manager":
        account = make_account("cm@example.com", Role.CATALOG_MANAGERS)
    else:
        account = accounts["csr"]
        account.user_permissions.add(*Permission.objects.filter(
            codename__in=["add_pricerow", "change_pricerow"]))
    account = Account.objects.get(pk=account.pk)
    api = ApiClient(as_client(account), account)

    def create(code):
        return api.post("/prices", {"variant": "TS-M", "market": "EU", "sale_type": "customer",
                                    "sale_code": code, "unit_price": "1.00"})

    # when
    hidden, nobody = create("C-CARL"), create("C-NOBODY")

    # then
    assert hidden.status_code == nobody.status_code == 422
    assert hidden.json()["detail"].replace("C-CARL", "X") == nobody.json()["detail"].replace("C-NOBODY", "X")
    assert not PriceRow.objects.filter(sale_code="C-CARL").exists()


def test_the_back_office_price_form_refuses_an_invisible_contact_like_a_nonexistent_one(
        catalog, people, accounts):
    from django.contrib.auth.models import Permission
    from clientbase.customers.models import Account
    csr = accounts["csr"]
    csr.user_permissions.add(*Permission.objects.filter(codename__in=["add_pricerow"]))
    client = as_client(Account.objects.get(pk=csr.pk))

    def add(code):
        return client.post(reverse("admin:pricing_pricerow_add"), {
            "variant": str(catalog["TS-M"].pk), "market": str(catalog["EU"].pk), "currency": "EUR",
            "sale_type": "customer", "sale_code": code, "min_quantity": "0", "unit_price": "1.00"})

    hidden, nobody = add("C-CARL"), add("C-NOBODY")
    assert hidden.status_code == nobody.status_code == 200  # the form again, with its error
    assert "No contact with key or id &#x27;C-CARL&#x27;" in hidden.content.decode()
    assert not PriceRow.objects.filter(sale_code="C-CARL").exists()
    assert add("C-ANN").status_code == 302


# --- counts in refusals ----------------------------------------------------------------


@pytest.fixture
def market_deleter(accounts):
    """The representative, allowed to delete markets and price rows."""
    from django.contrib.auth.models import Permission

    csr = accounts["csr"]
    csr.user_permissions.add(*Permission.objects.filter(codename__in=["delete_market", "delete_pricerow"]))
    return as_client(csr)


def test_refusing_to_delete_a_market_counts_only_the_rows_the_caller_sees(market_deleter, prices, catalog):
    # when: the market has four rows; two of them are hidden customers' (Carl's, Hugo's)
    response = market_deleter.delete(f"/api/v1/markets/{catalog['EU'].pk}")

    # then
    assert response.status_code == 409
    assert "2 price row(s) and others use market EU" in response.json()["detail"]
    assert "4" not in response.json()["detail"]


def test_the_back_office_counts_only_the_rows_the_caller_sees(market_deleter, prices, catalog):
    # when
    url = reverse("admin:catalog_market_delete", args=[catalog["EU"].pk])
    refused = market_deleter.get(url, follow=True)
    confirm = market_deleter.get(url + "?with_prices=1", follow=True)

    # then
    assert "2 price row(s) and others use it" in refused.content.decode()
    assert "4 price row(s)" not in refused.content.decode()
    assert "is used by 2 price row(s) and others" in confirm.content.decode()


def test_an_administrator_gets_the_whole_count(admin_api, prices, catalog):
    response = admin_api.delete(f"/markets/{catalog['EU'].pk}")
    assert "4 price row(s) use market EU" in response.json()["detail"]
