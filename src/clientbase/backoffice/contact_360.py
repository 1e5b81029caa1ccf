"""The contact's change page as a "contact 360": organizations with their
paths, direct and effective customer groups with the path that gave each,
the account and its roles, carts and orders, a price preview for a chosen
SKU, in unfold tabs; and the actions on the contact's login (invite,
deactivate, reactivate, password reset), each one service call.

Everything shown is read once per page (`Contact360`), in a fixed number
of queries whatever the number of organizations, groups, orders or lines.
Organizations the viewer may not see are never named nor counted: one mark
stands for all of them (as on the history page).

More actions: a `ContactAction`, an @action method calling
`run_contact_action` (see `invite`), and the method's name in
`Contact360Mixin.contact_actions`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.decorators import action

from clientbase.backoffice.base import ScopedHistoryHelper
from clientbase.backoffice.price_grid import explain_rows
from clientbase.catalog.models import Market, Variant
from clientbase.core.currencies import quantize
from clientbase.core.errors import DomainError
from clientbase.core.models import ids_in_path
from clientbase.customers.models import Account, Contact, Organization
from clientbase.customers.models.visibility import organization_scope
from clientbase.customers.services import invitations
from clientbase.customers.services.groups import effective_groups
from clientbase.pricing.resolver import resolve_price
from clientbase.shopping.services.carts import priced, saved_cart
from clientbase.shopping.services.orders import orders_of_contact

# How many of the contact's orders the page shows (the count says how many there are).
RECENT_ORDERS = 10
# How many SKUs a search for the price preview offers.
SKU_CHOICES = 10
# The query parameters of the price preview (on the change page's own URL).
SKU_PARAM, MARKET_PARAM = "preview_sku", "preview_market"

HIDDEN_ORGANIZATIONS = ScopedHistoryHelper.HIDDEN
HIDDEN_ANCESTOR = "…"


class Contact360:
    """What the contact page shows, read for one viewer (`request.user`)."""

    def __init__(self, contact: Contact, request: HttpRequest):
        self.contact, self.request, self.viewer = contact, request, request.user

    @cached_property
    def organizations(self) -> dict[str, Any]:
        """The contact's organizations the viewer sees, each with its path
        from the root (an ancestor it may not see is "…"), and whether the
        contact has others besides."""
        scope = organization_scope(self.viewer)
        members = list(self.contact.organizations.order_by("path").values_list("id", "name", "key", "path"))
        shown = [m for m in members if scope.contains(m[0], m[3])]
        ancestor_ids = {pk for m in shown for pk in ids_in_path(m[3])[:-1]}
        names = {pk: name if scope.contains(pk, path) else HIDDEN_ANCESTOR for pk, name, path in
                 Organization.objects.filter(pk__in=ancestor_ids).values_list("id", "name", "path")}
        rows = sorted(({"id": pk, "name": name, "key": key,
                        "ancestors": [names.get(a, HIDDEN_ANCESTOR) for a in ids_in_path(path)[:-1]],
                        "url": reverse("admin:customers_organization_change", args=[pk])}
                       for pk, name, key, path in shown), key=lambda row: [*row["ancestors"], row["name"]])
        return {"rows": rows, "hidden": HIDDEN_ORGANIZATIONS if len(shown) < len(members) else ""}

    @cached_property
    def groups(self) -> list[dict[str, Any]]:
        """Every group the contact is effectively in: direct or not, and each
        chain of steps that put it there."""
        return [{"group": eg.group, "direct": any(len(path) == 1 and path[0].kind == "direct"
                                                  for path in eg.paths),
                 "reasons": eg.reasons}
                for eg in effective_groups(self.contact, viewer=self.viewer)]

    @cached_property
    def account(self) -> Account | None:
        account = Account.objects.filter(contact=self.contact).prefetch_related("groups").first()
        if account is not None:
            account.contact = self.contact
        return account

    @cached_property
    def orders(self) -> dict[str, Any]:
        """The most recent orders (with their lines) and how many there are."""
        orders = orders_of_contact(self.contact, self.account).select_related("market")
        recent = list(orders[:RECENT_ORDERS])
        for order in recent:
            order.shown_total = quantize(order.total, order.currency)
            for line in order.lines.all():
                line.shown_total = quantize(line.line_total, order.currency)
        count = len(recent) if len(recent) < RECENT_ORDERS else orders.count()
        return {"recent": recent, "count": count, "more": count - len(recent)}

    @cached_property
    def cart(self):
        cart = saved_cart(self.account) if self.account is not None else None
        return priced(cart) if cart is not None else None

    @cached_property
    def price_preview(self) -> dict[str, Any]:
        """The price of the SKU asked for (?preview_sku=) in the market asked
        for (default: the first active one), explained; or the SKUs that
        begin with what was typed."""
        markets = list(Market.objects.filter(is_active=True).order_by("key"))
        wanted = (self.request.GET.get(MARKET_PARAM) or "").strip()
        market = next((m for m in markets if m.key == wanted), markets[0] if markets else None)
        sku = (self.request.GET.get(SKU_PARAM) or "").replace("\x00", "").strip()
        preview = {"markets": markets, "market": market, "sku": sku, "sku_param": SKU_PARAM,
                   "market_param": MARKET_PARAM}
        if not sku:
            return preview
        if market is None:
            return {**preview, "problem": "No market is active: there is nothing to price in."}
        variant = Variant.objects.filter(sku=sku).first()
        if variant is None:
            choices = list(Variant.objects.filter(sku__startswith=sku).order_by("sku")
                           .values_list("sku", flat=True)[:SKU_CHOICES])
            problem = (f"No variant has the SKU {sku}." + (" Did you mean one of these?" if choices else ""))
            return {**preview, "problem": problem, "choices": choices}
        resolution = resolve_price(sku, contact=self.contact, quantity=Decimal(1), market=market,
                                   explain=True)
        return {**preview, "variant": variant, "resolution": resolution,
                "candidates": explain_rows(resolution, self.viewer),
                "variant_preview_url": reverse("admin:pricing_variant_preview", args=[variant.pk])
                + f"?contact={self.contact.pk}&market={market.key}"}


# --- actions -------------------------------------------------------------------

@dataclass(frozen=True)
class ContactAction:
    """An action of the contact page: a confirmation page, then one service call."""

    name: str
    label: str
    confirm: str  # what happens, with {contact} and {email}
    run: Callable[[HttpRequest, Contact], str]  # calls the service; returns the success message
    applies: Callable[[Account | None], bool]  # whether the page offers it


def _storefront_link(request: HttpRequest, url_name: str) -> invitations.LinkBuilder:
    return lambda uidb64, token: request.build_absolute_uri(reverse(url_name, args=[uidb64, token]))


def _invite(request: HttpRequest, contact: Contact) -> str:
    account = invitations.invite_contact(
        contact, actor=request.user, link=_storefront_link(request, "storefront:accept_invitation"))
    return f"Invitation sent to {account.email}."


def _deactivate(request: HttpRequest, contact: Contact) -> str:
    account = invitations.set_account_active(contact, actor=request.user, active=False)
    return f"The account {account.email} is deactivated: it cannot log in, and its API tokens stop working."


def _reactivate(request: HttpRequest, contact: Contact) -> str:
    account = invitations.set_account_active(contact, actor=request.user, active=True)
    return f"The account {account.email} is active again."


def _password_reset(request: HttpRequest, contact: Contact) -> str:
    account = invitations.send_password_reset(
        contact, actor=request.user, link=_storefront_link(request, "storefront:password_reset_confirm"))
    return f"A password reset link was sent to {account.email}."


INVITE = ContactAction(
    "invite", "Invite to create an account",
    "Send {contact} an e-mail at {email} with a link to choose a password for a new storefront account.",
    _invite, lambda account: account is None or invitations.is_pending_invitation(account))
DEACTIVATE = ContactAction(
    "deactivate", "Deactivate the account",
    "The account {email} will not be able to log in anywhere, and its API tokens stop working.",
    _deactivate, lambda account: account is not None and account.is_active)
REACTIVATE = ContactAction(
    "reactivate", "Reactivate the account", "The account {email} will be able to log in again.",
    _reactivate, lambda account: account is not None and not account.is_active
    and not invitations.is_pending_invitation(account))
PASSWORD_RESET = ContactAction(
    "password-reset", "Send a password reset",
    "Send {email} the storefront's password-reset e-mail, with a link to choose a new password.",
    _password_reset, lambda account: account is not None and account.is_active)


class Contact360Mixin:
    """ContactAdmin's change page as a contact 360 (put before ScopedModelAdmin)."""

    # The page's actions, by the name of the @action method that runs each.
    contact_actions = {"invite": INVITE, "deactivate": DEACTIVATE, "reactivate": REACTIVATE,
                       "password_reset": PASSWORD_RESET}
    actions_detail = list(contact_actions)
    change_form_outer_after_template = "customers/contact_360/outer_after.html"

    # Read-only displays of the page (each a tab's content).
    contact_360_fields = ["organizations_360", "groups_360", "account_360", "orders_360", "cart_360",
                          "price_preview_360", "history_360"]

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        obj = super().get_object(request, object_id, from_field)
        obj.contact_360 = Contact360(obj, request)
        return obj

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return [*super().get_readonly_fields(request, obj), *self.contact_360_fields]

    def contact_360_fieldsets(self, request: HttpRequest, fieldsets: list, prices: list[str]) -> list:
        """The page's fieldsets as tabs: the contact's fields first, then one
        tab per part of its 360 (with the price preview's tab first when a SKU
        was asked for). `prices`: the price fields the viewer may see."""
        by_name = dict(fieldsets)
        details, membership = by_name[None], by_name["Membership"]
        tabs = [
            ("Organizations and groups", [*(f for f in membership["fields"] if f != "organizations_display"),
                                          "organizations_360", "groups_360"]),
            ("Orders and carts", ["orders_360", "cart_360"]),
            ("Account", ["account_360"]),
            ("Prices", [*prices, *(["price_preview_360"] if prices else [])]),
            ("Preferences", by_name["Preferences"]["fields"]),
            ("Record", [*by_name["Record"]["fields"], "history_360"]),
        ]
        if SKU_PARAM in request.GET:
            tabs.insert(0, tabs.pop(3))
        return [(None, details), *((name, {"fields": fields, "classes": ["tab"]})
                                   for name, fields in tabs if fields)]

    # -- the tabs' contents -----------------------------------------------------
    def _panel(self, obj: Contact, template: str, **context) -> str:
        data = getattr(obj, "contact_360", None)
        if data is None:
            return "—"
        return render_to_string(f"customers/contact_360/{template}.html",
                                {"contact": obj, "c360": data, **context}, request=data.request)

    @admin.display(description="Paths")
    def organizations_360(self, obj: Contact) -> str:
        return self._panel(obj, "organizations")

    @admin.display(description="Direct and effective groups")
    def groups_360(self, obj: Contact) -> str:
        return self._panel(obj, "groups")

    @admin.display(description="Account")
    def account_360(self, obj: Contact) -> str:
        return self._panel(obj, "account")

    @admin.display(description="Orders")
    def orders_360(self, obj: Contact) -> str:
        return self._panel(obj, "orders")

    @admin.display(description="Cart")
    def cart_360(self, obj: Contact) -> str:
        return self._panel(obj, "cart")

    @admin.display(description="Price of a SKU")
    def price_preview_360(self, obj: Contact) -> str:
        return self._panel(obj, "price_preview")

    @admin.display(description="History")
    def history_360(self, obj: Contact) -> str:
        return self._panel(obj, "history",
                           history_url=reverse("admin:customers_contact_history", args=[obj.pk]))

    # -- actions ------------------------------------------------------------------
    def get_actions_detail(self, request: HttpRequest, object_id):
        """The actions that fit the contact's account (none yet, pending
        invitation, active, inactive). Each page still refuses, saying why."""
        actions = super().get_actions_detail(request, object_id)
        if not object_id:
            return actions
        account = Account.objects.filter(contact_id=object_id).first()
        prefix = f"{self.opts.app_label}_{self.opts.model_name}_"
        offered = []
        for unfold_action in actions:
            contact_action = self.contact_actions.get(unfold_action.action_name.removeprefix(prefix))
            if contact_action is None or contact_action.applies(account):
                offered.append(unfold_action)
        return offered

    @action(description=INVITE.label, url_path=INVITE.name, icon="forward_to_inbox")
    def invite(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.run_contact_action(request, object_id, INVITE)

    @action(description=DEACTIVATE.label, url_path=DEACTIVATE.name, icon="block")
    def deactivate(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.run_contact_action(request, object_id, DEACTIVATE)

    @action(description=REACTIVATE.label, url_path=REACTIVATE.name, icon="check_circle")
    def reactivate(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.run_contact_action(request, object_id, REACTIVATE)

    @action(description=PASSWORD_RESET.label, url_path=PASSWORD_RESET.name, icon="lock_reset")
    def password_reset(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.run_contact_action(request, object_id, PASSWORD_RESET)

    def run_contact_action(self, request: HttpRequest, object_id: str, contact_action: ContactAction) -> HttpResponse:
        """GET: what the action will do, and a button to confirm; POST: the
        service call, then back to the contact with its answer (or its
        refusal) as a message. A contact the caller may not see is a 404."""
        self._check_id(request, object_id)
        contact = self.get_object(request, object_id)
        change_url = reverse("admin:customers_contact_change", args=[contact.pk])
        if request.method == "POST":
            try:
                done = contact_action.run(request, contact)
            except DomainError as exc:
                messages.error(request, f"{contact_action.label}: refused. {exc.detail}")
            else:
                messages.success(request, done)
            return HttpResponseRedirect(change_url)
        account = contact.contact_360.account
        context = {
            **self.admin_site.each_context(request),
            "title": f"{contact_action.label}: {contact}",
            "subtitle": None,
            "opts": self.opts,
            "original": contact,
            "has_view_permission": True,
            "app_label": self.opts.app_label,
            "action": contact_action,
            "explanation": contact_action.confirm.format(
                contact=contact, email=(account.email if account else contact.email) or "—"),
            "change_url": change_url,
        }
        return TemplateResponse(request, "customers/contact_360/confirm.html", context)
