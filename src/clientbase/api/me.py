"""/api/v1/me: the shopper's own side of the shop, for headless front ends
(DESIGN.md's `/me` contract): registration, log-in and log-out, the cart,
checkout and order history.

The caller is a token's account, or the visitor on the storefront's session
cookie, logged in or anonymous (api.auth.shopper_auth): every unsafe request
on the session, an anonymous visitor's included, carries the CSRF token
(`GET /me/csrf`). A shopper reaches only its own things: its cart is found
through the shopping services' two lookups (the account's saved cart, or the
anonymous cart whose id the signed `cart` cookie carries — the storefront's
pages read the same cookie), its orders through `orders_for`; nothing here
takes an id of a cart, a contact or an account, nor a price, from the client.
"""

import logging
from datetime import date
from decimal import Decimal
from typing import Annotated

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import get_token
from django.urls import NoReverseMatch, reverse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict, WithJsonSchema

from clientbase.api.auth import shopper_auth
from clientbase.api.common import Moment, Money, Page
from clientbase.api.contacts import AddressOut
from clientbase.api.errors import problem
from clientbase.api.store import visitor_groups
from clientbase.core.currencies import quantize
from clientbase.core.errors import Conflict, NotFound
from clientbase.core.pagination import Keyset
from clientbase.customers.authentication import BACKEND
from clientbase.customers.models import Account
from clientbase.customers.services import accounts, verification
from clientbase.customers.throttling import check_rate, client_address
from clientbase.pricing import listing
from clientbase.shopping.models import Cart, Order, OrderLine
from clientbase.shopping import cookie
from clientbase.shopping.services import carts, orders

log = logging.getLogger(__name__)

# A token, the session, or nobody: the schema says each is fine (`{}`: no credentials).
ME_SECURITY = {"security": [{"TokenAuth": []}, {"ActiveSessionAuth": []}, {}]}

router = Router(tags=["me"], auth=shopper_auth)

# Django's password hashers take any length; a bound keeps a huge body from
# costing a hash of it (and an e-mail never needs more than the column holds).
EMAIL_MAX = 254
PASSWORD_MAX = 1024
MARKET_FIELD = Field(None, max_length=100, description="Key or id of the market; default: the cart's "
                                                       "(a new cart: the storefront's).")
CURRENCY_FIELD = Field(None, min_length=3, max_length=3,
                       description="One of the market's currencies; default: the cart's (a new cart: "
                                   "the market's default).")


# --- schemas ------------------------------------------------------------------------

# A shopper names a cart line by its SKU and an order by its number, as the
# answers show them (DESIGN.md's /me contract), not by an id.
Sku = Annotated[str, WithJsonSchema({"type": "string", "maxLength": 100,
                                     "description": "The SKU of the line in the cart.",
                                     "examples": ["TS-M"]})]
OrderNumber = Annotated[str, WithJsonSchema({"type": "string", "maxLength": 20,
                                             "description": "The order's number.",
                                             "examples": ["CB-000042"]})]


class CsrfOut(Schema):
    csrf_token: str = Field(..., description="Send it as the X-CSRFToken header on unsafe /me requests.")


class MeContactOut(Schema):
    key: str | None
    first_name: str
    last_name: str
    email: str | None
    phone: str
    birth_date: date | None
    preferred_language: str
    preferred_currency: str
    addresses: list[AddressOut]


class MeOut(Schema):
    authenticated: bool
    email: str | None = None
    email_verified: bool | None = None
    roles: list[str] | None = None
    contact: MeContactOut | None = Field(
        None, description="The customer you shop as (its profile and addresses); null: none (staff).")


class RegisterIn(Schema):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(..., max_length=EMAIL_MAX)
    password: str = Field(..., max_length=PASSWORD_MAX)
    first_name: str = Field("", max_length=200)
    last_name: str = Field("", max_length=200)


class LoginIn(Schema):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(..., max_length=EMAIL_MAX)
    password: str = Field(..., max_length=PASSWORD_MAX)


class VerifyEmailIn(Schema):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(..., max_length=2000, description="The token of the link the e-mail carried.")


class CartLineOut(Schema):
    sku: str
    name: str
    quantity: int
    unit_price: Money | None = Field(..., description="For one, at the line's quantity; null: cannot be "
                                                      "bought now (see `problem`).")
    line_total: Money | None = Field(..., description="After the line's promotions.")
    why: str = Field(..., description="Which price applies: \"Gold price from 10\".")
    problem: str = Field(..., description="Why the line cannot be ordered now; empty when it can.")
    discount: Money = Field(..., description="What promotions took off the line.")
    promotions: list[str] = Field(..., description="The promotions that changed the line's price.")


class CartOut(Schema):
    """A cart priced for its shopper (shopping.services.carts.PricedCart)."""

    lines: list[CartLineOut]
    subtotal: Money = Field(..., description="The lines' totals, after their promotions.")
    order_discount: Money = Field(..., description="What the order's promotions took off the subtotal.")
    order_promotions: list[str]
    total: Money
    currency: str
    market: str
    coupon: str = Field(..., description="The coupon code entered; empty: none.")
    coupon_problem: str = Field(..., description="Why the entered coupon does nothing; empty when it applies.")

    @staticmethod
    def resolve_market(obj: carts.PricedCart) -> str:
        return obj.cart.market.key

    @staticmethod
    def resolve_coupon(obj: carts.PricedCart) -> str:
        return obj.cart.coupon


class CouponIn(Schema):
    model_config = ConfigDict(extra="forbid")
    coupon: str = Field(..., max_length=50, description="A coupon code; empty removes the cart's.")


class CartLineIn(Schema):
    # No price field: a price never comes from the client (an unknown field is a 422).
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(..., max_length=100)
    quantity: int = Field(1, description="A whole number from 1 to the shop's maximum per line; "
                                         "added to the line already in the cart.")
    market: str | None = MARKET_FIELD
    currency: str | None = CURRENCY_FIELD


class CartLinePatch(Schema):
    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(..., description="The line's new quantity; 0 removes it.")


class OrderAddressIn(Schema):
    model_config = ConfigDict(extra="forbid")

    first_name: str = ""
    last_name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    postcode: str = ""
    country: str = Field("", description="ISO 3166-1 alpha-2, e.g. DE.")


class CheckoutIn(Schema):
    model_config = ConfigDict(extra="forbid")

    shipping_address: OrderAddressIn
    billing_address: OrderAddressIn
    email: str | None = Field(None, max_length=EMAIL_MAX,
                              description="Required for a guest; default: the account's.")
    market: str | None = MARKET_FIELD
    currency: str | None = CURRENCY_FIELD


class OrderAddressOut(Schema):
    first_name: str = ""
    last_name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    postcode: str = ""
    country: str = ""


class OrderLineOut(Schema):
    sku: str
    name: str
    quantity: int
    unit_price: Money
    line_total: Money
    why: str = Field(..., description="The price snapshot: which price row won, and why.")
    sale_type: str
    discount: Money = Field(..., description="What promotions took off the line (line_total is after it).")
    promotions: list[str]

    @staticmethod
    def resolve_discount(line: OrderLine) -> Decimal:
        return quantize(line.discount, line.order.currency)

    # The order's amounts are stored with four decimals; they are answered
    # in the currency's precision. (`line.order` is the order the lines were
    # read from: no query.)
    @staticmethod
    def resolve_unit_price(line: OrderLine) -> Decimal:
        return quantize(line.unit_price, line.order.currency)

    @staticmethod
    def resolve_line_total(line: OrderLine) -> Decimal:
        return quantize(line.line_total, line.order.currency)

    @staticmethod
    def resolve_why(line: OrderLine) -> str:
        return line.price_why


class OrderOut(Schema):
    number: str
    status: str
    email: str
    market: str
    currency: str
    lines: list[OrderLineOut]
    order_discount: Money = Field(..., description="What the order's promotions took off.")
    promotions: list[str] = Field(..., description="The order-level promotions.")
    coupon: str
    total: Money
    shipping_address: OrderAddressOut
    billing_address: OrderAddressOut
    created_at: Moment

    @staticmethod
    def resolve_market(order: Order) -> str:
        return order.market.key

    @staticmethod
    def resolve_total(order: Order) -> Decimal:
        return quantize(order.total, order.currency)

    @staticmethod
    def resolve_order_discount(order: Order) -> Decimal:
        return quantize(order.order_discount, order.currency)

    @staticmethod
    def resolve_lines(order: Order) -> list[OrderLine]:
        return list(order.lines.all())


class OrderPage(Page):
    items: list[OrderOut]


class OrderParams(Schema):
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2000)


# --- who is shopping ------------------------------------------------------------------


def _account(request: HttpRequest) -> Account | None:
    """The caller's account; None for an anonymous visitor."""
    user = request.user
    return user if user.is_authenticated else None


def _me(account: Account | None) -> dict:
    if account is None:
        return {"authenticated": False}
    contact = account.contact
    return {
        "authenticated": True,
        "email": account.email,
        "email_verified": account.email_verified_at is not None,
        "roles": sorted(account.role_names),
        "contact": contact,
    }


# --- the cart cookie (shopping.cookie: one contract for both doors) ---------------


def _cookie_cart(request: HttpRequest) -> Cart | None:
    """The anonymous cart the signed cookie names; None without one, or when
    the value is forged, altered or too old (nobody reaches another visitor's
    cart by writing its id into the cookie)."""
    return carts.find_cart(cookie.cart_id_from(request))


def _cart(request: HttpRequest, market: str | None = None, currency: str | None = None) -> Cart | None:
    """The caller's cart: a logged-in shopper's saved cart (made on first
    use), an anonymous visitor's from the cookie (None when it has none:
    an anonymous cart is made by the first add only)."""
    account = _account(request)
    if account is None:
        return _cookie_cart(request)
    storefront = listing.storefront_market(market, currency)
    return carts.cart_for_account(account, market=storefront.market, currency=storefront.currency)


def _moved(cart: Cart, market: str | None, currency: str | None) -> Cart:
    """The cart, moved to the market and currency the request names (the
    shopper's selector), if it names any."""
    if market is None and currency is None:
        return cart
    if market is None:  # another currency in the cart's market
        market = str(cart.market_id)
    storefront = listing.storefront_market(market, currency)
    if (storefront.market.pk, storefront.currency) != (cart.market_id, cart.currency):
        cart = carts.switch_market(cart, market=storefront.market, currency=storefront.currency)
    return cart


def _priced(request: HttpRequest, cart: Cart | None) -> carts.PricedCart:
    """The cart priced for its shopper; for an anonymous visitor without a
    cart, an empty one where it would be made (nothing is written)."""
    if cart is None:
        storefront = listing.storefront_market()
        cart = Cart(market=storefront.market, currency=storefront.currency)
        zero = quantize(Decimal(0), cart.currency)
        return carts.PricedCart(cart=cart, lines=[], total=zero, currency=cart.currency, subtotal=zero,
                                order_discount=zero)
    return carts.priced(cart, visitor_groups=visitor_groups(request))


# --- session: CSRF, registration, log-in, log-out ------------------------------------


@router.get("/csrf", response=CsrfOut, summary="Get the CSRF token (and its cookie)", openapi_extra=ME_SECURITY)
def me_csrf(request: HttpRequest):
    """Sets Django's `csrftoken` cookie and answers its token: send it as
    X-CSRFToken on every POST, PATCH and DELETE of /me made on the session
    (anonymous visitors included). Log-in and registration renew it: read
    the cookie (or ask here) again after them."""
    return {"csrf_token": get_token(request)}


@router.get("", response=MeOut, summary="Who is shopping", openapi_extra=ME_SECURITY, exclude_unset=True)
def me_profile(request: HttpRequest):
    """An anonymous visitor: `{"authenticated": false}`. A logged-in shopper:
    the account's e-mail, whether it is verified, its roles, and the
    contact it shops as, with its addresses."""
    return _me(_account(request))


def _verification_link(request: HttpRequest, token: str) -> str:
    # The storefront serves the page; without it (a shop run headless) the
    # path stays the same, for a front end to serve.
    try:
        path = reverse("storefront:verify_email", args=[token])
    except NoReverseMatch:
        path = f"/account/verify/{token}/"
    return request.build_absolute_uri(path)


def _log_in(request: HttpRequest, response: HttpResponse, account: Account) -> None:
    """Log the visitor in as `account` (a new session key: no fixation), and
    keep the anonymous cart by merging it into the account's by the shop's
    policy (CART_MERGE_POLICY)."""
    anonymous = _cookie_cart(request)
    login(request, account, backend=getattr(account, "backend", BACKEND))
    carts.merge_carts(anonymous, account)
    cookie.forget_cart(response)


@router.post("/register", response={201: MeOut}, summary="Register as a customer and log in",
             openapi_extra=ME_SECURITY, exclude_unset=True)
def me_register(request: HttpRequest, response: HttpResponse, payload: RegisterIn):
    """Creates the customer (a contact, source storefront) and its account
    (roles Everyone and Registered), logs the visitor in, keeps the cart,
    and sends a link that proves the e-mail. 409 when the e-mail is taken in
    any spelling (log in, or reset the password); 429 with Retry-After when
    the caller's address registers too often (REGISTRATION_RATE)."""
    check_rate("register", client_address(request), settings.REGISTRATION_RATE)
    _contact, account = accounts.register(payload.email, payload.password, payload.first_name,
                                          payload.last_name)
    _log_in(request, response, account)
    link = _verification_link(request, verification.verification_token(account))
    try:
        verification.send_verification_email(account, link)
    except Exception:  # noqa: BLE001 — the customer exists; a mail server's failure must not hide that
        log.exception("Could not send the verification e-mail to %s", account.email)
    return _me(account)


@router.post("/verify-email", response=MeOut, summary="Prove an e-mail address with the link's token",
             openapi_extra=ME_SECURITY, exclude_unset=True)
def me_verify_email(request: HttpRequest, payload: VerifyEmailIn):
    """422 for a token that is not valid or has expired; 409 when the
    account's e-mail changed since the link was sent. Answers the caller
    (verified now, when it is the account the token names)."""
    verification.verify_email(payload.token)
    account = _account(request)
    if account is not None:
        account.refresh_from_db()
    return _me(account)


def _settle_form_body(request: HttpRequest) -> None:
    # django-axes reads request.POST to log a failed log-in; a multipart body
    # with a broken boundary would raise there (a 500). Parsing it once here
    # lets Django mark it unreadable, and POST is empty from then on.
    try:
        request.POST  # noqa: B018
    except MultiPartParserError:
        pass


def _login_failed() -> HttpResponse:
    response = problem(401, "Wrong e-mail or password.", code="login_failed", title="Unauthorized")
    response["WWW-Authenticate"] = 'Bearer realm="clientbase"'
    return response


@router.post("/login", response=MeOut, summary="Log in", openapi_extra=ME_SECURITY, exclude_unset=True)
def me_login(request: HttpRequest, response: HttpResponse, payload: LoginIn):
    """Logs the visitor in on the session (a new session key) and merges the
    anonymous cart into the account's by the shop's policy; prices are the
    account's from then on. A wrong password, an unknown e-mail and a
    locked-out attempt (too many failures: the back office's throttling)
    get the same 401."""
    _settle_form_body(request)
    account = authenticate(request, username=payload.email, password=payload.password)
    if account is None or not account.is_active:
        return _login_failed()
    _log_in(request, response, account)
    return _me(account)


@router.post("/logout", response={204: None}, summary="Log out", openapi_extra=ME_SECURITY)
def me_logout(request: HttpRequest, response: HttpResponse):
    """Ends the session (the account's cart stays saved for its next log-in)."""
    logout(request)
    cookie.forget_cart(response)


# --- the cart -----------------------------------------------------------------------------


@router.get("/cart", response=CartOut, summary="My cart, priced for me", openapi_extra=ME_SECURITY)
def me_cart(request: HttpRequest):
    """Each line at the caller's unit price for the line's quantity, its
    total, and the cart's total. An anonymous visitor without a cart gets
    an empty one (none is made until the first add)."""
    return _priced(request, _cart(request))


@router.post("/cart/lines", response=CartOut, summary="Add to my cart", openapi_extra=ME_SECURITY)
def me_add_cart_line(request: HttpRequest, response: HttpResponse, payload: CartLineIn):
    """Adds `quantity` of `sku` (to the line already there, if any) and
    answers the cart. 409 for an unknown SKU, one not on sale, or one
    without a price for the caller; 422 for a quantity out of range."""
    market, currency = payload.market, payload.currency
    with transaction.atomic():  # a refused first add leaves no empty cart behind
        cart = _cart(request, market, currency)
        if cart is None:
            storefront = listing.storefront_market(market, currency)
            cart = carts.new_cart(market=storefront.market, currency=storefront.currency)
            cookie.keep_cart(response, cart)
        else:
            cart = _moved(cart, market, currency)
        carts.add_line(cart, payload.sku, payload.quantity)
    return _priced(request, cart)


def _existing_cart(request: HttpRequest, sku: str) -> Cart:
    cart = _cart(request)
    if cart is None:
        raise NotFound(detail=f"The cart holds no {sku}.", code="not_in_cart")
    return cart


@router.patch("/cart/lines/{sku}", response=CartOut, summary="Change a quantity in my cart",
              openapi_extra=ME_SECURITY)
def me_set_cart_line(request: HttpRequest, sku: Sku, payload: CartLinePatch):
    """Sets the quantity of the line for `sku` (0 removes it); 404 when the
    cart holds none."""
    cart = _existing_cart(request, sku)
    carts.set_quantity(cart, sku, payload.quantity)
    return _priced(request, cart)


@router.put("/cart/coupon", response=CartOut, summary="Enter a coupon code on my cart",
            openapi_extra=ME_SECURITY)
def me_set_coupon(request: HttpRequest, payload: CouponIn):
    """Enters `coupon` (any case) on the caller's cart, or removes it (an
    empty code); answers the cart priced with it. 422 for an unknown code;
    a known code that does not apply stays, and `coupon_problem` says why.
    404 when the caller has no cart yet."""
    carts.clean_coupon(payload.coupon)  # an unknown code is a 422 whoever asks
    cart = _cart(request)
    if cart is None:
        raise NotFound(detail="You have no cart yet: add something first.", code="no_cart")
    carts.set_coupon(cart, payload.coupon)
    return _priced(request, cart)


@router.delete("/cart/lines/{sku}", response=CartOut, summary="Remove from my cart", openapi_extra=ME_SECURITY)
def me_remove_cart_line(request: HttpRequest, sku: Sku):
    """Removes the line for `sku`; 404 when the cart holds none."""
    cart = _existing_cart(request, sku)
    carts.remove_line(cart, sku)
    return _priced(request, cart)


# --- checkout and orders ----------------------------------------------------------------


@router.post("/checkout", response={201: OrderOut}, summary="Order my cart", openapi_extra=ME_SECURITY)
def me_checkout(request: HttpRequest, payload: CheckoutIn):
    """Places an order for the cart's lines, priced again now for the caller
    (never at a price the client sends), and empties the cart. A guest gives
    `email`; no customer and no account is made for a guest. 409 for an
    empty cart or a line that can no longer be bought; 422 naming each bad
    address field."""
    cart = _cart(request, payload.market, payload.currency)
    if cart is None:
        raise Conflict(detail="The cart is empty.", code="empty_cart")
    cart = _moved(cart, payload.market, payload.currency)
    return orders.checkout(cart, shipping=payload.shipping_address.model_dump(),
                           billing=payload.billing_address.model_dump(), email=payload.email,
                           visitor_groups=visitor_groups(request))


ORDER_ORDER = Keyset("-created_at", "-id")


@router.get("/orders", response=OrderPage, summary="My orders, newest first", openapi_extra=ME_SECURITY)
def me_list_orders(request: HttpRequest, params: Query[OrderParams]):
    """The orders the caller placed, and the guest orders placed with its
    e-mail once that e-mail is verified. An anonymous visitor has none."""
    queryset = orders.orders_for(_account(request)).select_related("market")
    page = ORDER_ORDER.page(queryset, limit=params.limit, cursor=params.cursor)
    return page


@router.get("/orders/{number}", response=OrderOut, summary="One of my orders", openapi_extra=ME_SECURITY)
def me_get_order(request: HttpRequest, number: OrderNumber):
    """404 for an order that is not the caller's, exactly as for one that
    does not exist."""
    order = orders.orders_for(_account(request)).select_related("market").filter(number=number.strip()).first()
    if order is None:
        raise NotFound(detail=f"No order {number}.", code="not_found")
    return order
