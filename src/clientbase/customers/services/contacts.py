"""Operations on contacts: create, change and delete them, their addresses and
their memberships in organizations and customer groups.

The API, the admin, the storefront and the CLI all call these functions; each
validates its input the same way, raises `Invalid` (422) or `Conflict` (409)
with the field named, and leaves the database unchanged when it does.
"""

import re
from datetime import date
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction

from clientbase.core.countries import is_country
from clientbase.core.currencies import is_currency
from clientbase.core.errors import Conflict, FieldError, Invalid
from clientbase.core.models import validate_key
from clientbase.core.text import plain_text_error
from clientbase.customers.models import (
    Address, Contact, ContactSource, CustomerGroup, GrantLevel, Organization,
)
from clientbase.customers.models.contacts import validate_e164
from clientbase.core.permissions import require
from clientbase.core.unique import check_unique, save_unique
from clientbase.customers.models.visibility import organization_scope
from clientbase.customers.services.access import lock_for_change
from clientbase.customers.services.accounts import normalize_email

# A language tag as shops use them: `en`, or language plus region, `en-GB`.
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")

CONTACT_FIELDS = (
    "key", "first_name", "last_name", "email", "phone", "birth_date",
    "preferred_language", "preferred_currency", "source",
)
ADDRESS_FIELDS = (
    "name", "first_name", "last_name", "line1", "line2", "city", "postcode", "region",
    "country", "phone", "is_default_shipping", "is_default_billing",
)
# Text fields that store "" rather than NULL for "none".
_BLANK_TEXT = ("first_name", "last_name", "phone", "preferred_language", "preferred_currency")


# --- validation -------------------------------------------------------------

def _django_message(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def clean_contact_fields(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Normalise the contact fields present in `data`.

    Returns the cleaned values (same keys) and the list of field errors; the
    caller raises them all at once, so that one answer names every bad field.
    """
    cleaned: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, value in data.items():
        if name not in CONTACT_FIELDS:
            errors.append(FieldError(name, "Unknown field.", "unknown_field"))
            continue
        if isinstance(value, str):
            value = value.strip()
            if "\x00" in value:  # PostgreSQL text cannot hold NUL; an import might
                errors.append(FieldError(name, "NUL characters are not allowed.", "invalid"))
                continue
            if name in ("first_name", "last_name") and (error := plain_text_error(value, name)):
                errors.append(error)
                continue
            # The API's schemas say the same; a file or a form must hear it too
            # (PostgreSQL would refuse the row, SQLite would keep it whole).
            limit = Contact._meta.get_field(name).max_length
            if limit and len(value) > limit:
                errors.append(FieldError(name, f"At most {limit} characters.", "too_long"))
                continue
        if name in _BLANK_TEXT and value is None:
            value = ""
        if name == "key":
            value = value or None
            if value is not None:
                try:
                    validate_key(value)
                except ValidationError as exc:
                    errors.append(FieldError("key", _django_message(exc), "invalid_key"))
        elif name == "email":
            if value:
                try:
                    value = normalize_email(value)  # the accounts' own: one address, one spelling
                except Invalid as exc:
                    errors.extend(exc.errors)
                    continue
            else:
                value = None
        elif name == "phone" and value:
            try:
                validate_e164(value)
            except ValidationError as exc:
                errors.append(FieldError("phone", _django_message(exc), "invalid_phone"))
        elif name == "preferred_currency" and value and not is_currency(value):
            # The same list markets check (core.currencies), not just three letters.
            errors.append(FieldError(name, "An ISO 4217 currency code in upper case, e.g. EUR.",
                                     "invalid_currency"))
        elif name == "preferred_language" and value and not _LANGUAGE_RE.match(value):
            errors.append(FieldError(name, "A language looks like 'en' or 'en-GB'.", "invalid_language"))
        elif name == "birth_date" and value is not None:
            if not isinstance(value, date):
                try:
                    value = date.fromisoformat(str(value))
                except ValueError:
                    errors.append(FieldError(name, "A date such as 1990-12-31.", "invalid_date"))
                    continue
            if value > date.today() or value.year < 1900:
                errors.append(FieldError(name, "A birth date between 1900 and today.", "invalid_date"))
        elif name == "source":
            if value is None:
                value = ContactSource.BACK_OFFICE
            elif value not in ContactSource.values:
                errors.append(FieldError(name, f"One of {', '.join(ContactSource.values)}.", "invalid_choice"))
        cleaned[name] = value
    return cleaned, errors


_FLAGS = ("is_default_shipping", "is_default_billing")


def clean_address(raw: Mapping[str, Any] | None, where: str, *,
                  fields: Iterable[str] = tuple(f for f in ADDRESS_FIELDS if f not in _FLAGS),
                  required: Iterable[str] = ("line1", "city", "country")) -> tuple[dict[str, str], list[FieldError]]:
    """One address's text, by the rules of every address the shop keeps (a
    contact's, an organization's, an order's): each of `fields` trimmed text
    ("" for none) within the column's length, no NUL, invisible or
    direction-changing characters, the `required` ones present, the country
    an ISO 3166-1 alpha-2 code in upper case, a phone in E.164. Returns the
    address and its errors, named `<where>.<field>`."""
    if not isinstance(raw, Mapping):
        return {}, [FieldError(where, "An address is required.", "required")]
    errors = [FieldError(f"{where}.{name}", "Unknown field.", "unknown_field") for name in raw if name not in fields]
    address: dict[str, str] = {}
    for name in fields:
        value, at = raw.get(name), f"{where}.{name}"
        if value is not None and not isinstance(value, str):
            errors.append(FieldError(at, "Text expected.", "invalid"))
            continue
        address[name] = value = (value or "").strip()
        limit = Address._meta.get_field(name).max_length
        if not value:
            if name in required:
                errors.append(FieldError(at, "This field is required.", "required"))
        elif "\x00" in value:
            errors.append(FieldError(at, "NUL characters are not allowed.", "invalid"))
        elif len(value) > limit:
            errors.append(FieldError(at, f"At most {limit} characters.", "too_long"))
        elif error := plain_text_error(value, at):
            errors.append(error)
        elif name == "country" and not is_country(value):
            errors.append(FieldError(at, "An ISO 3166-1 alpha-2 country code in upper case, e.g. DE.",
                                     "invalid_country"))
        elif name == "phone":
            try:
                validate_e164(value)
            except ValidationError as exc:
                errors.append(FieldError(at, _django_message(exc), "invalid_phone"))
    return address, errors


def clean_addresses(addresses: Iterable[Mapping[str, Any]], field: str = "addresses"
                    ) -> tuple[list[dict[str, Any]], list[FieldError]]:
    """Normalise a contact's or an organization's list of addresses (see
    clean_address), with at most one default of each kind; errors are named
    `addresses.<index>.<field>`."""
    cleaned: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    defaults = {name: 0 for name in _FLAGS}
    for index, raw in enumerate(addresses):
        text = {name: value for name, value in raw.items() if name not in (*_FLAGS, "id")}
        address, address_errors = clean_address(text, f"{field}.{index}")
        errors += address_errors
        if "id" in raw:
            address["id"] = raw["id"]
        for name in _FLAGS:
            address[name] = bool(raw.get(name) or False)
            defaults[name] += address[name]
        cleaned.append(address)
    for name, count in defaults.items():
        if count > 1:
            kind = "shipping" if name == "is_default_shipping" else "billing"
            errors.append(FieldError(field, f"At most one address may be the default {kind} address.",
                                     "several_defaults"))
    return cleaned, errors


def _raise(errors: list[FieldError]) -> None:
    if errors:
        fields = ", ".join(dict.fromkeys(e.field for e in errors))
        raise Invalid(detail=f"Invalid input: {fields}.", code=errors[0].code, errors=errors)


def _save(contact: Contact, **kwargs) -> None:
    save_unique(contact, "email", "key", **kwargs)


# --- who may put a contact where -------------------------------------------

def _is_scoped(actor) -> bool:
    """True when `actor` changes only contacts of organizations it manages."""
    return actor is not None and not (
        actor.sees_everything or actor.has_perm("customers.manage_all_contacts")
    )


def check_stays_managed(actor, organizations: Iterable[Organization]) -> None:
    """A scoped caller may only leave a contact where it can still manage it:
    in at least one organization it manages. Otherwise the contact would vanish
    from its sight the moment it saved it."""
    if not _is_scoped(actor):
        return
    scope = organization_scope(actor, GrantLevel.MANAGE)
    if not any(scope.contains(org.pk, org.path) for org in organizations):
        raise Invalid.on(
            "organizations",
            "The contact must belong to at least one organization you manage.",
            code="outside_scope",
        )


# --- addresses and memberships ---------------------------------------------

def set_addresses(contact: Contact, addresses: Iterable[Mapping[str, Any]]) -> list[Address]:
    """Replace the contact's addresses with `addresses`, wholesale.

    An entry with the `id` of one of the contact's addresses changes that
    address in place (its id stays); entries without an id are new; addresses
    not in the list are deleted. Returns the addresses in the given order.
    """
    cleaned, errors = clean_addresses(addresses)
    _raise(errors)
    existing = {a.pk: a for a in contact.addresses.all()} if contact.pk else {}
    kept_ids: set[UUID] = set()
    for index, data in enumerate(cleaned):
        address_id = data.pop("id", None)
        if address_id is None:
            continue
        try:
            address_id = UUID(str(address_id))
        except ValueError:
            address_id = None
        if address_id not in existing or address_id in kept_ids:
            errors.append(FieldError(f"addresses.{index}.id",
                                     "Not the id of one of this contact's addresses.", "unknown_reference"))
        else:
            kept_ids.add(address_id)
            data["id"] = address_id
    _raise(errors)

    with transaction.atomic():
        # Delete first: the flags of a removed default must not linger.
        for address_id, address in existing.items():
            if address_id not in kept_ids:
                address.delete()
        result = []
        for data in cleaned:
            address_id = data.pop("id", None)
            if address_id is not None:
                address = existing[address_id]
                changed = [name for name, value in data.items() if getattr(address, name) != value]
                for name in changed:
                    setattr(address, name, data[name])
                if changed:
                    address.save(update_fields=changed)
            else:
                address = Address.objects.create(contact=contact, **data)
            result.append(address)
    # Drop any prefetched list so that readers see the new addresses.
    getattr(contact, "_prefetched_objects_cache", {}).pop("addresses", None)
    return result


def set_organizations(contact: Contact, organizations: Iterable[Organization], *, actor=None) -> None:
    """Make the contact a member of exactly `organizations`.

    Memberships in organizations that `actor` cannot see are kept: a caller
    can only change what it can see (and reads show it only those). Raises Invalid on
    `organizations` when the contact would end outside the actor's scope.
    """
    wanted = {o.pk: o for o in organizations}
    visible = organization_scope(actor, GrantLevel.VIEW) if actor is not None else None
    if visible is not None and not visible.everything:
        for org in contact.organizations.all():
            if not visible.contains(org.pk, org.path):
                wanted.setdefault(org.pk, org)
    check_stays_managed(actor, wanted.values())
    contact.organizations.set(list(wanted.values()))
    getattr(contact, "_prefetched_objects_cache", {}).pop("organizations", None)


def set_customer_groups(contact: Contact, groups: Iterable[CustomerGroup]) -> None:
    """Make the contact a direct member of exactly `groups`."""
    contact.customer_groups.set(list(groups))
    getattr(contact, "_prefetched_objects_cache", {}).pop("customer_groups", None)


@transaction.atomic
def add_to_organization(contact: Contact, organization: Organization, *, actor) -> Contact:
    """Add one membership (no-op when already a member); bumps the version."""
    contact = lock_for_change(contact, actor, "customers.change_contact")
    if not contact.organizations.filter(pk=organization.pk).exists():
        contact.organizations.add(organization)
        _save(contact, update_fields=["updated_at"])
    return contact


@transaction.atomic
def remove_from_organization(contact: Contact, organization: Organization, *, actor) -> Contact:
    """Remove one membership; a scoped actor may not remove the contact's last
    organization it manages."""
    contact = lock_for_change(contact, actor, "customers.change_contact")
    remaining = [o for o in contact.organizations.all() if o.pk != organization.pk]
    if len(remaining) != contact.organizations.count():
        check_stays_managed(actor, remaining)
        contact.organizations.remove(organization)
        _save(contact, update_fields=["updated_at"])
    return contact


@transaction.atomic
def add_to_customer_group(contact: Contact, group: CustomerGroup, *, actor) -> Contact:
    contact = lock_for_change(contact, actor, "customers.change_contact")
    if not contact.customer_groups.filter(pk=group.pk).exists():
        contact.customer_groups.add(group)
        _save(contact, update_fields=["updated_at"])
    return contact


@transaction.atomic
def remove_from_customer_group(contact: Contact, group: CustomerGroup, *, actor) -> Contact:
    contact = lock_for_change(contact, actor, "customers.change_contact")
    if contact.customer_groups.filter(pk=group.pk).exists():
        contact.customer_groups.remove(group)
        _save(contact, update_fields=["updated_at"])
    return contact


# --- the contact itself -----------------------------------------------------

@transaction.atomic
def create_contact(*, actor, fields: Mapping[str, Any],
                   organizations: Iterable[Organization] = (),
                   customer_groups: Iterable[CustomerGroup] = (),
                   addresses: Iterable[Mapping[str, Any]] = ()) -> Contact:
    """Create a contact with its memberships and addresses; returns it.

    `fields` holds any of CONTACT_FIELDS. `actor` is the account doing it
    (None for the system): it needs `add_contact`, and a scoped actor must put
    the contact in at least one organization it manages.
    """
    require(actor, "customers.add_contact")
    cleaned, errors = clean_contact_fields(fields)
    cleaned_addresses, address_errors = clean_addresses(addresses)
    _raise(errors + address_errors)
    organizations = list(organizations)
    check_stays_managed(actor, organizations)
    contact = Contact(**cleaned)
    check_unique(contact, "email", "key")
    _save(contact)
    if organizations:
        contact.organizations.set(organizations)
    customer_groups = list(customer_groups)
    if customer_groups:
        contact.customer_groups.set(customer_groups)
    if cleaned_addresses:
        set_addresses(contact, cleaned_addresses)
    return contact


@transaction.atomic
def update_contact(contact: Contact, *, actor, changes: Mapping[str, Any],
                   organizations: Iterable[Organization] | None = None,
                   customer_groups: Iterable[CustomerGroup] | None = None,
                   addresses: Iterable[Mapping[str, Any]] | None = None,
                   expected_version=None) -> Contact:
    """Apply field changes, then replace whichever of organizations, customer
    groups and addresses are given (None: leave alone). Returns the contact.

    `actor` needs `change_contact` and a manage grant on one of the contact's
    organizations (403 otherwise); a stale `expected_version` is a 412. The
    version moves on once, whatever changed.
    """
    contact = lock_for_change(contact, actor, "customers.change_contact", expected_version)
    cleaned, errors = clean_contact_fields(changes)
    if addresses is not None:
        addresses, address_errors = clean_addresses(addresses)
        errors += address_errors
    _raise(errors)
    for name, value in cleaned.items():
        setattr(contact, name, value)
    if "email" in cleaned or "key" in cleaned:
        check_unique(contact, "email", "key")
    if organizations is not None:
        set_organizations(contact, organizations, actor=actor)
    if customer_groups is not None:
        set_customer_groups(contact, customer_groups)
    if addresses is not None:
        set_addresses(contact, addresses)
    if cleaned or organizations is not None or customer_groups is not None or addresses is not None:
        _save(contact)
    return contact


@transaction.atomic
def delete_contact(contact: Contact, *, actor, expected_version=None) -> None:
    """Delete the contact with its addresses and memberships. An account that
    logged in as it stays, without a contact. Needs `delete_contact` and a
    manage grant on one of its organizations."""
    lock_for_change(contact, actor, "customers.delete_contact", expected_version).delete()


# --- self-service: a shopper and its own contact ------------------------------

# What a shopper may change on its own contact (the storefront's "My account",
# /me): its name and phone; e-mail, key, groups and organizations are staff's.
OWN_PROFILE_FIELDS = ("first_name", "last_name", "phone")


def _own_contact(account) -> Contact:
    """The account's own contact, locked for a change. Conflict (409,
    `no_contact`) for an account without one (staff logged in to the shop)."""
    if account is None or not account.is_authenticated or not account.is_active or not account.contact_id:
        raise Conflict(detail="This account has no customer profile.", code="no_contact")
    return Contact.objects.select_for_update().get(pk=account.contact_id)


@transaction.atomic
def update_own_profile(account, changes: Mapping[str, Any]) -> Contact:
    """A shopper changes its own contact's OWN_PROFILE_FIELDS, by the rules
    staff's changes follow (clean_contact_fields); the version moves on and
    the history records it. Returns the contact.

    No permission is asked: the scope is the account's own contact, and
    nothing else can be named. Raises Invalid (422) for a bad value or a
    field outside OWN_PROFILE_FIELDS, Conflict (409, `no_contact`) for an
    account without a contact.
    """
    contact = _own_contact(account)
    errors = [FieldError(name, "You cannot change this field.", "unknown_field")
              for name in changes if name not in OWN_PROFILE_FIELDS]
    cleaned, field_errors = clean_contact_fields({k: v for k, v in changes.items() if k in OWN_PROFILE_FIELDS})
    _raise(errors + field_errors)
    changed = [name for name, value in cleaned.items() if getattr(contact, name) != value]
    for name in changed:
        setattr(contact, name, cleaned[name])
    if changed:
        _save(contact)
    return contact


@transaction.atomic
def set_own_addresses(account, addresses: Iterable[Mapping[str, Any]]) -> list[Address]:
    """A shopper replaces its own contact's addresses (see set_addresses:
    an entry with the `id` of one of them changes it, one without is new,
    the others go; at most one default shipping and one default billing
    address), by the rules staff's changes follow. The contact's version
    moves on. Returns the addresses in the given order.

    Raises Invalid (422) naming `addresses.<index>.<field>`, also for the id
    of an address that is not the shopper's own; Conflict (409,
    `no_contact`) for an account without a contact.
    """
    contact = _own_contact(account)
    result = set_addresses(contact, addresses)
    _save(contact)
    return result
