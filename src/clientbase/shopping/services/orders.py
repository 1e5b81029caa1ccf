"""Checkout and order history.

`checkout` turns a cart into an order in one transaction, re-pricing every
line from the resolver: a price never comes from the client, nor from an
earlier look at the cart. A guest (an anonymous cart) gives an e-mail and
gets an order with no contact and no account; nothing about a guest is
written anywhere but on the order.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from clientbase.core.errors import Conflict, FieldError, Invalid
from clientbase.customers.models import Account, Contact
from clientbase.customers.services.accounts import normalize_email
from clientbase.customers.services.contacts import clean_address
from clientbase.shopping.models import Cart, CartLine, Order, OrderLine, OrderNumber
from clientbase.marketing.offers import record_redemptions
from clientbase.shopping.services.carts import lock_cart, priced

# An order's addresses: a contact address's rules (customers' clean_address),
# these fields, and a name to ship to.
ADDRESS_FIELDS = ("first_name", "last_name", "line1", "line2", "city", "postcode", "country")
_REQUIRED = ("first_name", "last_name", "line1", "city", "country")
NUMBER_PREFIX = "CB-"


def _next_number() -> str:
    """The next order number, CB-000001 onwards: the id of a new counter row
    (see OrderNumber), safe under concurrent checkouts."""
    return f"{NUMBER_PREFIX}{OrderNumber.objects.create().pk:06d}"


@transaction.atomic
def checkout(cart: Cart, *, shipping: Mapping[str, Any], billing: Mapping[str, Any],
             email: str | None = None, visitor_groups: frozenset[str] = frozenset()) -> Order:
    """Place an order for the cart's lines and empty the cart; returns the order.

    For an account's cart the order belongs to the account and its contact,
    and `email` defaults to the account's. For an anonymous cart (a guest)
    `email` is required, and the order has no contact and no account; none
    is created. Every line is priced again now, for the cart's shopper, in
    the cart's market and currency: the order's prices are the resolver's,
    each line with a snapshot of the winning price row and why it won, less
    the promotions that apply now (`visitor_groups`: those the door judged
    the shopper in), each named on its line or on the order. A coupon with
    a limit is counted (a Conflict, `coupon_used_up`, when another order
    took its last use first).

    Raises Invalid (422) naming each bad field (`email`,
    `shipping_address.<field>`, `billing_address.<field>`); Conflict (409)
    for an empty cart (`empty_cart`) or when a line can no longer be bought
    — not on sale, or no price (`unavailable_lines`, the detail names each);
    NotFound (404) when the cart is gone. Nothing is written unless the
    order is placed.
    """
    shipping_address, errors = clean_address(shipping, "shipping_address", fields=ADDRESS_FIELDS,
                                             required=_REQUIRED)
    billing_address, billing_errors = clean_address(billing, "billing_address", fields=ADDRESS_FIELDS,
                                                    required=_REQUIRED)
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
    quote = priced(cart, visitor_groups=visitor_groups)
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
        discount_total=quote.discount_total, order_discount=quote.order_discount,
        promotions=quote.order_promotions, coupon=cart.coupon,
    )
    record_redemptions(quote.applied, order.number)
    OrderLine.objects.bulk_create([
        OrderLine(order=order, variant=line.variant, sku=line.sku, name=line.name, quantity=line.quantity,
                  unit_price=line.unit_price, line_total=line.line_total, price_row_id=line.price.pk,
                  sale_type=line.price.sale_type, sale_code=line.price.sale_code,
                  min_quantity=line.price.min_quantity, price_why=line.why,
                  discount=line.discount, promotions=line.promotions)
        for line in quote.lines
    ])
    CartLine.objects.filter(cart=cart).delete()
    if cart.coupon:
        cart.coupon = ""
        cart.save(update_fields=["coupon"])
    return order


def orders_for(account: Account) -> QuerySet[Order]:
    """The orders `account` may see, newest first: those it placed, and the
    guest orders placed with its e-mail once its e-mail is verified
    (`email_verified_at`). None for an anonymous visitor. A door finds one
    order as `orders_for(account).get(number=…)`, so another shopper's order
    is a 404."""
    return Order.objects.for_account(account).prefetch_related("lines")


def order_for_visitor(number: str, *, account: Account | None, placed: Iterable[str] = ()) -> Order | None:
    """The order `number` with its lines if this visitor may see it, else
    None (the door's 404): one of `orders_for(account)`, or one the visitor
    placed as a guest in this browser session (`placed`: the numbers the
    door kept in the session when checkout answered them)."""
    number = (number or "").strip()
    if account is not None and account.is_authenticated:
        order = orders_for(account).filter(number=number).first()
        if order is not None:
            return order
    if number in set(placed):
        return Order.objects.prefetch_related("lines").filter(number=number).first()
    return None


def orders_of_contact(contact: Contact, account: Account | None = None) -> QuerySet[Order]:
    """A contact's orders, newest first, with their lines: those placed as
    the contact and those its account sees (`orders_for`). The door has
    checked that its caller may see the contact."""
    mine = Q(contact=contact)
    if account is not None:
        mine |= Q(pk__in=Order.objects.for_account(account).values("pk"))
    return Order.objects.filter(mine).prefetch_related("lines")
