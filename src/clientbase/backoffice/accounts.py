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
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import action
from unfold.forms import AdminPasswordChangeForm
from unfold.widgets import UnfoldAdminPasswordWidget

from clientbase.backoffice.account_scope import account_scope_view
from clientbase.backoffice.base import (
    BadInputMixin, ScopedModelAdmin, adopt_saved, expected_version, read_version,
)
from clientbase.backoffice.errors import DomainErrorsAsMessages
from clientbase.customers.models import Account, Role
from clientbase.core.errors import DomainError
from clientbase.customers.services.accounts import (
    check_account_email_free,
    check_may_delegate,
    create_account,
    create_role,
    delete_account,
    delete_role,
    permission_name,
    update_account,
    update_role,
)


def _check_email_free(form: forms.ModelForm) -> str:
    """The service's rule, asked early so that it shows on the field."""
    email = (form.cleaned_data.get("email") or "").strip().lower()
    try:
        check_account_email_free(email, exclude=form.instance if form.instance.pk else None)
    except DomainError as exc:
        raise forms.ValidationError(exc.detail, code=exc.code) from exc
    return email


class PasswordForm(AdminPasswordChangeForm):
    """Sets (or, with "disable password", unsets) a password through the
    accounts service, so the delegation rules of the API hold here too."""

    def save(self, commit: bool = True) -> Account:
        password = self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        return update_account(self.user, actor=self.user.acting_account, changes={"password": password})


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
    change_password_form = PasswordForm
    list_display = ["email", "contact", "roles_display", "is_active", "last_login"]
    list_filter = ["is_active", "is_superuser", "groups"]
    search_fields = ["email"]
    search_help_text = "E-mail (beginning)."
    ordering = ["email"]
    filter_horizontal = ["groups"]
    autocomplete_fields = ["contact"]
    readonly_fields = ["password_link", "last_login", "date_joined", "version"]
    actions_detail = ["scope"]
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
        return Account.objects.visible_to(request.user).prefetch_related("groups")

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

    @action(description="What it can see and do", url_path="scope", icon="visibility")
    def scope(self, request: HttpRequest, object_id: str):
        return account_scope_view(self, request, object_id)

    # -- saving through the services: the same rules as the API ----------------
    def save_model(self, request, obj: Account, form, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            saved = create_account(
                actor=request.user, email=data["email"], password=data.get("password1") or None,
                roles=[g.name for g in data.get("groups") or []], contact=data.get("contact"),
                is_active=data.get("is_active", True))
        else:
            changes = {name: data[name] for name in ("email", "contact", "is_active", "is_superuser")
                       if name in form.changed_data}
            if "groups" in form.changed_data:
                changes["roles"] = [g.name for g in data["groups"]]
            saved = update_account(obj, actor=request.user, changes=changes,
                                   expected_version=expected_version(form))
        adopt_saved(obj, saved)

    def save_related(self, request, form, formsets, change):
        """Nothing left: the service set the roles (Everyone always among them)."""

    def delete_model(self, request, obj: Account) -> None:
        delete_account(obj, actor=request.user, expected_version=read_version(request))

    def delete_queryset(self, request, queryset) -> None:
        for account in queryset:
            delete_account(account, actor=request.user)

    # -- the password page -------------------------------------------------------
    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        # The password page hands its form only the account: remember who
        # acts, for the service (see PasswordForm.save).
        obj.acting_account = request.user
        return obj

    def user_change_password(self, request, id, form_url=""):
        try:
            return super().user_change_password(request, id, form_url)
        except DomainError as exc:
            # Refused by the service (someone holding more than the caller,
            # an account it may only view): nothing was changed.
            messages.error(request, exc.detail)
            return HttpResponseRedirect(request.get_full_path())


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
        return cleaned


@admin.register(Group)
class RoleAdmin(BadInputMixin, DomainErrorsAsMessages, GroupAdmin, ModelAdmin):
    """Roles are Django groups; their permissions say what a role may do."""

    form = RoleForm
    list_display = ["name", "account_count"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        return type("ScopedRoleForm", (form_class,), {"request_user": request.user})

    def save_model(self, request, obj: Group, form, change: bool) -> None:
        permissions = list(form.cleaned_data.get("permissions") or [])
        if change:
            saved = update_role(obj, actor=request.user, name=form.cleaned_data["name"],
                                permissions=permissions)
        else:
            saved = create_role(actor=request.user, name=form.cleaned_data["name"],
                                permissions=permissions)
        obj.pk, obj.name = saved.pk, saved.name
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        """Nothing left: the service set the permissions (and the version)."""

    def delete_model(self, request, obj: Group) -> None:
        # Built-in roles are refused (Conflict), shown as a message.
        delete_role(obj, actor=request.user)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="Accounts")
    def account_count(self, obj: Group) -> int:
        return obj.user_set.count()
