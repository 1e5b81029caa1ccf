"""The back office's start page: the shop's own sections (the sidebar's
groups, Customers, Catalog, Access and, for who may see it, Security), with
counts and the latest changes, all of it what the signed-in account can see.

Nothing of Django's own app list shows here (no "Authentication and
Authorization › Groups" beside Roles, no django-axes tables outside
Security). Counts go through the same scopes as the lists they link to, and
never count a million contacts on each load (clientbase.backoffice.counts).
Recent changes are django-simple-history's records of the objects the
account sees: one query per kind of object, whatever the size of the tables.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse

from clientbase.backoffice.counts import ShownCount, shown_count
from clientbase.catalog.models import Market, Product, Variant
from clientbase.customers.models import Account, Contact, CustomerGroup, Grant, Organization
from clientbase.customers.models.visibility import contact_scope
from clientbase.pricing.models import PriceRow

RECENT_SIZE = 10


def _name(record) -> str:
    return record.name


# The kinds of object whose changes the dashboard lists: how a historical
# record names its object (from its own columns; a relation named must be
# visible whenever the record is), and what it reads along.
RECENT: list[tuple[type[Model], Callable[[Any], str], tuple[str, ...]]] = [
    (Contact, lambda r: " ".join(p for p in (r.first_name, r.last_name) if p) or r.email or "a contact", ()),
    (Organization, _name, ()),
    (CustomerGroup, _name, ()),
    (Account, lambda r: r.email, ()),
    (Grant, lambda r: f"{r.get_level_display().lower()} on {r.organization.name}" if r.organization else "grant",
     ("organization",)),
    (Market, lambda r: r.key, ()),
    (Product, _name, ()),
    (Variant, lambda r: r.sku, ()),
    (PriceRow, lambda r: f"{r.instance.shown_price} {r.currency} "
                         f"({r.sale_type}{':' + r.sale_code if r.sale_code else ''})", ()),
]
CHANGE_KINDS = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass(frozen=True)
class RecentChange:
    when: datetime
    kind: str
    what: str
    label: str
    who: str
    url: str


def _may_view(user, model: type[Model]) -> bool:
    opts = model._meta
    return (user.has_perm(f"{opts.app_label}.view_{opts.model_name}")
            or user.has_perm(f"{opts.app_label}.change_{opts.model_name}"))


def recent_changes(user, size: int = RECENT_SIZE) -> list[RecentChange]:
    """The latest changes of the objects `user` may see (and whose list it
    may open), newest first. A record of an object it cannot see — or of one
    deleted, unless it sees everything of that kind — is left out; who made a
    change is named only when `user` sees that account."""
    records = []
    for model, label, related in RECENT:
        if not _may_view(user, model):
            continue
        history = model.history.select_related(*related).order_by("-history_date")
        visible = model.objects.visible_to(user)
        if visible.query.has_filters():
            history = history.filter(id__in=visible.values("pk"))
        records += [(model, label, record) for record in history[:size]]
    records.sort(key=lambda item: item[2].history_date, reverse=True)
    records = records[:size]
    authors = {r.history_user_id for _, _, r in records if r.history_user_id}
    seen = dict(Account.objects.visible_to(user).filter(pk__in=authors).values_list("pk", "email")) if authors else {}
    return [
        RecentChange(
            when=record.history_date,
            kind=CHANGE_KINDS.get(record.history_type, "changed"),
            what=model._meta.verbose_name,
            label=label(record),
            who=("you" if record.history_user_id == user.pk else seen.get(record.history_user_id, "someone")
                 if record.history_user_id else "the system"),
            url=reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_history", args=[record.id]),
        )
        for model, label, record in records
    ]


# The counted lists, by the link the sidebar gives them.
COUNTED = [
    (Contact, "admin:customers_contact_changelist"),
    (Organization, "admin:customers_organization_changelist"),
    (CustomerGroup, "admin:customers_customergroup_changelist"),
]


def counts(user) -> dict[str, ShownCount]:
    """How many of each counted kind `user` sees, by list URL."""
    shown = {}
    for model, url_name in COUNTED:
        if not _may_view(user, model):
            continue
        visible = model.objects.visible_to(user)
        everything = contact_scope(user).everything if model is Contact else not visible.query.has_filters()
        shown[reverse(url_name)] = shown_count(visible, whole_table=everything)
    return shown


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    """Adds `dashboard_sections` (the sidebar's groups, with the links the
    account may follow and their counts) and `recent_changes`."""
    user = request.user
    shown = counts(user)
    sections = []
    for group in context.get("sidebar_navigation") or []:
        items = [{"title": item["title"], "icon": item.get("icon"), "url": str(item["link"]),
                  "count": shown.get(str(item["link"]))}
                 for item in group.get("items", []) if item.get("has_permission")
                 and str(item["link"]) != reverse("admin:index")]
        if items:
            sections.append({"title": group.get("title"), "items": items})
    context["dashboard_sections"] = sections
    context["recent_changes"] = recent_changes(user)
    return context
