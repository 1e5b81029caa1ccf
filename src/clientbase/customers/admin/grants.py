"""Organization grants in the back office: who may see or manage which
organizations (and, with descendants, everything below)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from clientbase.customers.admin.base import ScopedModelAdmin
from clientbase.customers.models import Grant, GrantLevel, Organization


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
        return Grant.objects.filter(
            organization__in=Organization.objects.visible_to(request.user, GrantLevel.MANAGE))

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(organization__search_name__prefix=term.casefold()), False

    @admin.display(description="Holder")
    def holder(self, obj: Grant) -> str:
        return f"role {obj.role.name}" if obj.role_id else f"account {obj.account}"
