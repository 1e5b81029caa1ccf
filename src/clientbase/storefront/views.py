"""The shop's pages: home, search, a product, and the market selector.

Doors only: each page asks clientbase.pricing.listing for what the visitor
sees, and shows it. Who is looking is the logged-in account's contact, or
nobody (the anonymous visitor's prices). The market and currency come from
the visitor's choice kept in the session, else from the storefront default
(settings.STOREFRONT_MARKET, else the first active market).
"""

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from clientbase.core.errors import DomainError, Invalid, NotFound
from clientbase.pricing import listing

# Where the visitor's choice of market and currency is kept in the session.
SESSION_MARKET = "storefront_market"
SESSION_CURRENCY = "storefront_currency"
FEATURED = 8


class SearchForm(forms.Form):
    # Django's CharField refuses NUL characters (which PostgreSQL cannot hold).
    q = forms.CharField(max_length=200, required=False, strip=True)
    cursor = forms.CharField(max_length=2000, required=False)


class StorefrontChoiceForm(forms.Form):
    """The selector: "EU:EUR" — a market key and one of its currencies."""

    storefront = forms.CharField(max_length=120)
    next = forms.CharField(max_length=2000, required=False)


def _storefront(request: HttpRequest) -> listing.Storefront:
    """The visitor's market and currency: its choice when still open, else
    the default. A choice that no longer holds (the market closed) is
    forgotten rather than shown as an error on every page."""
    market, currency = request.session.get(SESSION_MARKET), request.session.get(SESSION_CURRENCY)
    if market:
        try:
            return listing.storefront_market(market, currency)
        except Invalid:
            request.session.pop(SESSION_MARKET, None)
            request.session.pop(SESSION_CURRENCY, None)
    return listing.storefront_market()


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    storefront = context.get("storefront")
    context = {
        "shop_name": settings.STOREFRONT_NAME,
        "choices": listing.storefront_choices() if storefront else [],
        "current_choice": f"{storefront.market.key}:{storefront.currency}" if storefront else "",
        "shopper": request.user if request.user.is_authenticated else None,
        **context,
    }
    return render(request, template, context, status=status)


def _closed(request: HttpRequest, error: DomainError) -> HttpResponse:
    # No open market (or a STOREFRONT_MARKET naming none): nothing can be priced.
    return _render(request, "storefront/closed.html", {"detail": error.detail}, status=503)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The shop's front page: the first products (by name) and the search box."""
    try:
        storefront = _storefront(request)
    except (NotFound, Invalid) as error:
        return _closed(request, error)
    page = listing.list_products(contact=listing.shopper_contact(request.user), storefront=storefront,
                                 limit=FEATURED)
    return _render(request, "storefront/home.html", {
        "storefront": storefront, "products": page.items, "more": page.next_cursor is not None,
        "search": SearchForm()})


@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    """Search results, a page at a time (`q`, `cursor`)."""
    try:
        storefront = _storefront(request)
    except (NotFound, Invalid) as error:
        return _closed(request, error)
    form = SearchForm(request.GET)
    products, next_cursor, error = [], None, None
    if form.is_valid():
        q, cursor = form.cleaned_data["q"], form.cleaned_data["cursor"] or None
        try:
            page = listing.list_products(contact=listing.shopper_contact(request.user),
                                         storefront=storefront, q=q, cursor=cursor)
            products, next_cursor = page.items, page.next_cursor
        except Invalid:
            error = "That page of results is no longer available; here is the first one."
            page = listing.list_products(contact=listing.shopper_contact(request.user),
                                         storefront=storefront, q=q)
            products, next_cursor = page.items, page.next_cursor
    else:
        q, cursor = "", None
        error = "Please check your search: " + " ".join(m for ms in form.errors.values() for m in ms)
    return _render(request, "storefront/product_list.html", {
        "storefront": storefront, "products": products, "q": q, "is_first_page": not cursor,
        "next_cursor": next_cursor, "search": form, "error": error},
        status=200 if form.is_valid() else 400)


@require_GET
def product_detail(request: HttpRequest, ident: str) -> HttpResponse:
    """One product: each variant with its options, the visitor's price, the
    list price when it differs, and the quantity breaks."""
    try:
        storefront = _storefront(request)
    except (NotFound, Invalid) as error:
        return _closed(request, error)
    try:
        product = listing.get_product(ident, contact=listing.shopper_contact(request.user),
                                      storefront=storefront)
    except NotFound:
        return _render(request, "storefront/not_found.html",
                       {"storefront": storefront, "search": SearchForm()}, status=404)
    option_names = sorted({name for v in product.variants for name in v.options})
    return _render(request, "storefront/product_detail.html", {
        "storefront": storefront, "product": product, "option_names": option_names,
        "search": SearchForm()})


@require_POST
def choose_storefront(request: HttpRequest) -> HttpResponse:
    """Keep the visitor's market and currency in the session, and go back."""
    form = StorefrontChoiceForm(request.POST)
    target = reverse("storefront:home")
    if form.is_valid():
        wanted = form.cleaned_data["next"]
        if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()},
                                                      require_https=request.is_secure()):
            target = wanted
        market, _, currency = form.cleaned_data["storefront"].partition(":")
        try:
            chosen = listing.storefront_market(market, currency or None)
        except Invalid:
            return HttpResponseRedirect(target)  # nothing chosen: the page as it was
        request.session[SESSION_MARKET] = chosen.market.key
        request.session[SESSION_CURRENCY] = chosen.currency
    return HttpResponseRedirect(target)
