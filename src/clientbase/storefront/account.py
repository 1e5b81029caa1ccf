"""My account: the shopper's profile, addresses, orders and one order.

Self-service writes go through customers' own-contact services
(`update_own_profile`, `set_own_addresses`), which check by the rules staff's
changes follow; reads start from the shopper's own contact and
`orders_for(account)`, so another shopper's order is a 404.
"""

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clientbase.core.errors import DomainError
from clientbase.customers.services.contacts import set_own_addresses, update_own_profile
from clientbase.shopping.services import orders
from clientbase.storefront.forms import ProfileForm, SavedAddressForm
from clientbase.storefront.pages import add_errors, page_storefront, render_page, shopper_required

RECENT_ORDERS = 5
_ADDRESS_FIELDS = ("name", "first_name", "last_name", "line1", "line2", "postcode", "city", "country",
                   "is_default_shipping", "is_default_billing")


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render_page(request, template, {"storefront": page_storefront(request), "section": template,
                                           **context}, status=status)


def _addresses(request: HttpRequest) -> list:
    contact = request.user.contact
    return list(contact.addresses.all()) if contact is not None else []


def _as_entry(address) -> dict:
    """One saved address as set_own_addresses takes it back (kept as it is)."""
    return {"id": str(address.pk), **{name: getattr(address, name) for name in _ADDRESS_FIELDS}}


@shopper_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    account = request.user
    return _page(request, "storefront/account.html", {
        "account": account, "contact": account.contact, "addresses": _addresses(request),
        "orders": list(orders.orders_for(account)[:RECENT_ORDERS])})


@shopper_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    contact = request.user.contact
    if contact is None:
        messages.info(request, "This account has no customer profile to edit.")
        return HttpResponseRedirect(reverse("storefront:account"))
    initial = {"first_name": contact.first_name, "last_name": contact.last_name, "phone": contact.phone}
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            update_own_profile(request.user, form.cleaned_data)
        except DomainError as error:
            add_errors(form, error)
        else:
            messages.success(request, "Your profile is saved.")
            return HttpResponseRedirect(reverse("storefront:account"))
    return _page(request, "storefront/profile.html", {"form": form}, status=400 if form.is_bound else 200)


def _save_addresses(request: HttpRequest, form, entries: list[dict], index: int, done: str) -> bool:
    """Hand the whole list to set_own_addresses; its refusal about entry
    `index` lands on `form`'s fields. Whether it was saved."""
    try:
        set_own_addresses(request.user, entries)
    except DomainError as error:
        prefix = f"addresses.{index}."
        add_errors(form, error, {e.field: e.field.removeprefix(prefix) for e in error.errors})
        return False
    messages.success(request, done)
    return True


def _new_defaults(entries: list[dict], chosen: dict) -> None:
    """A new default takes the flag from the address that had it."""
    for flag in ("is_default_shipping", "is_default_billing"):
        if chosen.get(flag):
            for entry in entries:
                if entry is not chosen:
                    entry[flag] = False


@shopper_required
@require_http_methods(["GET", "POST"])
def addresses(request: HttpRequest) -> HttpResponse:
    """The shopper's addresses, and a form for a new one."""
    if request.user.contact is None:
        messages.info(request, "This account has no customer profile to keep addresses on.")
        return HttpResponseRedirect(reverse("storefront:account"))
    saved = _addresses(request)
    form = SavedAddressForm(request.POST or None, prefix="new")
    if request.method == "POST" and form.is_valid():
        entries = [_as_entry(a) for a in saved]
        new = {name: form.cleaned_data[name] for name in _ADDRESS_FIELDS}
        entries.append(new)
        _new_defaults(entries, new)
        if _save_addresses(request, form, entries, len(entries) - 1, "The address is added."):
            return HttpResponseRedirect(reverse("storefront:addresses"))
    return _page(request, "storefront/addresses.html", {"addresses": saved, "form": form},
                 status=400 if form.is_bound else 200)


def _own_address(request: HttpRequest, address_id: str):
    try:
        wanted = UUID(address_id)
    except ValueError:
        return None, []
    saved = _addresses(request)
    return next((a for a in saved if a.pk == wanted), None), saved


@shopper_required
@require_http_methods(["GET", "POST"])
def edit_address(request: HttpRequest, address_id: str) -> HttpResponse:
    address, saved = _own_address(request, address_id)
    if address is None:
        return _page(request, "storefront/account_not_found.html", {}, status=404)
    form = SavedAddressForm(request.POST or None, initial=_as_entry(address))
    if request.method == "POST" and form.is_valid():
        entries = [_as_entry(a) for a in saved]
        index = next(i for i, a in enumerate(saved) if a.pk == address.pk)
        entries[index].update({name: form.cleaned_data[name] for name in _ADDRESS_FIELDS})
        _new_defaults(entries, entries[index])
        if _save_addresses(request, form, entries, index, "The address is saved."):
            return HttpResponseRedirect(reverse("storefront:addresses"))
    return _page(request, "storefront/address_edit.html", {"address": address, "form": form},
                 status=400 if form.is_bound else 200)


@shopper_required
@require_POST
def delete_address(request: HttpRequest, address_id: str) -> HttpResponse:
    address, saved = _own_address(request, address_id)
    if address is None:
        return _page(request, "storefront/account_not_found.html", {}, status=404)
    try:
        set_own_addresses(request.user, [_as_entry(a) for a in saved if a.pk != address.pk])
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, "The address is removed.")
    return HttpResponseRedirect(reverse("storefront:addresses"))


@shopper_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    return _page(request, "storefront/orders.html", {"orders": list(orders.orders_for(request.user)),
                                                     "verified": request.user.email_verified_at is not None})


@shopper_required
@require_GET
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    """One of the shopper's orders; any other number is a 404, as if it did not exist."""
    order = orders.order_for_visitor(number, account=request.user)
    if order is None:
        return _page(request, "storefront/order_not_found.html", {}, status=404)
    return _page(request, "storefront/order.html", {"order": order})
