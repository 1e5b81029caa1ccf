"""Accounts (log-ins) and roles in the back office.

An account's password is only ever set (argon2id, through Django's hashers);
the hash is never shown. Roles are Django groups; only someone who sees
everything may hand them out, since a role is a set of permissions.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm
from unfold.widgets import UnfoldAdminPasswordWidget

from clientbase.backoffice.base import ScopedModelAdmin
from clientbase.backoffice.scopes import visible_accounts
from clientbase.customers.models import Account, Role
from clientbase.core.errors import DomainError
from clientbase.customers.services.accounts import (
    BUILT_IN_ROLES,
    check_may_delegate,
    delete_account,
    delete_role,
    permission_name,
)


def _check_email_free(form: forms.ModelForm) -> str:
    email = (form.cleaned_data.get("email") or "").strip().lower()
    others = Account.objects.filter(email__iexact=email)
    if form.instance.pk:
        others = others.exclude(pk=form.instance.pk)
    if email and others.exists():
        raise forms.ValidationError("An account with this e-mail address already exists.",
                                    code="duplicate_email")
    return email


class AccountCreationForm(BaseUserCreationForm):
    """A new account: e-mail, password (twice), roles, contact, active."""

    class Meta:
        model = Account
        fields = ("email", "groups", "contact", "is_active")
        labels = {"groups": "Roles"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("password1", "password2"):
            self.fields[name].widget = UnfoldAdminPasswordWidget(
                attrs={"autocomplete": "new-password"})

    def clean_email(self) -> str:
        return _check_email_free(self)


class AccountChangeForm(forms.ModelForm):
    """An existing account. The password is not a field: it has its own page."""

    class Meta:
        model = Account
        fields = ("email", "groups", "contact", "is_active", "is_superuser")
        labels = {"groups": "Roles"}

    def clean_email(self) -> str:
        return _check_email_free(self)


@admin.register(Account)
class AccountAdmin(ScopedModelAdmin, UserAdmin):
    form = AccountChangeForm
    add_form = AccountCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ["email", "contact", "roles_display", "is_active", "last_login"]
    list_filter = ["is_active", "is_superuser", "groups"]
    search_fields = ["email"]
    search_help_text = "E-mail (beginning)."
    ordering = ["email"]
    filter_horizontal = ["groups"]
    autocomplete_fields = ["contact"]
    readonly_fields = ["password_link", "last_login", "date_joined", "version"]
    add_fieldsets = [
        (None, {"fields": ["email", "password1", "password2"]}),
        ("Access", {"fields": ["groups", "contact", "is_active"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        access = ["groups", "contact", "is_active"]
        if request.user.is_superuser:
            access.append("is_superuser")
        return [
            (None, {"fields": ["email", "password_link"]}),
            ("Access", {"fields": access}),
            ("Record", {"fields": ["last_login", "date_joined", "version"],
                        "classes": ["collapse"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.sees_everything:
            # A role is a set of permissions: handing one out is for those who
            # already see everything, or a representative could make itself
            # an administrator.
            fields += ["groups", "is_superuser"]
        if obj is None:
            fields.remove("password_link")
        return fields

    def scoped_queryset(self, request: HttpRequest) -> QuerySet:
        return visible_accounts(request.user).prefetch_related("groups")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lower()
        if not term:
            return queryset, False
        # E-mails are stored lower-cased: a prefix lookup uses the unique index.
        return queryset.filter(email__prefix=term), False

    @admin.display(description="Roles")
    def roles_display(self, obj: Account) -> str:
        return ", ".join(sorted(g.name for g in obj.groups.all() if g.name != Role.EVERYONE))

    @admin.display(description="Password")
    def password_link(self, obj: Account) -> str:
        state = "set" if obj.has_usable_password() else "not set"
        return format_html('Password {}. <a href="../password/" class="text-primary-600">'
                           "Set a new password</a>.", state)

    def delete_model(self, request, obj: Account) -> None:
        delete_account(obj)

    def delete_queryset(self, request, queryset) -> None:
        for account in queryset:
            delete_account(account)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Every account has the role Everyone, whatever the form said.
        everyone = Group.objects.filter(name=Role.EVERYONE).first()
        if everyone is not None:
            form.instance.groups.add(everyone)


admin.site.unregister(Group)


class RoleForm(forms.ModelForm):
    class Meta:
        model = Group
        fields = ["name", "permissions"]

    def clean(self):
        cleaned = super().clean()
        # Nobody hands a role permissions beyond their own.
        names = {permission_name(p) for p in cleaned.get("permissions") or []}
        try:
            check_may_delegate(self.request_user, permissions=names)
        except DomainError as exc:
            self.add_error("permissions", exc.detail)
        if self.instance.pk and self.instance.name in BUILT_IN_ROLES and (
                cleaned.get("name") != self.instance.name):
            self.add_error("name", f"{self.instance.name} is a built-in role; it cannot be renamed.")
        return cleaned


@admin.register(Group)
class RoleAdmin(GroupAdmin, ModelAdmin):
    """Roles are Django groups; their permissions say what a role may do."""

    form = RoleForm
    list_display = ["name", "account_count"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        return type("ScopedRoleForm", (form_class,), {"request_user": request.user})

    def delete_model(self, request, obj: Group) -> None:
        # Built-in roles are refused (Conflict), shown as a message.
        delete_role(obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:
            messages.error(request, exc.detail)
            return HttpResponseRedirect(reverse("admin:auth_group_change", args=[object_id]))

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="Accounts")
    def account_count(self, obj: Group) -> int:
        return obj.user_set.count()
