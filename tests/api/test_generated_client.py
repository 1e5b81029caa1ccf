"""A Python client generated from /api/v1/openapi.json by openapi-python-client
works against the running API: its method names are the operation ids, it
passes back the UUIDs it is given, it reads ETags and sends If-Match, and it
gets decimals as strings.

The generator runs once per test session (per xdist worker) into a temporary
directory; the scenario runs over HTTP against pytest-django's live server.
"""

import importlib
import json
import subprocess
import sys
from uuid import UUID

import pytest
from django.test import Client

from clientbase.customers.models import ApiToken

pytestmark = pytest.mark.django_db(transaction=True)

PACKAGE = "clientbase_api_client"


@pytest.fixture(scope="session")
def generated(tmp_path_factory, django_db_setup, django_db_blocker):
    """The generated package, imported."""
    root = tmp_path_factory.mktemp("generated-client")
    with django_db_blocker.unblock():
        response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    (root / "openapi.json").write_text(json.dumps(response.json()))
    # No post hooks: the generator would otherwise run ruff over the output.
    (root / "config.yaml").write_text("post_hooks: []\n")
    result = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(root / "openapi.json"),
         "--meta", "none", "--output-path", str(root / PACKAGE), "--config", str(root / "config.yaml")],
        capture_output=True, text=True, timeout=300,
    )
    # The generator reports what it could not model as warnings, and still exits 0.
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(root))
    try:
        package = importlib.import_module(PACKAGE)
        yield package
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def module(name: str):
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture
def api(generated, live_server, accounts):
    _, raw = ApiToken.issue(accounts["admin"])
    with generated.AuthenticatedClient(base_url=live_server.url, token=raw,
                                       raise_on_unexpected_status=True) as client:
        yield client


def test_the_generated_client_names_its_calls_after_the_operation_ids(generated):
    for name in ["contacts.list_contacts", "contacts.create_contact", "contacts.get_contact",
                 "contacts.update_contact", "contacts.delete_contact", "contacts.contact_effective_groups",
                 "organizations.move_organization", "organizations.organization_tree",
                 "prices.resolve_price", "prices.explain_price", "prices.resolve_prices"]:
        assert callable(module(f"api.{name}").sync_detailed), name


def test_a_scenario_through_the_generated_client(api, world):
    models = module("models")
    orgs, groups, contacts = (module(f"api.{n}") for n in ("organizations", "customer_groups", "contacts"))

    # an organization under EU Headquarters, and a customer group under Gold:
    # each parent named by the id the API gave out, passed on as a UUID
    eu_hq = module("api.organizations.get_organization").sync(client=api, ident="EU-HQ")
    gold = module("api.customer_groups.get_customer_group").sync(client=api, ident="GOLD")
    assert isinstance(eu_hq.id, UUID) and isinstance(gold.id, UUID)
    created = module("api.organizations.create_organization").sync_detailed(
        client=api, body=models.OrganizationIn(name="Nordics", key="NORDICS", parent=eu_hq.id))
    assert created.status_code == 201 and created.headers["ETag"] == f'"{created.parsed.version}"'
    nordics = created.parsed
    assert nordics.parent == eu_hq.id
    platinum = module("api.customer_groups.create_customer_group").sync(
        client=api, body=models.CustomerGroupIn(key="PLATINUM", name="Platinum", parent=gold.id))
    assert platinum.parent == gold.id

    # a contact in both
    contact = module("api.contacts.create_contact").sync(client=api, body=models.ContactIn(
        first_name="Astrid", last_name="Lindqvist", email="astrid@example.com", preferred_currency="SEK",
        organizations=[nordics.id], customer_groups=[platinum.id],
        addresses=[models.AddressIn(line1="Drottninggatan 1", city="Stockholm", country="SE")]))
    assert isinstance(contact, models.ContactOut), contact
    assert (contact.organizations, contact.customer_groups) == ([nordics.id], [platinum.id])

    # read it back with its ETag, change it with If-Match
    read = module("api.contacts.get_contact").sync_detailed(client=api, ident=contact.id)
    etag = read.headers["ETag"]
    assert read.status_code == 200 and etag == f'"{read.parsed.version}"'
    changed = module("api.contacts.update_contact").sync_detailed(
        client=api, ident=contact.id, body=models.ContactPatch(phone="+46812345678"), if_match=etag)
    assert changed.status_code == 200 and changed.parsed.phone == "+46812345678"
    assert changed.headers["ETag"] != etag

    # a stale If-Match is a 412 problem, and changes nothing
    stale = module("api.contacts.update_contact").sync_detailed(
        client=api, ident=contact.id, body=models.ContactPatch(phone="+46800000000"), if_match=etag)
    assert stale.status_code == 412
    assert isinstance(stale.parsed, models.Problem) and stale.parsed.status == 412
    assert module("api.contacts.get_contact").sync(client=api, ident=contact.id).phone == "+46812345678"

    # search
    page = module("api.contacts.list_contacts").sync(client=api, q="lindq")
    assert [c.id for c in page.items] == [contact.id]
    page = module("api.contacts.list_contacts").sync(client=api, organization=nordics.id,
                                                   customer_group=platinum.id)
    assert [c.id for c in page.items] == [contact.id]

    # effective groups: its own, and up the group tree
    effective = module("api.contacts.contact_effective_groups").sync(client=api, ident=contact.id)
    assert {item.group.key for item in effective.items} == {"PLATINUM", "GOLD", "CUSTOMERS"}

    # what it pays: a Platinum price, resolved for it
    market = module("api.markets.create_market").sync(client=api, body=models.MarketIn(
        key="NORDIC", name="Nordic", countries=["SE", "NO"], currencies=["SEK"]))
    product = module("api.products.create_product").sync(client=api, body=models.ProductIn(
        key="TSHIRT", name="T-shirt"))
    variant = module("api.variants.create_variant").sync(client=api, body=models.VariantIn(
        sku="TS-M", product=product.id, name="T-shirt M"))
    assert variant.product == product.id
    for sale_type, sale_code, unit_price in [(models.SaleType.ALL_CUSTOMERS, "", "150"),
                                             (models.SaleType.CUSTOMER_GROUP, "PLATINUM", "120.5")]:
        row = module("api.prices.create_price").sync(client=api, body=models.PriceIn(
            variant=variant.id, market=market.id, sale_type=sale_type, sale_code=sale_code,
            unit_price=unit_price, min_quantity="1.00"))
        assert isinstance(row, models.PriceOut), row
        assert (row.unit_price, row.min_quantity) == (f"{float(unit_price):.2f}", "1")
    price = module("api.prices.resolve_price").sync(client=api, sku="TS-M", market=market.id,
                                                   contact=contact.id, quantity="2.0")
    assert isinstance(price, models.ResolveOut), price
    assert (price.unit_price, price.currency, price.quantity) == ("120.50", "SEK", "2")
    assert price.contact == contact.id and price.price.sale_code == "PLATINUM"

    # accounts are addressed by e-mail too
    admin = module("api.accounts.get_account").sync(client=api, ident="Admin@Example.com")
    assert admin.email == "admin@example.com"
