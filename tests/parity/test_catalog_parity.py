"""Parity: every catalog and pricing write gives the same caller the same
outcome through the API and through the back office.

Each case is one write (create, change or delete of a market, product,
variant or price row), a caller, and whether someone else saved the object
between the caller's read and its write. The case runs once per door and must
end with the expected outcome in both:

    done       2xx in the API; the back office saves and redirects
    forbidden  403 in the API; a 403 page, or "You lack the permission …"
    stale      412 in the API; the back office refuses with "… changed since
               you read it …"
    refused    409 or 422 in the API; the back office shows the form with
               its errors, or refuses with a message

and, where the case names one, with the same reason in both (a problem's
detail or field message; a form error or a message). The data changes only
when the outcome is `done`.

The caller reads first, as a person would (the API's ETag, the back office's
page as rendered), then writes what it read.
"""

from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from django import forms
from django.contrib import messages
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from clientbase.catalog.models import Market, Product, Variant
from clientbase.customers.models import Role
from clientbase.pricing.models import PriceRow
from tests.conftest import ApiClient, make_account
from tests.pricing.conftest import catalog, price  # noqa: F401 - fixtures

# --- the callers --------------------------------------------------------------


def _catalog_editor_without_deleting_prices():
    """May do everything to markets, products and variants, and view, add
    and change prices, but not delete price rows."""
    account = make_account("editor@example.com", Role.EVERYONE)
    names = ["customers.access_backoffice", "pricing.view_pricerow", "pricing.add_pricerow",
             "pricing.change_pricerow"]
    names += [f"catalog.{action}_{model}" for model in ("market", "product", "variant")
              for action in ("view", "add", "change", "delete")]
    for name in names:
        app_label, codename = name.split(".")
        account.user_permissions.add(Permission.objects.get(content_type__app_label=app_label,
                                                            codename=codename))
    return account


CALLERS: dict[str, Callable] = {
    "manager": lambda accounts: make_account("catalog@example.com", Role.CATALOG_MANAGERS),
    "csr": lambda accounts: accounts["csr"],  # views the catalog and prices, changes nothing
    "editor": lambda accounts: _catalog_editor_without_deleting_prices(),
}


@pytest.fixture
def shop(catalog, price):
    """The shared catalog (markets EU and US; the T-shirt and its variants
    TS-S, TS-M, TS-L), a mug without variants, and one price row: TS-M in EU."""
    mug = Product.objects.create(key="MUG", name="Mug")
    row = price("TS-M", "20.00")
    return {**catalog, "MUG": mug, "ROW": row}


# --- the writes -----------------------------------------------------------------


@dataclass
class Write:
    """One write, as each door spells it."""

    model: type
    verb: str  # "create", "change" or "delete"
    target: str | None = None  # the shop's object changed or deleted
    api_path: str = ""  # for create: the list; else the object's URL
    api_body: dict[str, Any] | Callable[[dict], dict] = field(default_factory=dict)
    form: dict[str, Any] | Callable[[dict], dict] = field(default_factory=dict)  # back-office fields
    query: str = ""  # extra query string of the API request and the back-office URL
    backoffice_query: str = ""

    def body(self, shop) -> dict:
        return self.api_body(shop) if callable(self.api_body) else self.api_body

    def fields(self, shop) -> dict:
        return self.form(shop) if callable(self.form) else self.form


WRITES = {
    "create market": Write(
        Market, "create", api_path="/markets",
        api_body={"key": "APAC", "name": "Asia", "countries": ["JP"], "currencies": ["JPY"]},
        form={"key": "APAC", "name": "Asia", "countries": "JP", "currencies": "JPY"}),
    "create market, default currency not sold": Write(
        Market, "create", api_path="/markets",
        api_body={"key": "APAC", "name": "Asia", "currencies": ["JPY"], "default_currency": "EUR"},
        form={"key": "APAC", "name": "Asia", "currencies": "JPY", "default_currency": "EUR"}),
    "change market": Write(Market, "change", "US", "/markets/US", {"name": "America"},
                           {"name": "America"}),
    "change market, drop a currency in use": Write(
        Market, "change", "EU", "/markets/EU", {"currencies": ["CHF"], "default_currency": "CHF"},
        {"currencies": "CHF", "default_currency": ""}),
    "delete market": Write(Market, "delete", "US", "/markets/US"),
    "delete market with prices": Write(Market, "delete", "EU", "/markets/EU"),
    "delete market and its prices": Write(Market, "delete", "EU", "/markets/EU",
                                          query="delete_prices=true", backoffice_query="with_prices=1"),
    "create product": Write(Product, "create", api_path="/products",
                            api_body={"key": "CAP", "name": "Cap"}, form={"key": "CAP", "name": "Cap"}),
    "change product": Write(Product, "change", "MUG", "/products/MUG", {"name": "Big mug"},
                            {"name": "Big mug"}),
    "delete product": Write(Product, "delete", "MUG", "/products/MUG"),
    "delete product with variants and prices": Write(Product, "delete", "TSHIRT", "/products/TSHIRT"),
    "create variant": Write(
        Variant, "create", api_path="/variants",
        api_body={"sku": "TS-XL", "product": "TSHIRT", "name": "T-shirt XL", "options": {"size": "XL"}},
        form=lambda shop: {"sku": "TS-XL", "product": str(shop["TSHIRT"].pk), "name": "T-shirt XL",
                           "options": '{"size": "XL"}'}),
    "create variant, nested options": Write(
        Variant, "create", api_path="/variants",
        api_body={"sku": "TS-XL", "product": "TSHIRT", "options": {"size": ["XL"]}},
        form=lambda shop: {"sku": "TS-XL", "product": str(shop["TSHIRT"].pk),
                           "options": '{"size": ["XL"]}'}),
    "change variant": Write(Variant, "change", "TS-S", "/variants/TS-S", {"name": "Small"},
                            {"name": "Small"}),
    "delete variant": Write(Variant, "delete", "TS-S", "/variants/TS-S"),
    "delete variant with prices": Write(Variant, "delete", "TS-M", "/variants/TS-M"),
    "create price": Write(
        PriceRow, "create", api_path="/prices",
        api_body={"variant": "TS-S", "market": "EU", "unit_price": "9.00"},
        form=lambda shop: {"variant": str(shop["TS-S"].pk), "market": str(shop["EU"].pk),
                           "unit_price": "9.00"}),
    "create price, too many decimals": Write(
        PriceRow, "create", api_path="/prices",
        api_body={"variant": "TS-S", "market": "EU", "unit_price": "9.001"},
        form=lambda shop: {"variant": str(shop["TS-S"].pk), "market": str(shop["EU"].pk),
                           "unit_price": "9.001"}),
    "change price": Write(PriceRow, "change", "ROW", lambda shop: f"/prices/{shop['ROW'].pk}",
                          {"unit_price": "18.00"}, {"unit_price": "18.00"}),
    "delete price": Write(PriceRow, "delete", "ROW", lambda shop: f"/prices/{shop['ROW'].pk}"),
}


# (write, caller, someone else saved in between, outcome, a reason both doors give)
CASES = [
    *[(name, "manager", False, "done", None) for name in (
        "create market", "change market", "delete market", "delete market and its prices",
        "create product", "change product", "delete product", "delete product with variants and prices",
        "create variant", "change variant", "delete variant", "delete variant with prices",
        "create price", "change price", "delete price")],
    *[(name, "csr", False, "forbidden", None) for name in (
        "create market", "change market", "delete market", "create product", "change product",
        "delete product", "create variant", "change variant", "delete variant", "create price",
        "change price", "delete price")],
    *[(name, "manager", True, "stale", "changed since you read it") for name in (
        "change market", "delete market", "delete market and its prices", "change product",
        "delete product", "change variant", "delete variant", "change price", "delete price")],
    # Rules of the data, whoever asks.
    ("create market, default currency not sold", "manager", False, "refused",
     "The default currency must be one of the market's currencies."),
    # (the API's schema refuses a nested value before the service, in its own words)
    ("create variant, nested options", "manager", False, "refused", None),
    ("create price, too many decimals", "manager", False, "refused", "EUR prices have at most 2 decimal(s)."),
    ("change market, drop a currency in use", "manager", False, "refused",
     "use a currency you are removing"),
    ("delete market with prices", "manager", False, "refused", "1 price row(s) use"),
    # Deleting takes along what depends on the object: the caller needs the
    # permission to delete each kind of it.
    ("delete market with prices", "editor", False, "refused", "1 price row(s) use"),
    ("delete market and its prices", "editor", False, "forbidden", None),
    ("delete product with variants and prices", "editor", False, "forbidden", None),
    ("delete variant with prices", "editor", False, "forbidden", None),
    ("delete variant", "editor", False, "done", None),
    ("delete product", "editor", False, "done", None),
]


def _case_id(case) -> str:
    name, caller, interleaved, outcome, _ = case
    return f"{name} as {caller}{' after another save' if interleaved else ''} -> {outcome}"


@dataclass
class Outcome:
    kind: str  # done, forbidden, stale or refused
    reasons: list[str] = field(default_factory=list)


def _state(model) -> list[tuple]:
    """What any write to `model` changes: its rows and their versions."""
    return sorted((str(pk), version) for pk, version in model.objects.values_list("pk", "version"))


def _save_in_between(obj) -> None:
    """Someone else saves the object: its version moves on."""
    obj.refresh_from_db()
    obj.save()


# --- the API ----------------------------------------------------------------------

API_KINDS = {200: "done", 201: "done", 204: "done", 403: "forbidden", 409: "refused", 412: "stale",
             422: "refused"}


def through_api(write: Write, shop, client: Client, interleaved: bool) -> Outcome:
    path = write.api_path(shop) if callable(write.api_path) else write.api_path
    api = ApiClient(client)
    if write.verb == "create":
        response = api.post(path, write.body(shop))
    else:
        read = api.get(path)
        assert read.status_code == 200, read.content
        headers = {"If-Match": read["ETag"]}
        if interleaved:
            _save_in_between(shop[write.target])
        url = f"{path}?{write.query}" if write.query else path
        if write.verb == "change":
            response = api.patch(url, write.body(shop), headers=headers)
        else:
            response = api.delete(url, headers=headers)
    assert response.status_code in API_KINDS, response.content
    if response.status_code == 204:
        return Outcome("done")
    body = response.json()
    reasons = [body["detail"], *(e["message"] for e in body.get("errors", []))] if "detail" in body else []
    return Outcome(API_KINDS[response.status_code], reasons)


# --- the back office -----------------------------------------------------------------


def _field_data(bound: forms.BoundField) -> dict[str, Any]:
    """What a browser sends for one field as the page shows it."""
    widget, value = bound.field.widget, bound.value()
    if isinstance(widget, forms.MultiWidget):
        parts = widget.decompress(value) if not isinstance(value, list) else value
        return {f"{bound.html_name}{suffix}": sub.format_value(part) or ""
                for suffix, sub, part in zip(widget.widgets_names, widget.widgets, parts)}
    if isinstance(bound.field, forms.BooleanField):
        return {bound.html_name: "on"} if value else {}
    if value is None:
        return {bound.html_name: ""}
    if isinstance(value, (list, tuple)):
        return {bound.html_name: [str(v) for v in value]}
    return {bound.html_name: str(value)}


def _forms_on(page) -> list[forms.BaseForm]:
    context = page.context
    found = [context["adminform"].form]
    for inline in context.get("inline_admin_formsets", []):
        found += [inline.formset.management_form, *inline.formset.forms]
    return found


def form_data(page) -> dict[str, Any]:
    """The POST data of an admin add or change page's form as rendered: every
    field of the form and of its inlines, with the management forms."""
    data: dict[str, Any] = {}
    for form in _forms_on(page):
        for bound in form:
            data.update(_field_data(bound))
    return data


def backoffice_outcome(response) -> Outcome:
    if response.status_code == 403:
        return Outcome("forbidden")
    if response.status_code == 200:
        # The form again, with what is wrong on it.
        reasons = [str(message) for form in _forms_on(response)
                   for errors in form.errors.values() for message in errors]
        assert reasons, response.content.decode()[:2000]
        return Outcome("refused", reasons)
    assert response.status_code == 302, response.status_code
    errors = [str(m) for m in get_messages(response.wsgi_request) if m.level == messages.ERROR]
    if not errors:
        return Outcome("done")
    if any("You lack the permission" in e for e in errors):
        return Outcome("forbidden", errors)
    if any("changed since you read it" in e for e in errors):
        return Outcome("stale", errors)
    return Outcome("refused", errors)


def through_backoffice(write: Write, shop, client: Client, interleaved: bool) -> Outcome:
    opts = write.model._meta
    target = shop[write.target] if write.target else None
    if write.verb == "delete":
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[target.pk])
        if write.backoffice_query:
            url += "?" + write.backoffice_query
        data = {"post": "yes"}
    else:
        verb = "add" if write.verb == "create" else "change"
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{verb}",
                      args=[target.pk] if target else [])
    read = client.get(url)
    while read.status_code == 302 and read.url.split("?")[0] == url.split("?")[0]:
        url = read.url  # the same page, moved (e.g. to carry the version it shows)
        read = client.get(url)
    if read.status_code != 200:
        return backoffice_outcome(read)  # refused on sight
    if write.verb != "delete":
        data = {**form_data(read), **write.fields(shop)}
    if interleaved:
        _save_in_between(target)
    return backoffice_outcome(client.post(url, data))


# --- the cases ---------------------------------------------------------------------

DOORS = {"api": through_api, "backoffice": through_backoffice}


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_a_catalog_write_has_the_same_outcome_in_every_door(shop, accounts, door, case):
    # given
    name, caller, interleaved, expected, reason = case
    write = WRITES[name]
    client = Client()
    client.force_login(CALLERS[caller](accounts))
    before = _state(write.model)
    # when
    outcome = DOORS[door](write, shop, client, interleaved)
    # then
    assert outcome.kind == expected, outcome.reasons
    if reason:
        assert any(reason in text for text in outcome.reasons), outcome.reasons
    after = _state(write.model)
    if interleaved:  # the save in between moved one version on; nothing else may change
        changed = [row for row in after if row not in before]
        assert len(changed) == 1 and len(after) == len(before)
    elif outcome.kind == "done":
        assert after != before
    else:
        assert after == before
