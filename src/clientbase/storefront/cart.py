"""The cart: add from a product page, see it priced, change or remove a line.

Doors only: clientbase.shopping.services.carts adds, prices and refuses
(an unknown, unpriced or inactive SKU, a quantity out of range); a refusal
comes back to the visitor as a message and nothing changes.
"""

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from clientbase.core.errors import DomainError, Invalid, NotFound
from clientbase.shopping import cookie
from clientbase.shopping.services import carts
from clientbase.storefront.forms import AddToCartForm, CartLineForm, CouponForm
from clientbase.storefront.pages import (
    closed, current_cart, current_storefront, is_shopper, page_storefront, render_page, safe_next,
)
from clientbase.storefront.personalization import matched_groups


def _form_problem(form) -> str:
    return " ".join(message for messages_ in form.errors.values() for message in messages_)


@require_POST
def add_to_cart(request: HttpRequest) -> HttpResponse:
    """Add a quantity of a SKU to the visitor's cart (made on the first add)
    and go back to the page the form was on."""
    form = AddToCartForm(request.POST)
    target = safe_next(request, request.POST.get("next"), reverse("storefront:cart"))
    if not form.is_valid():
        messages.error(request, f"Nothing was added: {_form_problem(form)}")
        return HttpResponseRedirect(target)
    try:
        storefront = current_storefront(request)
    except (NotFound, Invalid) as error:
        return closed(request, error)
    sku, quantity = form.cleaned_data["sku"], form.cleaned_data["quantity"]
    made = current_cart(request) is None
    try:
        # A cart made for a refused first add goes with it: nobody could reach it.
        with transaction.atomic():
            cart = current_cart(request, storefront)
            line = carts.add_line(cart, sku, quantity)
    except DomainError as error:
        messages.error(request, f"Nothing was added: {error.detail}")
        return HttpResponseRedirect(target)
    messages.success(request, f"Added {quantity} × {line.variant.name or line.variant.sku} to your cart.")
    response = HttpResponseRedirect(target)
    if made and not is_shopper(request):
        cookie.keep_cart(response, cart)
    return response


@require_GET
def cart_page(request: HttpRequest) -> HttpResponse:
    """The cart's lines priced for the visitor at each line's quantity, and the total."""
    cart = current_cart(request)
    quote = carts.priced(cart, visitor_groups=matched_groups(request)) if cart is not None else None
    return render_page(request, "storefront/cart.html", {
        "storefront": page_storefront(request), "cart": cart, "quote": quote,
        "coupon_form": CouponForm(initial={"coupon": cart.coupon if cart else ""})})


@require_POST
def enter_coupon(request: HttpRequest) -> HttpResponse:
    """Enter a coupon code on the cart, or remove it (an empty code)."""
    cart = current_cart(request)
    form = CouponForm(request.POST)
    if cart is None:
        messages.error(request, "Your cart is empty.")
    elif not form.is_valid():
        messages.error(request, f"Nothing was changed: {_form_problem(form)}")
    else:
        try:
            carts.set_coupon(cart, form.cleaned_data["coupon"])
        except DomainError as error:
            messages.error(request, error.detail)
        else:
            code = form.cleaned_data["coupon"].strip().upper()
            messages.success(request, f"Coupon {code} entered." if code else "Coupon removed.")
    return HttpResponseRedirect(reverse("storefront:cart"))


def _line_change(request: HttpRequest, sku: str, quantity: int) -> HttpResponse:
    cart = current_cart(request)
    if cart is None:
        messages.error(request, "Your cart is empty.")
        return HttpResponseRedirect(reverse("storefront:cart"))
    try:
        line = carts.set_quantity(cart, sku, quantity)
    except DomainError as error:
        messages.error(request, f"Nothing was changed: {error.detail}")
    else:
        messages.success(request, f"Updated {sku} to {line.quantity}." if line else f"Removed {sku}.")
    return HttpResponseRedirect(reverse("storefront:cart"))


@require_POST
def update_line(request: HttpRequest, sku: str) -> HttpResponse:
    """Set a line's quantity (0 removes it)."""
    form = CartLineForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing was changed: {_form_problem(form)}")
        return HttpResponseRedirect(reverse("storefront:cart"))
    return _line_change(request, sku, form.cleaned_data["quantity"])


@require_POST
def remove_line(request: HttpRequest, sku: str) -> HttpResponse:
    return _line_change(request, sku, 0)
