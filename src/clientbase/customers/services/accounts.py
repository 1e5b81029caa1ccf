"""Accounts: public registration, staff-made accounts, roles and personal API tokens.

Roles are Django groups. Every account keeps `Everyone`; one made by public
registration also gets `Registered` and its own contact, in one transaction.
Passwords are checked with Django's validators and hashed with argon2 (see
PASSWORD_HASHERS in settings).
"""

from datetime import datetime

from django.contrib.auth import password_validation
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from clientbase.core.emails import canonical_email
from clientbase.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from clientbase.core.moments import aware
from clientbase.core.versions import check_version
from clientbase.core.permissions import require
from clientbase.core.text import check_plain_text
from clientbase.customers.models import (
    Account, ApiToken, Contact, ContactSource, GrantLevel, Role, RoleVersion,
)
from clientbase.customers.models.visibility import forget_scopes
from clientbase.customers.services.access import is_unrestricted, lock_for_change


EMAIL_MAX_LENGTH = Account._meta.get_field("email").max_length
NAME_MAX_LENGTH = Contact._meta.get_field("first_name").max_length


def normalize_email(email: str) -> str:
    """The e-mail address as stored (trimmed, lower case, the domain in IDNA's
    ASCII form: core.emails.canonical_email); 422 on `email` when it is not
    an address. Contacts and accounts both go through here."""
    email = canonical_email(email)
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


def check_account_email_free(email: str, exclude: Account | None = None) -> None:
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


def role_name(name) -> str:
    """A role name as it is stored and looked up. Every check and every
    assignment goes through this, so that what is checked is what is given
    (" Administrators" once slipped past the delegation check)."""
    return str(name).strip()


def _roles(role_names: list[str]) -> list[Group]:
    names = {role_name(n) for n in role_names} | {Role.EVERYONE.value}
    groups = list(Group.objects.filter(name__in=names))
    missing = sorted(names - {g.name for g in groups})
    if missing:
        raise Invalid.on("roles", f"No role {', '.join(repr(m) for m in missing)}.",
                         code="unknown_role")
    return groups


DUPLICATE_REGISTRATION = ("The e-mail {email} is already registered. Log in, or reset your "
                          "password if you forgot it.")


def _duplicate_registration(email: str) -> Conflict:
    return Conflict.on("email", DUPLICATE_REGISTRATION.format(email=email), code="duplicate_email")


@transaction.atomic
def register(email: str, password: str, first_name: str = "", last_name: str = "") -> tuple[Contact, Account]:
    """Public registration: a storefront contact and its account, with the
    roles Everyone and Registered, in one transaction. Returns (contact, account).

    Raises Invalid (422) for a bad e-mail, a name too long or with invisible
    characters, or a password the validators refuse (one error per message);
    Conflict (409, `duplicate_email`, pointing to log-in and password reset)
    when an account or a contact already has the e-mail in any spelling
    (case, blanks, international domain: core.emails.canonical_email).
    Two registrations racing for one e-mail end with one contact and one
    account: the loser's insert meets the unique index and gets the same 409.
    Nothing is saved unless everything is. The e-mail starts unverified.
    """
    email = normalize_email(email)
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if len(value) > NAME_MAX_LENGTH:
            raise Invalid.on(field, f"At most {NAME_MAX_LENGTH} characters.", code="too_long")
        check_plain_text(value, field)
    if (Account.objects.filter(email__iexact=email).exists()
            or Contact.objects.filter(email__iexact=email).exists()):
        raise _duplicate_registration(email)
    contact = Contact(email=email, first_name=first_name, last_name=last_name,
                      source=ContactSource.STOREFRONT)
    account = Account(email=email, contact=contact)
    # The similarity validator compares the password with the e-mail and names.
    account.first_name, account.last_name = contact.first_name, contact.last_name
    check_password(password, account)
    try:
        with transaction.atomic():
            contact.save()
            account.contact = contact
            account.set_password(password)
            account.save()
    except IntegrityError as exc:
        raise _duplicate_registration(email) from exc
    account.groups.set(_roles([Role.REGISTERED]))
    return contact, account


@transaction.atomic
def mark_email_verified(account: Account, *, email: str) -> Account:
    """Record that the owner of `account` proved `email` is theirs (the door
    checked the signed link that carried it). Returns the account.

    Verifying again keeps the first moment. Raises Conflict (409,
    `email_changed`) when the account's e-mail is no longer `email`: a link
    sent to an old address does not verify a new one. A verified e-mail lets
    the account see the guest orders placed with it.
    """
    account = Account.objects.select_for_update().get(pk=account.pk)
    if account.email != canonical_email(email):
        raise Conflict.on("email", "This link was for another e-mail address; ask for a new one.",
                          code="email_changed")
    if account.email_verified_at is None:
        account.email_verified_at = timezone.now()
        account.save(update_fields=["email_verified_at", "version", "updated_at"])
    return account


@transaction.atomic
def change_own_password(account: Account, *, old_password: str, new_password: str) -> Account:
    """A logged-in owner changes its own password, proving it knows the
    current one. Returns the account (the door keeps its session alive with
    update_session_auth_hash; other sessions end).

    Raises Invalid (422) on `old_password` when it is wrong, on `password`
    with every validator message that refuses the new one. The version
    moves on; the history leaves the hash out.
    """
    account = Account.objects.select_for_update().get(pk=account.pk)
    if not account.check_password(old_password or ""):
        raise Invalid.on("old_password", "Your current password was entered incorrectly.",
                         code="wrong_password")
    check_password(new_password, account)
    account.set_password(new_password)
    account.save()
    return account


@transaction.atomic
def reset_password(account: Account, *, new_password: str) -> Account:
    """Set the password of an owner who proved it reads the account's mail
    (the door checked the reset link's token). Returns the account.
    Raises Invalid (422) on `password` with every validator message."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    check_password(new_password, account)
    account.set_password(new_password)
    account.save()
    return account


def _check_contact_in_scope(actor, contact: Contact | None) -> None:
    """Linking an account to a contact changes the contact: the actor must
    manage it (422 on `contact`, as for any reference it cannot use)."""
    if contact is None or is_unrestricted(actor):
        return
    if not Contact.objects.visible_to(actor, GrantLevel.MANAGE).filter(pk=contact.pk).exists():
        raise Invalid.on("contact", f"You do not manage the contact {contact}.", code="outside_scope")


def _role_names(account: Account) -> set[str]:
    return set(account.groups.values_list("name", flat=True))


@transaction.atomic
def create_account(*, actor, email: str, password: str | None = None, roles: list[str] | None = None,
                   contact: Contact | None = None, is_active: bool = True) -> Account:
    """An account made by staff. Without a password it cannot log in until one
    is set (an invitation). Returns the account.

    Raises Forbidden (403) without `add_account` or when `actor` hands out a
    role beyond its own powers; Invalid (422) for a bad e-mail, password,
    unknown role or a contact `actor` does not manage; Conflict (409) when
    the e-mail is taken or the contact already has an account.
    """
    require(actor, "customers.add_account")
    check_may_delegate(actor, roles=set(roles or []))
    _check_contact_in_scope(actor, contact)
    email = normalize_email(email)
    check_account_email_free(email)
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


def lock_account(account: Account, actor, perm: str, expected_version) -> Account:
    """The account locked for a change by `actor`: 403 unless `actor` may
    manage it and, for someone else's account, holds every power the account
    has (setting the password of an administrator would hand them over)."""
    account = lock_for_change(account, actor, perm, expected_version)
    if actor is not None and account.pk != actor.pk:
        check_may_delegate(actor, roles=_role_names(account))
    return account


@transaction.atomic
def update_account(account: Account, *, actor, changes: dict, expected_version=None) -> Account:
    """Apply `changes` (email, password — None makes it unusable —, contact,
    is_active, is_superuser, roles) to an account. The version moves on once.
    Returns the account.

    Raises Forbidden (403) without `change_account`, outside `actor`'s manage
    scope, for someone holding more than `actor`, or for roles `actor` may
    not give or take; Conflict (409) for deactivating one's own account.
    """
    account = lock_account(account, actor, "customers.change_account", expected_version)
    unknown = set(changes) - {"email", "password", "contact", "is_active", "is_superuser", "roles"}
    if unknown:
        raise Invalid.on(sorted(unknown)[0], "Unknown field.", code="extra_forbidden")
    if changes.get("is_active") is False and actor is not None and account.pk == actor.pk:
        raise Conflict.on("is_active", "You cannot deactivate your own account.", code="self")
    if "is_superuser" in changes and not (actor is None or actor.is_superuser):
        raise Forbidden(detail="Only superusers make or unmake superusers.", code="forbidden")
    if "roles" in changes:
        wanted = {role_name(n) for n in changes["roles"]} | {Role.EVERYONE.value}
        check_may_delegate(actor, roles=_role_names(account) ^ wanted)
    if "email" in changes:
        email = normalize_email(changes["email"])
        check_account_email_free(email, exclude=account)
        if email != account.email:
            account.email, account.email_verified_at = email, None  # a new address is unproven
    if "contact" in changes:
        _check_contact_in_scope(actor, changes["contact"])
        _check_contact_free(changes["contact"], exclude=account)
        account.contact = changes["contact"]
    for flag in ("is_active", "is_superuser"):
        if flag in changes:
            setattr(account, flag, bool(changes[flag]))
    if "password" in changes:
        if changes["password"] is None:
            account.set_unusable_password()
        else:
            check_password(changes["password"], account)
            account.set_password(changes["password"])
    if "roles" in changes:
        groups = _roles(changes["roles"])
        if {g.pk for g in groups} != set(account.groups.values_list("pk", flat=True)):
            account.groups.set(groups)
        forget_scopes(account)
    if changes:
        # One version step for the whole change, roles included, so that an
        # API client holding the old ETag gets 412 whatever changed.
        _save(account)
    return account


@transaction.atomic
def delete_account(account: Account, *, actor, expected_version=None) -> None:
    """Delete the login; the contact (if any) stays, without an account.
    Nobody deletes their own account (409)."""
    account = lock_account(account, actor, "customers.delete_account", expected_version)
    if actor is not None and account.pk == actor.pk:
        raise Conflict.on("id", "You cannot delete your own account.", code="self")
    account.delete()


def _check_may_handle_tokens_of(account: Account, actor, perm: str) -> None:
    """Anyone may handle their own tokens. A token acts as its account, so
    handling someone else's is a change of that account: `perm`, a manage
    grant on it and every power it holds (see `lock_account`)."""
    if actor is None or actor.pk == account.pk:
        return
    require(actor, perm)
    lock_account(account, actor, "customers.change_account", expected_version=None)


@transaction.atomic
def issue_token(account: Account, *, actor, name: str = "",
                expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new personal API token for `account`. Returns the token and its raw
    secret; only the secret's SHA-256 is stored, so the raw value is shown once.

    Raises Invalid (422) on `expires_at` when it is not in the future, and
    Forbidden (403) when `actor` may not handle `account`'s tokens.
    """
    _check_may_handle_tokens_of(account, actor, "customers.add_apitoken")
    expires_at = aware(expires_at)
    if expires_at is not None and expires_at <= timezone.now():
        raise Invalid.on("expires_at", "A token must expire in the future.", code="expired")
    return ApiToken.issue(account, name=(name or "").strip()[:100], expires_at=expires_at)


@transaction.atomic
def revoke_token(token: ApiToken, *, actor) -> ApiToken:
    """Revoke a token: it stops authenticating at once. Revoking twice is harmless.
    Returns the token. Forbidden (403) when `actor` may not handle its account's tokens."""
    _check_may_handle_tokens_of(token.account, actor, "customers.delete_apitoken")
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
    check_plain_text(name, "name")
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
def create_role(*, actor, name: str, permissions: list[Permission]) -> Group:
    """A new role with these permissions. Raises Forbidden (403) without
    `auth.add_group` or for permissions `actor` lacks itself, Invalid (422)
    for a bad name, Conflict (409) when the name is taken. Returns the role."""
    require(actor, "auth.add_group")
    check_may_delegate(actor, permissions={permission_name(p) for p in permissions})
    role = Group(name=_check_role_name(name))
    try:
        with transaction.atomic():
            role.save()
    except IntegrityError as exc:
        raise Conflict.on("name", f"A role named {role.name} already exists.", code="duplicate_name") from exc
    role.permissions.set(permissions)
    RoleVersion.objects.create(role=role)
    return role


def _lock_role(role: Group, actor, perm: str, expected_version) -> Group:
    require(actor, perm)
    locked = Group.objects.select_for_update().filter(pk=role.pk).first()
    if locked is None:
        # Deleted by a concurrent request since the door found it.
        raise NotFound(detail=f"The role {role.name} was deleted since you read it.", code="not_found")
    check_version(RoleVersion.of(locked, lock=True), expected_version)
    return locked


@transaction.atomic
def update_role(role: Group, *, actor, name: str | None = None,
                permissions: list[Permission] | None = None, expected_version=None) -> Group:
    """Rename a role and/or replace its permissions; the version moves on.
    Built-in roles keep their names (409 on `name`); nobody gives or takes
    permissions they lack (403). Returns the role."""
    role = _lock_role(role, actor, "auth.change_group", expected_version)
    if permissions is not None:
        current = {permission_name(p) for p in role.permissions.select_related("content_type")}
        check_may_delegate(actor, permissions=current ^ {permission_name(p) for p in permissions})
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
def delete_role(role: Group, *, actor, expected_version=None) -> None:
    """Delete a role that is not built in (409 otherwise). Its grants go with it;
    its accounts simply lose it."""
    role = _lock_role(role, actor, "auth.delete_group", expected_version)
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
    if is_unrestricted(caller) or not (roles or permissions):
        return
    roles = {role_name(r) for r in roles}
    own = caller.get_all_permissions()
    beyond = set(permissions) - own
    if beyond:
        raise Forbidden(detail=f"You may not hand out permissions you lack: {', '.join(sorted(beyond))}.",
                        code="forbidden")
    for role in Group.objects.filter(name__in=roles).prefetch_related("permissions__content_type"):
        if role.name == Role.ADMINISTRATORS or not {permission_name(p) for p in role.permissions.all()} <= own:
            raise Forbidden(detail=f"You may not give or take the role {role.name}: "
                                   "it allows more than you may do.", code="forbidden")
