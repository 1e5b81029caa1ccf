"""The shop's pages: home, search, a product, and the market selector.

Doors only: each page asks clientbase.pricing.listing for what the visitor
sees, and shows it. Who is looking is the logged-in account's contact, or
nobody (the anonymous visitor's prices). The market and currency come from
the visitor's choice kept in the session, else from the storefront default
(settings.STOREFRONT_MARKET, else the first active market).
"""

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from clientbase.core.errors import Invalid, NotFound
from clientbase.pricing import listing
from clientbase.shopping.services import carts
from clientbase.storefront.pages import (
    SESSION_CURRENCY, SESSION_MARKET, SearchForm, closed, current_cart, current_storefront, render_page,
    safe_next,
)

FEATURED = 8


class StorefrontChoiceForm(forms.Form):
    """The selector: "EU:EUR" — a market key and one of its currencies."""

    storefront = forms.CharField(max_length=120)
    next = forms.CharField(max_length=2000, required=False)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The shop's front page: the first products (by name) and the search box."""
    try:
        storefront = current_storefront(request)
    except (NotFound, Invalid) as error:
        return closed(request, error)
    page = listing.list_products(contact=listing.shopper_contact(request.user), storefront=storefront,
                                 limit=FEATURED)
    return render_page(request, "storefront/home.html", {
        "storefront": storefront, "products": page.items, "more": page.next_cursor is not None,
        "search": SearchForm()})


@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    """Search results, a page at a time (`q`, `cursor`)."""
    try:
        storefront = current_storefront(request)
    except (NotFound, Invalid) as error:
        return closed(request, error)
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
    return render_page(request, "storefront/product_list.html", {
        "storefront": storefront, "products": products, "q": q, "is_first_page": not cursor,
        "next_cursor": next_cursor, "search": form, "error": error},
        status=200 if form.is_valid() else 400)


@require_GET
def product_detail(request: HttpRequest, ident: str) -> HttpResponse:
    """One product: each variant with its options, the visitor's price, the
    list price when it differs, and the quantity breaks."""
    try:
        storefront = current_storefront(request)
    except (NotFound, Invalid) as error:
        return closed(request, error)
    try:
        product = listing.get_product(ident, contact=listing.shopper_contact(request.user),
                                      storefront=storefront)
    except NotFound:
        return render_page(request, "storefront/not_found.html",
                       {"storefront": storefront, "search": SearchForm()}, status=404)
    option_names = sorted({name for v in product.variants for name in v.options})
    return render_page(request, "storefront/product_detail.html", {
        "storefront": storefront, "product": product, "option_names": option_names,
        "search": SearchForm()})


@require_POST
def choose_storefront(request: HttpRequest) -> HttpResponse:
    """Keep the visitor's market and currency in the session, and go back."""
    form = StorefrontChoiceForm(request.POST)
    target = reverse("storefront:home")
    if form.is_valid():
        target = safe_next(request, form.cleaned_data["next"], target)
        market, _, currency = form.cleaned_data["storefront"].partition(":")
        try:
            chosen = listing.storefront_market(market, currency or None)
        except Invalid:
            return HttpResponseRedirect(target)  # nothing chosen: the page as it was
        request.session[SESSION_MARKET] = chosen.market.key
        request.session[SESSION_CURRENCY] = chosen.currency
        cart = current_cart(request)
        if cart is not None and (cart.market_id, cart.currency) != (chosen.market.pk, chosen.currency):
            # The cart follows: its lines are priced in the chosen market from now on.
            carts.switch_market(cart, market=chosen.market, currency=chosen.currency)
    return HttpResponseRedirect(target)
