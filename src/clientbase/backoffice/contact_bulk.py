"""Bulk actions on the contact list: add the selection to a customer group,
remove it from one, add it to an organization — each after a confirmation
page that says how many contacts change and names the first of them, and
which are refused (seen but not managed) — and export the selection, or its
memberships, as CSV, XLSX or JSON lines (backoffice.exports).

The page only translates: the preview and the write are one call of
`customers.services.membership_batches` with the staff member.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AutocompleteSelect
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from unfold.widgets import UnfoldAdminSelectWidget

from clientbase.backoffice.exports import export_actions
from clientbase.backoffice.scopes import choices_for
from clientbase.customers.models import Contact, CustomerGroup, Organization
from clientbase.customers.services.membership_batches import (
    SAMPLE_SIZE, BulkOutcome, add_contacts_to_customer_group, add_contacts_to_organization,
    remove_contacts_from_customer_group,
)

PREVIEW = "_preview"
CONFIRM = "_confirm"


@dataclass(frozen=True)
class BulkChange:
    """One bulk membership action: what it asks for (`field`, offered by
    `choices`), the service that does it, and how the page words it."""

    name: str
    title: str
    field: str
    service: Callable[..., BulkOutcome]
    verb: str          # "will be added to", for "3 contacts will be added to Gold"
    done: str          # "added to"
    unchanged: str     # "already in it"


GROUP_ADD = BulkChange("add_to_customer_group", "Add to a customer group", "group",
                       add_contacts_to_customer_group, "will be added to", "added to", "already members")
GROUP_REMOVE = BulkChange("remove_from_customer_group", "Remove from a customer group", "group",
                          remove_contacts_from_customer_group, "will be removed from", "removed from",
                          "not direct members")
ORGANIZATION_ADD = BulkChange("add_to_organization", "Add to an organization", "organization",
                              add_contacts_to_organization, "will be added to", "added to", "already members")


def _group_label(group: CustomerGroup) -> str:
    return f"{'— ' * group.depth}{group.name} ({group.key})"


def _target_form(change: BulkChange, request: HttpRequest, model_admin, data=None) -> forms.Form:
    """The form naming the group or organization: the groups the staff
    member sees (tens of them: a list), the organizations it manages (an
    autocomplete: there may be thousands)."""
    form = forms.Form(data)
    if change.field == "group":
        field = forms.ModelChoiceField(queryset=choices_for(request, CustomerGroup).order_by("path"),
                                       label="Customer group", widget=UnfoldAdminSelectWidget)
        field.label_from_instance = _group_label
    else:
        field = forms.ModelChoiceField(
            queryset=choices_for(request, Organization), label="Organization",
            widget=AutocompleteSelect(Contact._meta.get_field("organizations"), model_admin.admin_site))
    form.fields[change.field] = field
    return form


def _membership_page(change: BulkChange, model_admin, request: HttpRequest, queryset: QuerySet):
    """Choose the target, preview, confirm: a GET-less flow of POSTs back to
    the changelist (with its filters), each carrying the selection."""
    asked = PREVIEW in request.POST or CONFIRM in request.POST
    form = _target_form(change, request, model_admin, request.POST if asked else None)
    outcome = None
    if asked and form.is_valid():
        target = form.cleaned_data[change.field]
        confirmed = CONFIRM in request.POST
        outcome = change.service(queryset, target, actor=request.user, preview=not confirmed)
        if confirmed:
            parts = [f"{outcome.changed} contact(s) {change.done} {target}."]
            if outcome.unchanged:
                parts.append(f"{outcome.unchanged} {change.unchanged}.")
            if outcome.refused:
                parts.append(f"{outcome.refused} refused: you may view them but not change them.")
            model_admin.message_user(request, " ".join(parts),
                                     messages.SUCCESS if outcome.changed else messages.WARNING)
            return None  # back to the list, with its filters
    selected = queryset.count() if outcome is None else outcome.selected
    context = {
        **model_admin.admin_site.each_context(request),
        "title": change.title,
        "subtitle": None,
        "opts": model_admin.opts,
        "app_label": model_admin.opts.app_label,
        "has_view_permission": True,
        "change": change,
        "form": form,
        "outcome": outcome,
        "target": form.cleaned_data.get(change.field) if outcome is not None else None,
        "selected_count": selected,
        "selection_sample": list(queryset[:SAMPLE_SIZE]) if outcome is None else [],
        "sample_size": SAMPLE_SIZE,
        "more_changing": outcome.changed - len(outcome.sample) if outcome is not None else 0,
        "action": change.name,
        "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media + form.media,
    }
    return TemplateResponse(request, "backoffice/contact_bulk.html", context)


@admin.action(description="Add to a customer group…", permissions=["change"])
def add_to_customer_group(model_admin, request: HttpRequest, queryset: QuerySet):
    return _membership_page(GROUP_ADD, model_admin, request, queryset)


@admin.action(description="Remove from a customer group…", permissions=["change"])
def remove_from_customer_group(model_admin, request: HttpRequest, queryset: QuerySet):
    return _membership_page(GROUP_REMOVE, model_admin, request, queryset)


@admin.action(description="Add to an organization…", permissions=["change"])
def add_to_organization(model_admin, request: HttpRequest, queryset: QuerySet):
    return _membership_page(ORGANIZATION_ADD, model_admin, request, queryset)


BULK_ACTIONS = [add_to_customer_group, remove_from_customer_group, add_to_organization,
                *export_actions("contacts"),
                *export_actions("memberships", what="the selection's memberships", prefix="export_memberships")]
