"""Customer groups in the back office: a shop-wide tree (Customers > Gold,
Silver, Bronze). Saving and deleting go through
clientbase.customers.services.groups."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from clientbase.core.errors import DomainError
from clientbase.backoffice.exports import export_actions
from clientbase.backoffice.base import ScopedModelAdmin, adopt_saved, expected_version, read_version
from clientbase.backoffice.group_pages import GroupPagesMixin
from clientbase.backoffice.organizations import tree_label
from clientbase.customers.models import CustomerGroup
from clientbase.customers.services.groups import (
    create_customer_group, delete_customer_group, update_customer_group,
)
from clientbase.customers.services.trees import check_parent


class CustomerGroupForm(forms.ModelForm):
    class Meta:
        model = CustomerGroup
        fields = "__all__"

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        # A new parent moves the subtree; refuse a cycle here, as a form error.
        try:
            check_parent(self.instance if not self.instance._state.adding else None, parent)
        except DomainError as exc:
            raise ValidationError(exc.detail, code=exc.code) from exc
        return parent


@admin.register(CustomerGroup)
class CustomerGroupAdmin(GroupPagesMixin, ScopedModelAdmin):
    form = CustomerGroupForm
    list_display = ["tree_name", "key", "direct_count", "effective_count", "organization_count"]
    search_fields = ["name", "key"]
    ordering = ["path"]
    list_per_page = 100
    autocomplete_fields = ["parent"]
    fields = ["name", "key", "parent", "description"]
    readonly_fields = ["tree_display", "members_display", "prices_display", "segments_display"]
    actions = export_actions("customer-groups")

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.append(("Tree, members, prices and segments", {"fields": self.readonly_fields}))
        return fieldsets

    def scoped_queryset(self, request: HttpRequest) -> QuerySet:
        return CustomerGroup.objects.visible_to(request.user)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # A small table (tens of groups): a contains search is fine here.
        return queryset.filter(Q(name__icontains=term) | Q(key__iexact=term)), False

    @admin.display(description="Name", ordering="path")
    def tree_name(self, obj: CustomerGroup) -> str:
        return tree_label(obj)

    # -- saving through the services: the same rules as the API ----------------
    def save_model(self, request, obj: CustomerGroup, form, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            saved = create_customer_group(actor=request.user, key=data["key"], name=data["name"],
                                          description=data.get("description", ""),
                                          parent=data.get("parent"))
        else:
            saved = update_customer_group(
                obj, actor=request.user, expected_version=expected_version(form),
                changes={k: data[k] for k in ("key", "name", "description") if k in form.changed_data},
                parent=data.get("parent"), parent_given="parent" in form.changed_data)
        adopt_saved(obj, saved)

    def delete_model(self, request, obj: CustomerGroup) -> None:
        delete_customer_group(obj, actor=request.user, expected_version=read_version(request))

    def get_actions(self, request):
        actions = super().get_actions(request)
        # A bulk delete would bypass the "no child groups" rule.
        actions.pop("delete_selected", None)
        return actions
