"""Accounts: public registration, staff-made accounts, roles and personal API tokens.

Roles are Django groups. Every account keeps `Everyone`; one made by public
registration also gets `Registered` and its own contact, in one transaction.
Passwords are checked with Django's validators and hashed with argon2 (see
PASSWORD_HASHERS in settings).
"""

from datetime import datetime
from datetime import timezone as dt_timezone

from django.contrib.auth import password_validation
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from clientbase.core.errors import Conflict, FieldError, Forbidden, Invalid
from clientbase.customers.models import Account, ApiToken, Contact, ContactSource, Role, RoleVersion
from clientbase.customers.models.visibility import forget_scopes


EMAIL_MAX_LENGTH = Account._meta.get_field("email").max_length
NAME_MAX_LENGTH = Contact._meta.get_field("first_name").max_length


def normalize_email(email: str) -> str:
    """The e-mail address as stored (trimmed, lower case); 422 on `email` when
    it is not an address."""
    email = (email or "").strip().lower()
    if len(email) > EMAIL_MAX_LENGTH:
        raise Invalid.on("email", f"An e-mail address has at most {EMAIL_MAX_LENGTH} characters.",
                         code="too_long")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise Invalid.on("email", "Enter a valid e-mail address.", code="invalid_email") from exc
    return email


def check_password(password: str, account: Account | None = None) -> None:
    """422 on `password` with the messages of every validator that refuses it."""
    try:
        password_validation.validate_password(password, user=account)
    except ValidationError as exc:
        raise Invalid(
            detail=" ".join(exc.messages), code="invalid_password",
            errors=[FieldError("password", message, "invalid_password") for message in exc.messages],
        ) from exc


def _check_account_email_free(email: str, exclude: Account | None = None) -> None:
    taken = Account.objects.filter(email__iexact=email)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise Conflict.on("email", f"An account with the e-mail {email} already exists.",
                          code="duplicate_email")


def _check_contact_free(contact: Contact | None, exclude: Account | None = None) -> None:
    if contact is None:
        return
    holder = Account.objects.filter(contact=contact)
    if exclude is not None:
        holder = holder.exclude(pk=exclude.pk)
    if holder.exists():
        raise Conflict.on("contact", f"The contact {contact} already has an account.",
                          code="contact_has_account")


def _save(account: Account) -> None:
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError as exc:
        # A concurrent request took the e-mail (or the contact) first; answer
        # as if this one had come second.
        if Account.objects.filter(email__iexact=account.email).exclude(pk=account.pk).exists():
            raise Conflict.on("email", f"An account with the e-mail {account.email} already exists.",
                              code="duplicate_email") from exc
        raise Conflict.on("contact", "The contact already has an account.",
                          code="contact_has_account") from exc


def _roles(role_names: list[str]) -> list[Group]:
    names = {str(n).strip() for n in role_names} | {Role.EVERYONE.value}
    groups = list(Group.objects.filter(name__in=names))
    missing = sorted(names - {g.name for g in groups})
    if missing:
        raise Invalid.on("roles", f"No role {', '.join(repr(m) for m in missing)}.",
                         code="unknown_role")
    return groups


@transaction.atomic
def register_account(email: str, password: str, first_name: str = "", last_name: str = "") -> Account:
    """Public registration: a storefront contact and its account, with the
    roles Everyone and Registered. Returns the account (its contact attached).

    Raises Invalid (422) for a bad e-mail or a password the validators refuse,
    Conflict (409, `duplicate_email`) when an account or a contact already
    uses the e-mail. Nothing is saved unless everything is.
    """
    email = normalize_email(email)
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if len(value or "") > NAME_MAX_LENGTH:
            raise Invalid.on(field, f"At most {NAME_MAX_LENGTH} characters.", code="too_long")
    if (Account.objects.filter(email__iexact=email).exists()
            or Contact.objects.filter(email__iexact=email).exists()):
        raise Conflict.on("email", f"The e-mail {email} is already registered.", code="duplicate_email")
    contact = Contact(email=email, first_name=first_name or "", last_name=last_name or "",
                      source=ContactSource.STOREFRONT)
    account = Account(email=email, contact=contact)
    # The similarity validator compares the password with the e-mail and names.
    account.first_name, account.last_name = contact.first_name, contact.last_name
    check_password(password, account)
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError as exc:
        raise Conflict.on("email", f"The e-mail {email} is already registered.",
                          code="duplicate_email") from exc
    account.contact = contact
    account.set_password(password)
    _save(account)
    account.groups.set(_roles([Role.REGISTERED]))
    return account


@transaction.atomic
def create_account(email: str, password: str | None = None, roles: list[str] | None = None,
                   contact: Contact | None = None, is_active: bool = True) -> Account:
    """An account made by staff. Without a password it cannot log in until one
    is set (an invitation). Returns the account.

    Raises Invalid (422) for a bad e-mail, password or unknown role; Conflict
    (409) when the e-mail is taken or the contact already has an account.
    """
    email = normalize_email(email)
    _check_account_email_free(email)
    _check_contact_free(contact)
    account = Account(email=email, contact=contact, is_active=is_active)
    if password is None:
        account.set_unusable_password()
    else:
        check_password(password, account)
        account.set_password(password)
    groups = _roles(roles or [])
    _save(account)
    account.groups.set(groups)
    return account


@transaction.atomic
def update_account(account: Account, *, changes: dict) -> Account:
    """Apply `changes` (email, password, contact, is_active, roles) to an
    account the caller has loaded for change. Returns the account.

    Roles are set after the other fields, so the history shows one row for the
    fields and one for the new roles.
    """
    fields = {k: v for k, v in changes.items() if k != "roles"}
    if "email" in fields:
        account.email = normalize_email(fields["email"])
        _check_account_email_free(account.email, exclude=account)
    if "contact" in fields:
        _check_contact_free(fields["contact"], exclude=account)
        account.contact = fields["contact"]
    if "is_active" in fields:
        account.is_active = bool(fields["is_active"])
    if "password" in fields:
        if fields["password"] is None:
            account.set_unusable_password()
        else:
            check_password(fields["password"], account)
            account.set_password(fields["password"])
    if fields:
        _save(account)
    if "roles" in changes:
        set_account_roles(account, changes["roles"])
    return account


@transaction.atomic
def set_account_roles(account: Account, role_names: list[str]) -> Account:
    """Give the account exactly these roles, plus Everyone, which it always
    keeps. Unknown role names raise Invalid (422) on `roles`. Returns the account."""
    groups = _roles(role_names)
    current = set(account.groups.values_list("pk", flat=True))
    if current != {g.pk for g in groups}:
        account.groups.set(groups)
    forget_scopes(account)
    return account


def delete_account(account: Account) -> None:
    """Delete the login; the contact (if any) stays, without an account."""
    account.delete()


def issue_token(account: Account, name: str = "", expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new personal API token for `account`. Returns the token and its raw
    secret; only the secret's SHA-256 is stored, so the raw value is shown once.

    Raises Invalid (422) on `expires_at` when it is not in the future.
    """
    if expires_at is not None and timezone.is_naive(expires_at):
        # A moment without a zone is read as UTC, the API's zone.
        expires_at = timezone.make_aware(expires_at, dt_timezone.utc)
    if expires_at is not None and expires_at <= timezone.now():
        raise Invalid.on("expires_at", "A token must expire in the future.", code="expired")
    return ApiToken.issue(account, name=(name or "").strip()[:100], expires_at=expires_at)


def revoke_token(token: ApiToken) -> ApiToken:
    """Revoke a token: it stops authenticating at once. Revoking twice is harmless.
    Returns the token."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


# Roles (Django groups) --------------------------------------------------------

BUILT_IN_ROLES = frozenset(Role.values)
ROLE_NAME_MAX_LENGTH = Group._meta.get_field("name").max_length


def permissions_by_name(names: list[str], field: str = "permissions") -> list[Permission]:
    """Permissions for "app_label.codename" strings, in one query; 422 on
    `field` naming any that does not exist."""
    wanted = {str(n).strip() for n in names}
    q = Q(pk__in=[])
    for name in wanted:
        app_label, _, codename = name.partition(".")
        q |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(q).select_related("content_type"))
    missing = sorted(wanted - {permission_name(p) for p in found})
    if missing:
        raise Invalid.on(field, f"No permission {', '.join(repr(m) for m in missing)} "
                                "(write them as app_label.codename).", code="unknown_permission")
    return found


def permission_name(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


def _check_role_name(name: str, role: Group | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise Invalid.on("name", "A role needs a name.", code="required")
    if len(name) > ROLE_NAME_MAX_LENGTH:
        raise Invalid.on("name", f"A role name has at most {ROLE_NAME_MAX_LENGTH} characters.",
                         code="too_long")
    if name.isdigit():
        # Roles are addressed by id or name; an all-digit name would be ambiguous.
        raise Invalid.on("name", "A role name may not be only digits.", code="invalid_name")
    taken = Group.objects.filter(name__iexact=name)
    if role is not None:
        taken = taken.exclude(pk=role.pk)
    if taken.exists():
        raise Conflict.on("name", f"A role named {name} already exists.", code="duplicate_name")
    return name


@transaction.atomic
def create_role(name: str, permissions: list[Permission]) -> Group:
    """A new role with these permissions. Raises Invalid (422) for a bad name,
    Conflict (409) when the name is taken. Returns the role."""
    role = Group(name=_check_role_name(name))
    try:
        with transaction.atomic():
            role.save()
    except IntegrityError as exc:
        raise Conflict.on("name", f"A role named {role.name} already exists.", code="duplicate_name") from exc
    role.permissions.set(permissions)
    RoleVersion.objects.create(role=role)
    return role


@transaction.atomic
def update_role(role: Group, *, name: str | None = None,
                permissions: list[Permission] | None = None) -> Group:
    """Rename a role and/or replace its permissions. Built-in roles keep their
    names (409 on `name`). Returns the role."""
    if name is not None and name.strip() != role.name:
        if role.name in BUILT_IN_ROLES:
            raise Conflict.on("name", f"{role.name} is a built-in role; it cannot be renamed.",
                              code="built_in_role")
        role.name = _check_role_name(name, role)
        try:
            with transaction.atomic():
                role.save(update_fields=["name"])
        except IntegrityError as exc:
            raise Conflict.on("name", f"A role named {role.name} already exists.",
                              code="duplicate_name") from exc
    if permissions is not None:
        role.permissions.set(permissions)
    if name is not None or permissions is not None:
        RoleVersion.bump(role)
    return role


@transaction.atomic
def delete_role(role: Group) -> None:
    """Delete a role that is not built in (409 otherwise). Its grants go with it;
    its accounts simply lose it."""
    if role.name in BUILT_IN_ROLES:
        raise Conflict.on("id", f"{role.name} is a built-in role; it cannot be deleted.",
                          code="built_in_role")
    role.delete()


# Delegation -------------------------------------------------------------------

def check_may_delegate(caller: Account | None, *, roles: set[str] = frozenset(),
                       permissions: set[str] = frozenset()) -> None:
    """Refuse (403) a caller who is not an administrator giving or taking a
    role, or a permission, beyond what it may do itself: nobody raises
    privileges above their own. `caller` None is a trusted caller (the CLI).

    `roles` are role names, `permissions` "app_label.codename" strings.
    """
    if caller is None or caller.sees_everything or not (roles or permissions):
        return
    own = caller.get_all_permissions()
    beyond = set(permissions) - own
    if beyond:
        raise Forbidden(detail=f"You may not hand out permissions you lack: {', '.join(sorted(beyond))}.",
                        code="forbidden")
    for role in Group.objects.filter(name__in=roles).prefetch_related("permissions__content_type"):
        if role.name == Role.ADMINISTRATORS or not {permission_name(p) for p in role.permissions.all()} <= own:
            raise Forbidden(detail=f"You may not give or take the role {role.name}: "
                                   "it allows more than you may do.", code="forbidden")
