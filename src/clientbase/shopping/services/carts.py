"""Carts: finding them, changing their lines, pricing them, merging them.

A cart is reached through `find_cart` (an anonymous visitor's, by the id the
door keeps in a signed cookie) or `cart_for_account` (an account's saved
cart): those two lookups are a cart's scope, as `visible_to` is for staff
objects — a door never fetches a cart by id another way. A cart is priced for
its own shopper (its account's contact, or anonymous): a caller never picks
whose prices a cart shows.

Every change locks the cart's row first (`lock_cart`, which also moves its
expiry on), so that concurrent changes to one cart queue up instead of
losing a line or a quantity; the unique (cart, variant) constraint backs it.
Errors are DomainErrors with stable codes: Invalid (422) for a bad quantity,
market or currency; NotFound (404) for a SKU not in the cart; Conflict (409)
for a SKU that cannot be bought (`unknown_sku`, `not_on_sale`, `no_price`).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Sum
from django.utils import timezone

from clientbase.catalog.models import Market, Variant
from clientbase.core.currencies import quantize
from clientbase.core.errors import Conflict, Invalid, NotFound
from clientbase.customers.models import Account, CustomerGroup
from clientbase.customers.services.memberships import effective_group_keys
from clientbase.marketing import offers as marketing
from clientbase.pricing.models import PriceRow, SaleType
from clientbase.pricing.services import resolve_prices
from clientbase.shopping.models import Cart, CartLine, MergePolicy
from clientbase.shopping.services.quantities import line_quantity, max_quantity


def _market_currency(market: Market, currency: str | None) -> str:
    """The currency a cart in `market` uses: `currency` (default: the
    market's) when the market is active and sells in it; 422 otherwise."""
    if not market.is_active:
        raise Invalid.on("market", f"The market {market.key} is closed.", code="market_closed")
    currency = (currency or market.default_currency).upper()
    if currency not in market.currencies:
        raise Invalid.on("currency", f"The market {market.key} sells in {', '.join(market.currencies)}, "
                                     f"not {currency}.", code="invalid_currency")
    return currency


# --- Finding carts ----------------------------------------------------------


def new_cart(*, market: Market, currency: str | None = None) -> Cart:
    """A new, empty anonymous cart in `market` and `currency` (default: the
    market's). The door keeps its id in a signed cookie. Raises Invalid (422)
    for a closed market or a currency the market does not sell in."""
    return Cart.objects.create(market=market, currency=_market_currency(market, currency))


def find_cart(cart_id: UUID | str | None) -> Cart | None:
    """The anonymous cart with this id, or None: no id, not an id, no such
    cart, an expired one, or an account's cart (an account's cart is reached
    only through `cart_for_account`, never by an id from a cookie)."""
    try:
        cart_id = UUID(str(cart_id)) if cart_id else None
    except ValueError:
        return None
    if cart_id is None:
        return None
    return Cart.objects.anonymous().live().select_related("market").filter(pk=cart_id).first()


def cart_for_account(account: Account, *, market: Market, currency: str | None = None) -> Cart:
    """The account's saved cart, made (in `market` and `currency`) when it
    has none; an existing cart keeps its own market and currency (see
    `switch_market`). Two first requests at once end with one cart."""
    cart = Cart.objects.select_related("market").filter(account=account).first()
    if cart is None:
        currency = _market_currency(market, currency)
        try:
            with transaction.atomic():
                cart = Cart.objects.create(account=account, market=market, currency=currency)
        except IntegrityError:
            # Another request made it first.
            cart = Cart.objects.select_related("market").get(account=account)
    cart.account = account  # the caller's object: its contact is likely loaded already
    return cart


def saved_cart(account: Account) -> Cart | None:
    """The account's saved cart, or None when it has none yet: a read that,
    unlike `cart_for_account`, makes nothing (a page header asks it)."""
    cart = Cart.objects.select_related("market").filter(account=account).first()
    if cart is not None:
        cart.account = account
    return cart


def item_count(cart: Cart | None) -> int:
    """How many items the cart holds, the sum of its lines' quantities (0
    for no cart): what a shop's header shows beside "Cart". One query."""
    if cart is None:
        return 0
    return CartLine.objects.filter(cart=cart).aggregate(n=Sum("quantity"))["n"] or 0


def lock_cart(cart: Cart) -> Cart:
    """Lock the cart's row for the rest of the transaction and mark it
    changed (version and `updated_at`, which moves its expiry on). The UPDATE
    takes the lock itself; concurrent changes wait here. NotFound (404) when
    the cart is gone (merged or purged meanwhile)."""
    now = timezone.now()
    if not Cart.objects.filter(pk=cart.pk).update(version=F("version") + 1, updated_at=now):
        raise NotFound(detail="This cart no longer exists.", code="cart_gone")
    cart.refresh_from_db(fields=["version", "updated_at", "account", "market", "currency"])
    return cart


@transaction.atomic
def switch_market(cart: Cart, *, market: Market, currency: str | None = None) -> Cart:
    """Move the cart to another market and/or currency (the shopper's
    selector); the lines stay and are priced there from now on. Raises
    Invalid (422) for a closed market or a currency it does not sell in."""
    currency = _market_currency(market, currency)
    cart = lock_cart(cart)
    cart.market, cart.currency = market, currency
    cart.save(update_fields=["market", "currency"])
    return cart


# --- Lines ------------------------------------------------------------------


def _on_sale(variant_ref: str) -> Exists:
    """True when the variant at `variant_ref` may be bought: the catalog's
    own rule (Variant.objects.on_sale()), evaluated in the same query."""
    return Exists(Variant.objects.on_sale().filter(pk=OuterRef(variant_ref)))


def _purchasable(cart: Cart, sku: str, quantity: int) -> Variant:
    """The variant of `sku` if the cart's shopper may buy `quantity` of it
    now; otherwise a Conflict saying why (unknown, not on sale, no price)."""
    if not cart.market.is_active:
        raise Conflict.on("market", f"The market {cart.market.key} is closed.", code="market_closed")
    variant = Variant.objects.select_related("product").annotate(on_sale=_on_sale("pk")).filter(sku=sku).first()
    if variant is None:
        raise Conflict.on("sku", f"There is no product with the SKU {sku}.", code="unknown_sku")
    if not variant.on_sale:
        raise Conflict.on("sku", f"{variant.product.name} ({sku}) is not on sale.", code="not_on_sale")
    resolution = resolve_prices([sku], contact=cart.contact, quantity=Decimal(quantity),
                                market=cart.market, currency=cart.currency)[sku]
    if resolution.price is None:
        raise Conflict.on("sku", f"{variant.product.name} ({sku}) has no price for you in "
                                 f"{cart.market.key}/{cart.currency} at quantity {quantity}.", code="no_price")
    return variant


@transaction.atomic
def add_line(cart: Cart, sku: str, quantity: int = 1) -> CartLine:
    """Add `quantity` of `sku` to the cart: a new line, or more on the line
    already there. Returns the line.

    Raises Invalid (422) for a quantity that is not 1..CART_MAX_QUANTITY or
    that would take the line beyond it; Conflict (409) for an unknown SKU,
    one not on sale, or one without a price for this cart's shopper at the
    line's new quantity. Concurrent adds to one cart all count: the cart is
    locked while its line is read and written.
    """
    quantity = line_quantity(quantity)
    sku = (sku or "").strip()
    cart = lock_cart(cart)
    line = CartLine.objects.filter(cart=cart, variant__sku=sku).first()
    total = quantity + (line.quantity if line else 0)
    if total > max_quantity():
        raise Invalid.on("quantity", f"At most {max_quantity()} of one item per cart "
                                     f"(the cart holds {total - quantity}).", code="invalid_quantity")
    variant = _purchasable(cart, sku, total)
    if line is None:
        return CartLine.objects.create(cart=cart, variant=variant, quantity=total)
    line.quantity = total
    line.save(update_fields=["quantity"])
    return line


def _line(cart: Cart, sku: str) -> CartLine:
    line = CartLine.objects.select_related("variant").filter(cart=cart, variant__sku=sku).first()
    if line is None:
        raise NotFound(detail=f"The cart holds no {sku}.", code="not_in_cart")
    return line


@transaction.atomic
def set_quantity(cart: Cart, sku: str, quantity: int) -> CartLine | None:
    """Set the quantity of the cart's line for `sku`; 0 removes the line.
    Returns the line (None when removed).

    Raises NotFound (404) when the cart holds no such line, Invalid (422)
    for a quantity outside 0..CART_MAX_QUANTITY, Conflict (409) when the
    SKU cannot be bought at that quantity (see `add_line`).
    """
    if quantity == 0 and not isinstance(quantity, bool):
        remove_line(cart, sku)
        return None
    quantity = line_quantity(quantity)
    cart = lock_cart(cart)
    line = _line(cart, sku)
    _purchasable(cart, sku, quantity)
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    return line


@transaction.atomic
def remove_line(cart: Cart, sku: str) -> None:
    """Take `sku` out of the cart. NotFound (404) when the cart holds none."""
    cart = lock_cart(cart)
    _line(cart, sku).delete()


@transaction.atomic
def empty_cart(cart: Cart) -> None:
    """Remove every line (the cart itself stays)."""
    cart = lock_cart(cart)
    cart.lines.all().delete()


def purge_expired_carts(now: datetime | None = None) -> int:
    """Delete the anonymous carts unchanged for CART_TTL_DAYS, with their
    lines; returns how many carts went. Accounts' saved carts stay."""
    expired = Cart.objects.anonymous().expired(now)
    count = expired.count()
    CartLine.objects.filter(cart__in=expired.values("pk")).delete()
    expired.delete()
    return count


# --- Prices -----------------------------------------------------------------


def price_why(row: PriceRow, group_names: Mapping[str, str]) -> str:
    """What a person reads about a winning price row: "Price for all
    customers", "Gold price from 10", "Your customer price". `group_names`
    maps group keys to names (a key without a name shows as itself)."""
    if row.sale_type == SaleType.CUSTOMER:
        text = "Your customer price"
    elif row.sale_type == SaleType.CUSTOMER_GROUP:
        text = f"{group_names.get(row.sale_code, row.sale_code)} price"
    else:
        text = "Price for all customers"
    if row.min_quantity > 1:
        text += f" from {row.min_quantity.normalize():f}"
    if row.product_id:
        text += " (set on the product)"
    return text


def group_names(rows: list[PriceRow]) -> dict[str, str]:
    """The names of the customer groups that group price rows name: one
    query, none without a group row."""
    keys = {r.sale_code for r in rows if r.sale_type == SaleType.CUSTOMER_GROUP}
    if not keys:
        return {}
    return dict(CustomerGroup.objects.filter(key__in=keys).values_list("key", "name"))


@dataclass
class PricedLine:
    """A cart line with its price for the cart's shopper at the line's
    quantity. `unit_price`, `line_total` and `price` are None, and `problem`
    says why, when the line cannot be bought now (no longer on sale, no
    price); `why` describes the winning row."""

    sku: str
    name: str
    quantity: int
    variant: Variant
    unit_price: Decimal | None = None
    line_total: Decimal | None = None
    price: PriceRow | None = None
    why: str = ""
    problem: str = ""
    # What promotions took off the line (line_total is after it), and which.
    discount: Decimal = Decimal(0)
    promotions: list[str] = field(default_factory=list)

    @property
    def list_total(self) -> Decimal | None:
        return None if self.line_total is None else self.line_total + self.discount


@dataclass
class PricedCart:
    """A cart as the shopper sees it: its lines priced (after the lines'
    promotions), `subtotal` their sum, `order_discount` what the order's
    promotions took off it (`order_promotions` names them) and `total`, in
    `currency`. `coupon_problem` says why an entered coupon does nothing.
    `orderable` is False when the cart is empty or a line has a problem
    (checkout would refuse)."""

    cart: Cart
    lines: list[PricedLine]
    total: Decimal
    currency: str
    subtotal: Decimal = Decimal(0)
    order_discount: Decimal = Decimal(0)
    order_promotions: list[str] = field(default_factory=list)
    coupon_problem: str = ""
    applied: list = field(default_factory=list)  # marketing.offers.Applied, for checkout

    @property
    def discount_total(self) -> Decimal:
        return sum((line.discount for line in self.lines), Decimal(0)) + self.order_discount

    @property
    def problems(self) -> list[str]:
        return [f"{line.sku}: {line.problem}" for line in self.lines if line.problem]

    @property
    def orderable(self) -> bool:
        return bool(self.lines) and not self.problems


def _name(variant: Variant) -> str:
    if variant.name:
        return variant.name
    return variant.product.name


def priced(cart: Cart, *, at: datetime | None = None,
           visitor_groups: frozenset[str] = frozenset()) -> PricedCart:
    """The cart's lines with unit price and line total from the resolver,
    each at its own quantity, for the cart's shopper (its account's contact,
    or anonymous), in the cart's market and currency, at `at` (default now);
    then marketing's offers for that shopper — its effective customer
    groups, the visitor groups the door judged it in (`visitor_groups`) and
    the cart's coupon — on each line and on the order (marketing.offers).

    A fixed number of queries whatever the number of lines: the lines with
    their variants and products, one resolver query, the names of the groups
    whose prices won (and the account's contact once, when not loaded); with
    promotions, at most three more: the offers when not cached, the
    shopper's groups when an offer is for customer groups, the coupon's uses
    when it has a limit.
    """
    lines = list(CartLine.objects.filter(cart=cart).select_related("variant__product")
                 .annotate(on_sale=_on_sale("variant_id")))
    resolutions = resolve_prices(
        [line.variant.sku for line in lines], contact=cart.contact, quantity=Decimal(1),
        market=cart.market, currency=cart.currency, at=at,
        quantities={line.variant.sku: Decimal(line.quantity) for line in lines},
    )
    names = group_names([r.price for r in resolutions.values() if r.price is not None])
    result = []
    for line in lines:
        variant = line.variant
        priced_line = PricedLine(sku=variant.sku, name=_name(variant), quantity=line.quantity, variant=variant)
        resolution = resolutions[variant.sku]
        if not line.on_sale:
            priced_line.problem = "no longer on sale"
        elif resolution.price is None:
            priced_line.problem = f"no price for you in {cart.market.key}/{cart.currency}"
        else:
            priced_line.price = resolution.price
            priced_line.unit_price = resolution.unit_price
            priced_line.line_total = quantize(resolution.unit_price * line.quantity, cart.currency)
            priced_line.why = price_why(resolution.price, names)
        result.append(priced_line)
    quote = PricedCart(cart=cart, lines=result, total=Decimal(0), currency=cart.currency)
    _apply_offers(quote, at=at or timezone.now(), visitor_groups=visitor_groups)
    return quote


def shopper_groups(offers: list, contact) -> frozenset[str]:
    """The contact's effective group keys, read only when an offer is for
    customer groups (one query)."""
    if contact is None or not marketing.uses_customer_groups(offers):
        return frozenset()
    return effective_group_keys(contact)


def offer_line(line: PricedLine, usable: list, currency: str):
    """The best of `usable` offers on a priced line, taken off its total;
    answers what applied (marketing.offers.Applied)."""
    if line.unit_price is None:
        return marketing.NOTHING
    applied = marketing.best(marketing.for_line(usable, sku=line.sku, product_key=line.variant.product.key),
                             line.unit_price, line.quantity, currency)
    if applied.offers:
        line.discount, line.promotions = applied.discount, applied.labels
        line.line_total -= applied.discount
    return applied


def _apply_offers(quote: PricedCart, *, at: datetime, visitor_groups: frozenset[str]) -> None:
    """Marketing's offers after the resolver's prices: the best for each
    line, then the best for the order on the lines' subtotal."""
    cart, currency = quote.cart, quote.currency
    offers = marketing.compiled_offers()
    group_keys = shopper_groups(offers, cart.contact) if offers and cart.account_id else frozenset()
    usable = marketing.eligible(offers, at=at, group_keys=group_keys, visitor_groups=visitor_groups,
                                coupon=cart.coupon) if offers else []
    zero = quantize(Decimal(0), currency)
    quote.order_discount = zero
    for line in quote.lines:
        line.discount = zero
        applied = offer_line(line, usable, currency)
        if applied.offers:
            quote.applied.append(applied)
    quote.subtotal = quantize(sum((line.line_total for line in quote.lines if line.line_total is not None),
                                  Decimal(0)), currency)
    order = marketing.best(marketing.for_order(usable), quote.subtotal, 1, currency)
    if order.offers:
        quote.order_discount, quote.order_promotions = order.discount, order.labels
        quote.applied.append(order)
    quote.total = quantize(quote.subtotal - quote.order_discount, currency)
    if cart.coupon:
        used = any(o.coupon for a in quote.applied for o in a.offers)
        if not used:
            quote.coupon_problem = (
                f"Coupon {cart.coupon} does not apply to this cart." if marketing.coupon_known(offers, cart.coupon)
                else f"Coupon {cart.coupon} is not valid.")


def coupon_text(code: str | None) -> str:
    """A coupon code as codes are compared (upper case); Invalid on
    `coupon` for one longer than 50 characters."""
    code = (code or "").strip().upper()
    if len(code) > 50:
        raise Invalid.on("coupon", "A coupon code has at most 50 characters.")
    return code


def clean_coupon(code: str | None) -> str:
    """The code as stored (coupon_text); Invalid on `coupon` for one that no
    campaign has."""
    code = coupon_text(code)
    if code and not marketing.coupon_known(marketing.compiled_offers(), code):
        raise Invalid.on("coupon", f"Coupon {code} is not valid.", code="unknown_coupon")
    return code


def set_coupon(cart: Cart, code: str) -> Cart:
    """Enter a coupon code on the cart (or remove it with ""). An unknown
    code is refused (Invalid on `coupon`); a known one that does not apply
    to the cart is kept, and the priced cart says why."""
    code = clean_coupon(code)
    cart = lock_cart(cart)
    cart.coupon = code
    cart.save(update_fields=["coupon"])
    return cart


# --- Merging at log-in ------------------------------------------------------


def merged_quantities(saved: Mapping, anonymous: Mapping, policy: MergePolicy | str,
                      maximum: int) -> dict:
    """The saved cart's quantities after the anonymous cart joins it, by
    policy (both map an item to its quantity; the result too):

    - add: every item of either cart; an item in both gets the sum;
    - larger: every item of either cart; an item in both keeps the larger;
    - replace: the anonymous cart's items when it has any (the saved cart's
      are dropped); an empty anonymous cart leaves the saved cart as it is.

    Every quantity is capped at `maximum`.
    """
    policy = MergePolicy(policy)
    if policy == MergePolicy.REPLACE:
        result = dict(anonymous) if anonymous else dict(saved)
    else:
        combine = (lambda a, b: a + b) if policy == MergePolicy.ADD else max
        result = dict(saved)
        for item, quantity in anonymous.items():
            result[item] = combine(result[item], quantity) if item in result else quantity
    return {item: min(quantity, maximum) for item, quantity in result.items()}


@transaction.atomic
def merge_carts(anonymous: Cart | None, account: Account, policy: MergePolicy | str | None = None) -> Cart | None:
    """At log-in: the anonymous cart's lines join the account's saved cart by
    `policy` (default: setting CART_MERGE_POLICY; see `merged_quantities`),
    and the anonymous cart is deleted. Returns the account's cart (None when
    it has none and there was no anonymous cart).

    An account without a saved cart simply takes the anonymous cart over.
    With lines to merge, the saved cart moves to the anonymous cart's market
    and currency (the visitor's current choice). Lines are not re-priced
    here: a line that cannot be bought shows its problem when priced.
    Raises Invalid (422) for an unknown policy.
    """
    policy = policy or settings.CART_MERGE_POLICY
    if policy not in MergePolicy.values:
        raise Invalid.on("policy", f"A merge policy is one of {', '.join(MergePolicy.values)}.",
                         code="invalid_policy")
    # Locks in one order (the saved cart, then the anonymous one), so that
    # two log-ins at once queue up: the second finds the anonymous cart gone
    # and merges nothing.
    saved = Cart.objects.select_for_update().filter(account=account).first()
    if anonymous is None:
        return saved
    try:
        anonymous = lock_cart(anonymous)
    except NotFound:
        return saved
    if anonymous.account_id is not None:
        # Taken over meanwhile (by this account's other log-in, or another's).
        return anonymous if anonymous.account_id == account.pk else saved
    if saved is None:
        try:
            with transaction.atomic():
                anonymous.account = account
                anonymous.save(update_fields=["account"])
            return anonymous
        except IntegrityError:
            # Another log-in of this account gave it a cart meanwhile: merge into that.
            anonymous.account = None
            saved = Cart.objects.get(account=account)
    saved = lock_cart(saved)
    saved_lines = {line.variant_id: line for line in saved.lines.all()}
    anonymous_lines = {line.variant_id: line.quantity for line in anonymous.lines.all()}
    merged = merged_quantities({v: line.quantity for v, line in saved_lines.items()}, anonymous_lines,
                               policy, max_quantity())
    if anonymous_lines:
        saved.market, saved.currency = anonymous.market, anonymous.currency
        saved.save(update_fields=["market", "currency"])
    anonymous.delete()
    CartLine.objects.filter(cart=saved).exclude(variant_id__in=list(merged)).delete()
    for variant_id, quantity in merged.items():
        line = saved_lines.get(variant_id)
        if line is None:
            CartLine.objects.create(cart=saved, variant_id=variant_id, quantity=quantity)
        elif line.quantity != quantity:
            line.quantity = quantity
            line.save(update_fields=["quantity"])
    return saved
