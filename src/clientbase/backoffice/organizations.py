"""Organizations in the back office: the tree, moves and safe deletes.

Creating, changing, moving and deleting go through
clientbase.customers.services.organizations, as in the API.
"""

from django import forms
from django.contrib.auth.models import AnonymousUser
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from unfold.decorators import action
from unfold.widgets import UnfoldAdminSelectWidget

from clientbase.core.errors import DomainError
from clientbase.backoffice.exports import export_actions
from clientbase.backoffice.base import ScopedModelAdmin, adopt_saved, expected_version, read_version
from clientbase.backoffice.org_page import OrganizationPanelsMixin
from clientbase.backoffice.org_tree import OrganizationTreeMixin
from clientbase.backoffice.scopes import is_autocomplete
from clientbase.customers.models import GrantLevel, Organization
from clientbase.customers.services.organizations import (
    create_organization,
    delete_organization,
    move_organization,
    update_organization,
)

INDENT = "\u2003"  # an em space per level: the changelist reads as a tree


def tree_label(node) -> str:
    """The node's name indented by its depth, for tree-ordered lists."""
    return f"{INDENT * node.depth}{'└ ' if node.depth else ''}{node.name}"


class MoveForm(forms.Form):
    parent = forms.ModelChoiceField(
        queryset=Organization.objects.none(), required=False,
        empty_label="— (top level)", widget=UnfoldAdminSelectWidget,
        help_text="The organization to move under, with the whole subtree. "
                  "Leave empty to make it a top-level organization.",
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, organization: Organization, choices: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = choices.order_by("path")
        self.fields["parent"].label_from_instance = tree_label
        self.fields["parent"].initial = organization.parent_id
        self.fields["expected_version"].initial = organization.version


@admin.register(Organization)
class OrganizationAdmin(OrganizationTreeMixin, OrganizationPanelsMixin, ScopedModelAdmin):
    list_display = ["tree_name", "key", "kind", "depth", "contact_count_link"]
    list_filter = ["kind"]
    search_fields = ["search_name"]
    search_help_text = "Name (beginning) or key."
    ordering = ["path"]
    list_per_page = 100
    autocomplete_fields = ["parent", "customer_groups"]
    actions_detail = ["move"]
    actions = [*export_actions("organizations"),
               *export_actions("memberships", what="the selection's memberships", prefix="export_memberships")]
    readonly_fields = ["id", "version", "created_at", "updated_at"]

    def get_fieldsets(self, request, obj=None):
        main = ["name", ("key", "kind")]
        # A new organization is placed with the form; an existing one moves
        # with its subtree through "Move" (one atomic service call).
        main.insert(1, "parent" if obj is None else "parent_display")
        return [
            (None, {"fields": main}),
            ("Customer groups", {"fields": ["customer_groups"]}),
            ("Record", {"fields": [("id", "version"), ("created_at", "updated_at")],
                        "classes": ["collapse"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "parent_display"] if obj is not None else fields

    def scoped_queryset(self, request: HttpRequest) -> QuerySet:
        return Organization.objects.visible_to(request.user)

    def managed_queryset(self, request: HttpRequest) -> QuerySet:
        return Organization.objects.visible_to(request.user, GrantLevel.MANAGE)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        if is_autocomplete(request):
            # The autocomplete fills a form field, and putting something in
            # an organization changes it: offer only managed ones.
            qs = qs & self.managed_queryset(request)
        return qs

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(search_name__prefix=term.casefold()) | Q(key=term)), False

    @admin.display(description="Name", ordering="path")
    def tree_name(self, obj: Organization) -> str:
        return tree_label(obj)

    @admin.display(description="Parent")
    def parent_display(self, obj: Organization) -> str:
        if not obj.parent_id:
            return "— (top level)"
        viewer = getattr(obj, "shown_to", AnonymousUser())
        parent = Organization.objects.visible_to(viewer).filter(pk=obj.parent_id).first()
        return str(parent) if parent else "an organization you cannot see"

    @admin.display(description="Contacts")
    def contact_count_link(self, obj: Organization) -> str:
        url = reverse("admin:customers_contact_changelist") + f"?organizations__id__exact={obj.pk}"
        return format_html('<a href="{}">contacts</a>', url)

    # -- saving through the services: the same rules as the API --------------
    def save_model(self, request, obj: Organization, form, change: bool) -> None:
        groups = list(form.cleaned_data.get("customer_groups") or [])
        if not change:
            saved = create_organization(actor=request.user, name=obj.name, parent=obj.parent,
                                        key=obj.key or None, kind=obj.kind, customer_groups=groups)
        else:
            changes = {name: form.cleaned_data[name] for name in ("name", "key", "kind")
                       if name in form.changed_data}
            saved = update_organization(
                obj, actor=request.user, changes=changes, expected_version=expected_version(form),
                customer_groups=groups if "customer_groups" in form.changed_data else None)
        adopt_saved(obj, saved)

    def save_related(self, request, form, formsets, change):
        """Nothing left to save: the service saved the customer groups with
        the organization (the form's own m2m save would bypass it)."""

    def delete_model(self, request, obj: Organization) -> None:
        # Refuses an organization with children or contacts (Conflict), which
        # the base class turns into a message.
        delete_organization(obj, actor=request.user, expected_version=read_version(request))

    def get_actions(self, request):
        actions = super().get_actions(request)
        # A bulk delete would bypass the "not empty" rule.
        actions.pop("delete_selected", None)
        return actions

    # -- moving a subtree ---------------------------------------------------
    def get_actions_detail(self, request, object_id):
        actions = super().get_actions_detail(request, object_id)
        obj = self.model._default_manager.filter(pk=object_id).first() if object_id else None
        if obj is None or not self.has_change_permission(request, obj):
            return []
        return actions

    @action(description="Move", url_path="move", icon="account_tree")
    def move(self, request: HttpRequest, object_id: str):
        """Move the organization and its subtree under another one; a move
        under itself or a descendant shows a form error and changes nothing."""
        org = self.get_object(request, object_id)
        if not self.has_change_permission(request, org):
            raise PermissionDenied
        choices = Organization.objects.visible_to(request.user, GrantLevel.MANAGE)
        form = MoveForm(request.POST or None, organization=org, choices=choices)
        if request.method == "POST" and form.is_valid():
            try:
                moved = move_organization(org, form.cleaned_data["parent"], actor=request.user,
                                          expected_version=form.cleaned_data["expected_version"])
            except DomainError as exc:
                # The service's refusal (a cycle, a new root by a scoped
                # staff member, a stale version) is the form's error.
                form.add_error("parent", exc.detail)
            else:
                where = f"under {moved.parent}" if moved.parent_id else "to the top level"
                messages.success(request, f"Moved {moved} {where}.")
                return HttpResponseRedirect(
                    reverse("admin:customers_organization_change", args=[moved.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Move {org}",
            "subtitle": None,
            "opts": self.opts,
            "original": org,
            "form": form,
            "has_view_permission": True,
            "app_label": self.opts.app_label,
        }
        return TemplateResponse(request, "backoffice/organization_move.html", context)

