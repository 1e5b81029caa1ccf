"""Checkout and the order's confirmation page.

A guest gives an e-mail and the addresses; a logged-in shopper's form starts
from its contact's default shipping and billing addresses. The order is
`orders.checkout`'s: every line priced again by the resolver, no contact or
account made for a guest. The confirmation page shows an order only to its
shopper (orders_for) or to the browser session that placed it as a guest.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from clientbase.core.errors import DomainError, Invalid, NotFound
from clientbase.shopping.services import carts, orders
from clientbase.storefront.forms import AddressForm, CheckoutForm
from clientbase.storefront.personalization import matched_groups
from clientbase.storefront.pages import (
    SESSION_GUEST_ORDERS, closed, current_cart, current_storefront, is_shopper, render_page,
)

_ADDRESS_FIELDS = ("first_name", "last_name", "line1", "line2", "city", "postcode", "country")


def _initial_addresses(request: HttpRequest) -> tuple[dict, dict]:
    """A logged-in shopper's default shipping and billing addresses (each
    falling back on the other, names on the contact's), as form initials."""
    contact = request.user.contact if is_shopper(request) else None
    if contact is None:
        return {}, {}
    addresses = list(contact.addresses.all())
    names = {"first_name": contact.first_name, "last_name": contact.last_name}

    def initial(flag: str) -> dict:
        chosen = next((a for a in addresses if getattr(a, flag)), None) or (addresses[0] if addresses else None)
        if chosen is None:
            return dict(names)
        values = {name: getattr(chosen, name) for name in _ADDRESS_FIELDS}
        return {**values, **{k: values[k] or v for k, v in names.items()}}

    return initial("is_default_shipping"), initial("is_default_billing")


def _address(form: AddressForm) -> dict:
    return {name: form.cleaned_data.get(name, "") for name in _ADDRESS_FIELDS}


def _show(error: DomainError, form: CheckoutForm, shipping: AddressForm, billing: AddressForm) -> None:
    """The service's refusal on the forms: `shipping_address.city` on the
    shipping form's city, `email` on the e-mail; the rest (an empty cart, an
    item no longer on sale) above the form."""
    placed = False
    for field_error in error.errors:
        prefix, _, name = field_error.field.partition(".")
        target = {"shipping_address": shipping, "billing_address": billing}.get(prefix, form)
        name = name if target is not form else field_error.field
        if name in target.fields and target.is_bound:  # billing unbound: it is the shipping address
            target.add_error(name, field_error.message)
            placed = True
    if not placed:
        form.add_error(None, error.detail)


@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    """The checkout form; a placed order goes to its confirmation page."""
    try:
        storefront = current_storefront(request)
    except (NotFound, Invalid) as error:
        return closed(request, error)
    cart = current_cart(request)
    groups = matched_groups(request)
    quote = carts.priced(cart, visitor_groups=groups) if cart is not None else None
    if quote is None or not quote.lines:
        messages.info(request, "Your cart is empty: add something before checking out.")
        return HttpResponseRedirect(reverse("storefront:cart"))
    guest = not is_shopper(request)
    countries = cart.market.countries
    if request.method == "POST":
        form = CheckoutForm(request.POST, guest=guest)
        shipping = AddressForm(request.POST, prefix="shipping", countries=countries)
        billing = AddressForm(request.POST, prefix="billing", countries=countries)
        same = form.is_valid() and form.cleaned_data["billing_same"]
        valid = form.is_valid() & shipping.is_valid() & (same or billing.is_valid())
        if same:  # not asked for: shown again empty, not as a list of errors
            billing = AddressForm(prefix="billing", countries=countries)
        if valid:
            try:
                order = orders.checkout(
                    cart, shipping=_address(shipping), billing=_address(shipping if same else billing),
                    email=form.cleaned_data.get("email"), visitor_groups=groups)
            except DomainError as error:
                _show(error, form, shipping, billing)
            else:
                if guest:
                    request.session[SESSION_GUEST_ORDERS] = [
                        *request.session.get(SESSION_GUEST_ORDERS, [])[-19:], order.number]
                return HttpResponseRedirect(reverse("storefront:order_placed", args=[order.number]))
    else:
        initial_shipping, initial_billing = _initial_addresses(request)
        form = CheckoutForm(guest=guest, initial={"billing_same": initial_shipping == initial_billing})
        shipping = AddressForm(prefix="shipping", countries=countries, initial=initial_shipping)
        billing = AddressForm(prefix="billing", countries=countries, initial=initial_billing)
    return render_page(request, "storefront/checkout.html", {
        "storefront": storefront, "cart": cart, "quote": quote, "form": form, "shipping": shipping,
        "billing": billing, "guest": guest}, status=400 if request.method == "POST" else 200)


@require_GET
def order_placed(request: HttpRequest, number: str) -> HttpResponse:
    """The confirmation: the number, the lines with each price's why, the totals."""
    order = orders.order_for_visitor(number, account=request.user if is_shopper(request) else None,
                                     placed=request.session.get(SESSION_GUEST_ORDERS, []))
    if order is None:
        return render_page(request, "storefront/order_not_found.html", {}, status=404)
    return render_page(request, "storefront/order.html", {"order": order, "placed": True})
