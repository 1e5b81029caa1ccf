"""Organization grants in the back office: who may see or manage which
organizations (and, with descendants, everything below)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from clientbase.backoffice.base import (
    VERSION_FIELD, ScopedModelAdmin, adopt_saved, expected_version, read_version,
)
from clientbase.customers.models import Grant, GrantLevel
from clientbase.customers.services.grants import create_grant, delete_grant, update_grant


@admin.register(Grant)
class GrantAdmin(ScopedModelAdmin):
    list_display = ["holder", "organization", "level", "include_descendants", "updated_at"]
    list_filter = ["level", "include_descendants", "role"]
    list_select_related = ["role", "account", "organization"]
    autocomplete_fields = ["organization", "account"]
    fields = ["role", "account", "organization", "level", "include_descendants"]
    search_fields = ["organization__search_name"]

    def scoped_queryset(self, request: HttpRequest) -> QuerySet:
        return Grant.objects.visible_to(request.user)

    def managed_queryset(self, request: HttpRequest) -> QuerySet:
        # Changing a grant changes who sees the organization: only for those
        # who manage it.
        return Grant.objects.visible_to(request.user, GrantLevel.MANAGE)

    # -- saving through the services: the same rules as the API ---------------
    def save_model(self, request, obj: Grant, form, change: bool) -> None:
        if not change:
            created = create_grant(organization=obj.organization, role=obj.role,
                                   account=obj.account,
                                   include_descendants=obj.include_descendants,
                                   level=obj.level, actor=request.user)
            adopt_saved(obj, created)
            return
        changes = {name: form.cleaned_data[name] for name in form.changed_data
                   if name != VERSION_FIELD}
        updated = update_grant(obj, actor=request.user, changes=changes,
                               expected_version=expected_version(form))
        obj.version = updated.version

    def delete_model(self, request, obj: Grant) -> None:
        delete_grant(obj, actor=request.user, expected_version=read_version(request))

    def delete_queryset(self, request, queryset) -> None:
        for grant in queryset:
            delete_grant(grant, actor=request.user)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(organization__search_name__prefix=term.casefold()), False

    @admin.display(description="Holder")
    def holder(self, obj: Grant) -> str:
        return f"role {obj.role.name}" if obj.role_id else f"account {obj.account}"
