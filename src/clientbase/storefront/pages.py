"""What every storefront page shares: the visitor's market and currency, its
cart, the page frame (header with the cart count, messages), the login
guard, and turning a service's DomainError into form errors.

The visitor's cart: a logged-in shopper's is its account's saved cart
(`carts.cart_for_account`); an anonymous visitor's is found through the
signed cookie (clientbase.shopping.cookie, the contract the /me API reads
too) and made on the first add.
"""

from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from clientbase.core.errors import DomainError, Invalid, NotFound
from clientbase.pricing import listing
from clientbase.shopping import cookie
from clientbase.shopping.models import Cart
from clientbase.shopping.services import carts

# Where the visitor's choice of market and currency is kept in the session.
SESSION_MARKET = "storefront_market"
SESSION_CURRENCY = "storefront_currency"
# The numbers of the orders this browser placed as a guest (their confirmation pages).
SESSION_GUEST_ORDERS = "storefront_guest_orders"


class SearchForm(forms.Form):
    # Django's CharField refuses NUL characters (which PostgreSQL cannot hold).
    q = forms.CharField(max_length=200, required=False, strip=True)
    cursor = forms.CharField(max_length=2000, required=False)


def current_storefront(request: HttpRequest) -> listing.Storefront:
    """The visitor's market and currency: its choice when still open, else
    the default. A choice that no longer holds (the market closed) is
    forgotten rather than shown as an error on every page. Raises NotFound /
    Invalid when the shop has no open market (see `closed`)."""
    market, currency = request.session.get(SESSION_MARKET), request.session.get(SESSION_CURRENCY)
    if market:
        try:
            return listing.storefront_market(market, currency)
        except Invalid:
            request.session.pop(SESSION_MARKET, None)
            request.session.pop(SESSION_CURRENCY, None)
    return listing.storefront_market()


def is_shopper(request: HttpRequest) -> bool:
    return request.user.is_authenticated and request.user.is_active


def current_cart(request: HttpRequest, storefront: listing.Storefront | None = None) -> Cart | None:
    """The visitor's cart, or None when it has none yet. With `storefront`
    given, one is made when missing (in that market and currency); the door
    then gives an anonymous visitor the cookie (`cookie.keep_cart`)."""
    if is_shopper(request):
        if storefront is None:
            return carts.saved_cart(request.user)
        return carts.cart_for_account(request.user, market=storefront.market, currency=storefront.currency)
    cart = carts.find_cart(cookie.cart_id_from(request))
    if cart is None and storefront is not None:
        cart = carts.new_cart(market=storefront.market, currency=storefront.currency)
    return cart


def render_page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """A storefront page: `context` plus the frame's (see frame_context)."""
    return render(request, template, frame_context(request, context), status=status)


def frame_context(request: HttpRequest, context: dict) -> dict:
    """`context` plus what the page frame shows: the shop's name, the market
    selector, who is signed in, the cart's item count."""
    storefront = context.get("storefront")
    return {
        "shop_name": settings.STOREFRONT_NAME,
        "choices": listing.storefront_choices() if storefront else [],
        "current_choice": f"{storefront.market.key}:{storefront.currency}" if storefront else "",
        "shopper": request.user if is_shopper(request) else None,
        "cart_count": carts.item_count(context["cart"] if "cart" in context else current_cart(request)),
        "max_quantity": settings.CART_MAX_QUANTITY,
        **context,
    }


def closed(request: HttpRequest, error: DomainError) -> HttpResponse:
    # No open market (or a STOREFRONT_MARKET naming none): nothing can be priced.
    return render_page(request, "storefront/closed.html", {"detail": error.detail}, status=503)


def page_storefront(request: HttpRequest) -> listing.Storefront | None:
    """current_storefront, or None when the shop is closed (pages that
    show no prices still open: log-in, password reset, my account)."""
    try:
        return current_storefront(request)
    except (NotFound, Invalid):
        return None


def safe_next(request: HttpRequest, wanted: str | None, default: str) -> str:
    """`wanted` when it is a path on this site (a `?next=`), else `default`:
    never a redirect to another site."""
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return wanted
    return default


def shopper_required(view):
    """Pages of a logged-in shopper: anyone else goes to the storefront's
    log-in page and comes back after (settings.LOGIN_URL is the back office's)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_shopper(request):
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{reverse('storefront:login')}?{query}")
        return view(request, *args, **kwargs)

    return guarded


def add_errors(form: forms.Form, error: DomainError, fields: dict[str, str] | None = None) -> None:
    """Show a service's refusal on the form: each FieldError on the form
    field it names (through `fields`, service name → form field, when they
    differ), the rest — and an error naming no field — above the form."""
    fields = fields or {}
    placed = False
    for field_error in error.errors:
        name = fields.get(field_error.field, field_error.field)
        if name in form.fields:
            form.add_error(name, field_error.message)
            placed = True
        elif name is None:
            continue
        else:
            form.add_error(None, field_error.message)
            placed = True
    if not placed:
        form.add_error(None, error.detail)
