"""Personal API tokens in the back office. Only the hash is stored: the raw
token is shown once, in a message, right after it is created."""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from unfold.admin import ModelAdmin

from clientbase.backoffice.errors import DomainErrorsAsMessages
from clientbase.backoffice.base import EveryStaffMemberMixin, ScopedMixin, adopt_saved
from clientbase.customers.models import Account, ApiToken, GrantLevel
from clientbase.customers.services.accounts import issue_token, revoke_token


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["account", "name", "expires_at"]

    def clean_expires_at(self):
        expires_at = self.cleaned_data.get("expires_at")
        if self.instance._state.adding and expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("A token must expire in the future.", code="expired")
        return expires_at


@admin.register(ApiToken)
class ApiTokenAdmin(EveryStaffMemberMixin, ScopedMixin, DomainErrorsAsMessages, ModelAdmin):
    form = ApiTokenForm
    list_display = ["hint", "name", "account", "created_at", "last_used_at", "expires_at",
                    "revoked_at", "active"]
    list_filter = ["revoked_at"]
    list_select_related = ["account"]
    actions = ["revoke"]
    search_fields = ["account__email", "name"]

    def scoped_queryset(self, request: HttpRequest) -> QuerySet:
        return ApiToken.objects.visible_to(request.user)

    def choice_queryset(self, request, model):
        if model is Account:
            # Whose token may be made here; the service has the last word
            # (someone holding more than the staff member is refused).
            if request.user.has_perm("customers.add_apitoken"):
                return Account.objects.visible_to(request.user, GrantLevel.MANAGE)
            return Account.objects.filter(pk=request.user.pk)
        return super().choice_queryset(request, model)

    # Everyone with the back office handles their own tokens, as in the API
    # (EveryStaffMemberMixin); the service decides about anyone else's.
    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # revoke instead: a revoked token stays on record

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["account", "name", "expires_at"]
        return ["account", "name", "hint", "created_at", "last_used_at", "expires_at",
                "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # A token's secret cannot change; revoke it and make a new one.
        return ["account", "hint", "created_at", "last_used_at", "expires_at", "revoked_at"]

    def get_changeform_initial_data(self, request):
        return {"account": request.user.pk}

    @admin.display(boolean=True, description="Active")
    def active(self, obj: ApiToken) -> bool:
        return obj.is_active

    def save_model(self, request, obj: ApiToken, form, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        token, raw = issue_token(obj.account, actor=request.user, name=obj.name,
                                 expires_at=obj.expires_at)
        adopt_saved(obj, token)
        messages.warning(
            request,
            f"The new token is {raw} — copy it now: it is stored hashed and will not be shown again.",
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            revoke_token(token, actor=request.user)
        messages.success(request, f"Revoked {len(tokens)} token(s).")
