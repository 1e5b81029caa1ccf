"""Checkout and order history.

`checkout` turns a cart into an order in one transaction, re-pricing every
line from the resolver: a price never comes from the client, nor from an
earlier look at the cart. A guest (an anonymous cart) gives an e-mail and
gets an order with no contact and no account; nothing about a guest is
written anywhere but on the order.
"""

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from clientbase.core.countries import is_country
from clientbase.core.errors import Conflict, FieldError, Invalid
from clientbase.core.text import plain_text_error
from clientbase.customers.models import Account
from clientbase.customers.services.accounts import normalize_email
from clientbase.shopping.models import Cart, CartLine, Order, OrderLine, OrderNumber
from clientbase.shopping.services.carts import lock_cart, priced

ADDRESS_FIELDS = ("first_name", "last_name", "line1", "line2", "city", "postcode", "country")
_REQUIRED = ("first_name", "last_name", "line1", "city", "country")
_MAX_LENGTH = {"first_name": 100, "last_name": 100, "line1": 200, "line2": 200, "city": 100,
               "postcode": 20, "country": 2}
NUMBER_PREFIX = "CB-"


def clean_address(raw: Mapping[str, Any] | None, field: str) -> tuple[dict[str, str], list[FieldError]]:
    """An order address from `raw` ({first_name, last_name, line1, line2,
    city, postcode, country}): trimmed strings, the country an ISO 3166-1
    code in upper case. Returns it and the errors, named `<field>.<name>`."""
    errors: list[FieldError] = []
    if not isinstance(raw, Mapping):
        return {}, [FieldError(field, "An address is required.", "required")]
    for name in raw:
        if name not in ADDRESS_FIELDS:
            errors.append(FieldError(f"{field}.{name}", "Unknown field.", "unknown_field"))
    address: dict[str, str] = {}
    for name in ADDRESS_FIELDS:
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            errors.append(FieldError(f"{field}.{name}", "Text expected.", "invalid"))
            continue
        value = (value or "").strip()
        where = f"{field}.{name}"
        if name == "country":
            value = value.upper()
        if not value and name in _REQUIRED:
            errors.append(FieldError(where, "This field is required.", "required"))
        elif len(value) > _MAX_LENGTH[name]:
            errors.append(FieldError(where, f"At most {_MAX_LENGTH[name]} characters.", "too_long"))
        elif "\x00" in value:
            errors.append(FieldError(where, "NUL characters are not allowed.", "invalid"))
        elif error := plain_text_error(value, where):
            errors.append(error)
        elif name == "country" and not is_country(value):
            errors.append(FieldError(where, "An ISO 3166-1 alpha-2 country code, e.g. DE.", "invalid_country"))
        address[name] = value
    return address, errors


def _next_number() -> str:
    """The next order number, CB-000001 onwards: the id of a new counter row
    (see OrderNumber), safe under concurrent checkouts."""
    return f"{NUMBER_PREFIX}{OrderNumber.objects.create().pk:06d}"


@transaction.atomic
def checkout(cart: Cart, *, shipping: Mapping[str, Any], billing: Mapping[str, Any],
             email: str | None = None) -> Order:
    """Place an order for the cart's lines and empty the cart; returns the order.

    For an account's cart the order belongs to the account and its contact,
    and `email` defaults to the account's. For an anonymous cart (a guest)
    `email` is required, and the order has no contact and no account; none
    is created. Every line is priced again now, for the cart's shopper, in
    the cart's market and currency: the order's prices are the resolver's,
    each line with a snapshot of the winning price row and why it won.

    Raises Invalid (422) naming each bad field (`email`,
    `shipping_address.<field>`, `billing_address.<field>`); Conflict (409)
    for an empty cart (`empty_cart`) or when a line can no longer be bought
    — not on sale, or no price (`unavailable_lines`, the detail names each);
    NotFound (404) when the cart is gone. Nothing is written unless the
    order is placed.
    """
    shipping_address, errors = clean_address(shipping, "shipping_address")
    billing_address, billing_errors = clean_address(billing, "billing_address")
    errors += billing_errors
    account: Account | None = cart.account if cart.account_id else None
    if not email and account is not None:
        email = account.email
    if not email:
        errors.append(FieldError("email", "An e-mail address is required.", "required"))
    else:
        try:
            email = normalize_email(email)
        except Invalid as exc:
            errors += exc.errors
    if errors:
        fields = ", ".join(dict.fromkeys(e.field for e in errors))
        raise Invalid(detail=f"Invalid input: {fields}.", code=errors[0].code, errors=errors)

    cart = lock_cart(cart)  # no change to the cart slips in between pricing and emptying it
    if not cart.market.is_active:
        raise Conflict.on("market", f"The market {cart.market.key} is closed.", code="market_closed")
    quote = priced(cart)
    if not quote.lines:
        raise Conflict(detail="The cart is empty.", code="empty_cart")
    if quote.problems:
        raise Conflict(detail="Some items cannot be ordered: " + "; ".join(quote.problems) + ".",
                       code="unavailable_lines")

    order = Order.objects.create(
        number=_next_number(), email=email, account=account,
        contact=account.contact if account is not None else None,
        market=cart.market, currency=cart.currency,
        shipping_address=shipping_address, billing_address=billing_address, total=quote.total,
    )
    OrderLine.objects.bulk_create([
        OrderLine(order=order, variant=line.variant, sku=line.sku, name=line.name, quantity=line.quantity,
                  unit_price=line.unit_price, line_total=line.line_total, price_row_id=line.price.pk,
                  sale_type=line.price.sale_type, sale_code=line.price.sale_code,
                  min_quantity=line.price.min_quantity, price_why=line.why)
        for line in quote.lines
    ])
    CartLine.objects.filter(cart=cart).delete()
    return order


def orders_for(account: Account) -> QuerySet[Order]:
    """The orders `account` may see, newest first: those it placed, and the
    guest orders placed with its e-mail once its e-mail is verified
    (`email_verified_at`). None for an anonymous visitor. A door finds one
    order as `orders_for(account).get(number=…)`, so another shopper's order
    is a 404."""
    return Order.objects.for_account(account).prefetch_related("lines")
