"""The contact page as a contact 360 (backoffice.contact_360): organizations
with paths, direct and effective groups with the path of each, account,
orders and cart, a price preview for a SKU, and the actions on the login."""

import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientbase.customers.models import Account, Contact, CustomerGroup, Role
from clientbase.shopping.services import carts
from clientbase.shopping.services.orders import checkout
from tests.conftest import make_account
from tests.pricing import conftest as pricing

catalog, price = pricing.catalog, pricing.price

ADDRESS = {"first_name": "Ann", "last_name": "Smith", "line1": "Hauptstr. 1", "line2": "",
           "city": "Berlin", "postcode": "10115", "country": "DE"}


def page_of(client, contact, **params):
    response = client.get(reverse("admin:customers_contact_change", args=[contact.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def shop(catalog, price):
    price("TS-M", "20.00")
    price("TS-S", "20.00")
    price("TS-M", "15.00", sale_type="customer_group", sale_code="GOLD")
    return catalog


@pytest.fixture
def ann(world, shop):
    """Ann in EU Management (Gold through EU HQ) and US Sales, Silver herself,
    with an account, two orders and a cart."""
    world["EU-HQ"].customer_groups.set([world["GOLD"]])
    contact = Contact.objects.create(first_name="Ann", last_name="Smith", email="ann@example.com")
    contact.organizations.set([world["EU-MGMT"], world["US-SALES"]])
    contact.customer_groups.set([world["SILVER"]])
    make_account("ann@example.com", Role.REGISTERED, contact=contact)
    return contact


def order_for(contact, *skus):
    account = Account.objects.get(contact=contact)
    cart = carts.cart_for_account(account, market=pricing_market())
    for sku in skus:
        carts.add_line(cart, sku, 2)
    return checkout(cart, shipping=ADDRESS, billing=ADDRESS)


def pricing_market():
    from clientbase.catalog.models import Market
    return Market.objects.get(key="EU")


def test_the_page_shows_paths_groups_with_their_paths_account_and_orders(login, ann):
    order = order_for(ann, "TS-M", "TS-S")
    carts.add_line(carts.saved_cart(Account.objects.get(contact=ann)), "TS-M", 3)
    html = page_of(login("admin"), ann)
    shown = text(html)
    # organizations with their full paths
    assert "Administration › EU Headquarters › EU Management" in shown
    assert "US Headquarters › US Sales" in shown
    # direct and effective groups, each with the path that gave it
    assert re.search(r"SILVER Silver direct assigned directly", shown)
    assert re.search(r"GOLD Gold effective via EU Headquarters, an ancestor of organization EU Management",
                     shown)
    assert "CUSTOMERS Customers effective" in shown and "via parent group of Gold" in shown
    # the account and its roles
    assert "ann@example.com — active" in shown and "Registered" in shown
    # the order with its total, status and lines, and the cart priced at Gold
    assert f"{order.number} ·" in shown and "70.00 EUR" in shown and "Placed" in shown
    assert re.search(r"TS-M T-shirt M 2 15\.0+ 30\.00 Gold price", shown)
    assert re.search(r"TS-M T-shirt M 3 15\.0+ 45\.0+", shown)
    # tabs: the page stays a page of sections
    assert "Orders and carts" in html and "Prices" in html and "Record" in html
    assert reverse("admin:customers_contact_history", args=[ann.pk]) in html


def test_organizations_the_viewer_cannot_see_are_one_uncounted_mark(login, ann, world):
    world["US-SALES"].customer_groups.set([world["BRONZE"]])
    shown = text(page_of(login("csr"), ann))
    assert "EU Headquarters › EU Management" in shown
    assert "US Sales" not in shown and "US Headquarters" not in shown
    assert "(organizations you cannot see)" in shown
    # a group given by a hidden organization is still the contact's; its giver is not named
    assert "BRONZE Bronze effective via an organization you cannot see" in shown


def test_a_contact_outside_the_grant_is_a_404_on_the_page_and_its_actions(login, world):
    carl = Contact.objects.create(first_name="Carl", last_name="Jones", email="carl@example.com")
    carl.organizations.add(world["US-SALES"])
    client = login("csr")
    assert client.get(reverse("admin:customers_contact_change", args=[carl.pk])).status_code == 404
    for name in ("invite", "deactivate", "reactivate", "password_reset"):
        url = reverse(f"admin:customers_contact_{name}", args=[carl.pk])
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    assert mail.outbox == [] and not Account.objects.filter(contact=carl).exists()
    # an id that is not one is a 404 too, never a 500
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        assert client.get(f"/admin/customers/contact/{bad}/invite/").status_code == 404


def test_the_page_costs_the_same_queries_with_more_orders_groups_and_organizations(login, ann, world,
                                                                                     steady_unshared_caches):
    client = login("admin")
    order_for(ann, "TS-M")
    carts.add_line(carts.saved_cart(Account.objects.get(contact=ann)), "TS-M", 1)
    page_of(client, ann)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        page_of(client, ann)
    # when the contact gets more of everything
    for n in range(4):
        order_for(ann, "TS-M", "TS-S")
        group = CustomerGroup.objects.create(key=f"EXTRA{n}", name=f"Extra {n}", parent=world["GOLD"])
        ann.customer_groups.add(group)
    ann.organizations.add(world["US-HQ"], world["EU-HQ"])
    for sku in ("TS-M", "TS-S"):
        carts.add_line(carts.saved_cart(Account.objects.get(contact=ann)), sku, 1)
    with CaptureQueriesContext(connection) as many:
        html = page_of(client, ann)
    assert "EXTRA3" in html and html.count('class="c360-order"') == 5
    import difflib
    norm = lambda ctx: [re.sub(r"'[^']*'|\d+", "?", q["sql"])[:150] for q in ctx.captured_queries]
    assert len(many) == len(few), "\n".join(difflib.unified_diff(norm(few), norm(many), lineterm=""))


def test_orders_are_capped_with_a_count(login, ann, monkeypatch):
    from clientbase.backoffice import contact_360
    monkeypatch.setattr(contact_360, "RECENT_ORDERS", 2)
    for _ in range(3):
        order_for(ann, "TS-M")
    shown = text(page_of(login("admin"), ann))
    assert "3 orders; the 2 most recent" in shown


def test_the_price_preview_resolves_a_sku_and_explains_it(login, ann):
    client = login("csr")
    shown = text(page_of(client, ann, preview_sku="TS-M", preview_market="EU"))
    assert "TS-M in EU, quantity 1: 15.00 EUR" in shown
    assert "wins:" in shown and "GOLD" in shown
    # a SKU's beginning offers the SKUs that begin so; an unknown one says so
    partial = text(page_of(client, ann, preview_sku="TS-"))
    assert "No variant has the SKU TS-." in partial and "TS-L" in partial and "TS-S" in partial
    assert "No variant has the SKU NOPE." in text(page_of(client, ann, preview_sku="NOPE"))
    # a NUL in the SKU is just a SKU nobody has
    assert client.get(reverse("admin:customers_contact_change", args=[ann.pk]),
                      {"preview_sku": "TS\x00"}).status_code == 200


def test_the_actions_offered_fit_the_account(login, ann, world):
    client = login("admin")
    html = page_of(client, ann)
    assert reverse("admin:customers_contact_deactivate", args=[ann.pk]) in html
    assert reverse("admin:customers_contact_password_reset", args=[ann.pk]) in html
    assert reverse("admin:customers_contact_invite", args=[ann.pk]) not in html
    bob = Contact.objects.create(first_name="Bob", last_name="B", email="bob@example.com")
    bob.organizations.add(world["EU-HQ"])
    html = page_of(client, bob)
    assert reverse("admin:customers_contact_invite", args=[bob.pk]) in html
    assert reverse("admin:customers_contact_deactivate", args=[bob.pk]) not in html


def test_inviting_from_the_page_confirms_then_mails_the_link(login, world):
    bob = Contact.objects.create(first_name="Bob", last_name="B", email="bob@example.com")
    bob.organizations.add(world["EU-HQ"])
    client = login("admin")
    url = reverse("admin:customers_contact_invite", args=[bob.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200 and "bob@example.com" in confirm.content.decode()
    assert mail.outbox == []
    done = client.post(url, follow=True)
    assert "Invitation sent to bob@example.com." in text(done.content.decode())
    assert "invited, has not chosen a password yet" in text(done.content.decode())
    link = re.search(r"http://testserver(/account/invitation/\S+/)", mail.outbox[0].body)[1]
    # the storefront page sets the password; the link then is spent
    from django.test import Client
    shopper = Client()
    assert shopper.get(link).status_code == 200
    accepted = shopper.post(link, {"password": "Brand-new-pass-77", "password_again": "Brand-new-pass-77"},
                            follow=True)
    assert "is ready" in text(accepted.content.decode())
    assert Client().get(link).status_code == 400
    assert shopper.post("/account/login/", {"username": "bob@example.com",
                                            "password": "Brand-new-pass-77"}).status_code == 302


def test_refusals_say_why_on_the_page(login, ann, world):
    # customer service may not change accounts: the page says so, nothing changes
    client = login("csr")
    done = client.post(reverse("admin:customers_contact_deactivate", args=[ann.pk]), follow=True)
    assert "Deactivate the account: refused. You lack the permission customers.change_account." \
        in text(done.content.decode())
    assert Account.objects.get(contact=ann).is_active
    # inviting a contact that has an account
    done = login("admin").post(reverse("admin:customers_contact_invite", args=[ann.pk]), follow=True)
    assert "already has an account" in text(done.content.decode()) and mail.outbox == []


def test_deactivate_reactivate_and_password_reset_from_the_page(login, ann):
    client = login("admin")
    client.post(reverse("admin:customers_contact_deactivate", args=[ann.pk]))
    assert not Account.objects.get(contact=ann).is_active
    shown = text(page_of(client, ann))
    assert "inactive: cannot log in" in shown
    client.post(reverse("admin:customers_contact_reactivate", args=[ann.pk]))
    assert Account.objects.get(contact=ann).is_active
    done = client.post(reverse("admin:customers_contact_password_reset", args=[ann.pk]), follow=True)
    assert "A password reset link was sent to ann@example.com." in text(done.content.decode())
    assert "/account/password/reset/" in mail.outbox[0].body
