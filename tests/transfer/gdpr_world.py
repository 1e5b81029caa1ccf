"""A contact with something of every kind the GDPR export holds and the
erasure removes, shared by the service, API, CLI and back-office tests.

Every personal value is unusual enough that finding it anywhere in the
database after the erasure is a real leak, not a coincidence."""

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import models

from clientbase.customers.models import Contact, Role
from clientbase.customers.services.accounts import issue_token
from clientbase.customers.services.contacts import create_contact, update_contact
from clientbase.pricing.models import PriceRow, SaleType
from clientbase.shopping.services import carts
from clientbase.shopping.services.orders import checkout
from tests.conftest import make_account
from tests.pricing import conftest as pricing

catalog = pricing.catalog

EMAIL = "anneliese.quistorp@example.com"
OLD_EMAIL = "a.quistorp-old@example.com"
FIRST, LAST = "Anneliese", "Quistorpova"
PHONE = "+4930987654"
BIRTH = date(1979, 11, 23)
STREET, CITY, POSTCODE = "Lindwurmstrasse 417", "Oberammergau", "82487"
# Every old value: none may be left anywhere after the erasure.
OLD_VALUES = [FIRST, LAST, EMAIL, OLD_EMAIL, PHONE, BIRTH.isoformat(), STREET, CITY, POSTCODE,
              "quistorp"]
ORDER_ADDRESS = {"first_name": FIRST, "last_name": LAST, "line1": STREET, "city": CITY,
                 "postcode": POSTCODE, "country": "DE"}


@pytest.fixture
def subject(world, accounts, catalog):
    """Anneliese: a contact in EU Management and Gold, with a history (her
    e-mail and address changed once), an account with a token, a failed
    login on record, a cart, an order, a guest order placed with her e-mail
    before she registered, and a price of her own."""
    contact = create_contact(actor=accounts["admin"], fields={
        "key": "C-4711", "first_name": FIRST, "last_name": LAST, "email": OLD_EMAIL, "phone": PHONE,
        "birth_date": BIRTH, "preferred_language": "de"}, organizations=[world["EU-MGMT"]],
        customer_groups=[world["GOLD"]],
        addresses=[{"name": "Home", "line1": "Old Road 1", "city": CITY, "postcode": POSTCODE, "country": "DE"}])
    contact = update_contact(contact, actor=accounts["admin"], changes={"email": EMAIL}, addresses=[
        {"name": "Home", "first_name": FIRST, "last_name": LAST, "line1": STREET, "city": CITY,
         "postcode": POSTCODE, "country": "DE", "phone": PHONE, "is_default_shipping": True}])
    account = make_account(EMAIL, Role.REGISTERED, contact=contact)
    token, _ = issue_token(account, actor=None, name="Anneliese's laptop")
    PriceRow.objects.create(variant=catalog["TS-M"], market=catalog["EU"], currency="EUR",
                            unit_price=Decimal("20.00"))
    PriceRow.objects.create(variant=catalog["TS-M"], market=catalog["EU"], currency="EUR",
                            unit_price=Decimal("17.50"), sale_type=SaleType.CUSTOMER, sale_code="C-4711")

    guest_cart = carts.new_cart(market=catalog["EU"])
    carts.add_line(guest_cart, "TS-M", 1)
    guest_order = checkout(guest_cart, email=EMAIL, shipping=ORDER_ADDRESS, billing=ORDER_ADDRESS)
    cart = carts.cart_for_account(account, market=catalog["EU"])
    carts.add_line(cart, "TS-M", 3)
    order = checkout(cart, shipping=ORDER_ADDRESS, billing={**ORDER_ADDRESS, "line2": "c/o Quistorp"})
    cart = carts.cart_for_account(account, market=catalog["EU"])
    carts.add_line(cart, "TS-M", 2)  # still in the cart

    if apps.is_installed("axes"):
        apps.get_model("axes", "AccessFailureLog").objects.create(
            username=EMAIL, ip_address="192.0.2.77", user_agent="Quistorp's browser", http_accept="*/*",
            path_info="/admin/login/", locked_out=False)
    return {"contact": Contact.objects.get(pk=contact.pk), "account": account, "token": token,
            "order": order, "guest_order": guest_order}


def text_fields(model) -> list[str]:
    """The columns that could hold a personal value. Not the moments: a
    DateTimeField is a DateField too, and a timestamp's microseconds may spell
    the postcode ("…:24.824871" holds "82487") without holding anything of hers."""
    return [f.attname for f in model._meta.concrete_fields
            if isinstance(f, (models.CharField, models.TextField, models.JSONField, models.DateField,
                              models.EmailField, models.GenericIPAddressField))
            and not isinstance(f, models.DateTimeField)]


def old_values_anywhere() -> list[tuple[str, str]]:
    """(table, value) for each old personal value still in any table of any app."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        fields = text_fields(model)
        if not fields or model._meta.proxy:
            continue
        for row in model._default_manager.values_list(*fields):
            text = " ".join(str(v) for v in row if v is not None).lower()
            found += [(model._meta.db_table, v) for v in OLD_VALUES if v.lower() in text]
    return sorted(set(found))
