"""Contacts in batches (imports): upsert many contacts by key with the rules of
`create_contact` and `update_contact` — the same validation functions, the
permission checked once per batch, the scope per row — and a few bulk queries
per batch instead of several per row.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from django.db import connections, router, transaction
from django.utils import timezone

from clientbase.core.batches import (
    RowOutcome, RowStatus, by_refs, insert_rows, insert_values, new_objects, record_history, reserve_ids,
    update_rows,
)
from clientbase.core.errors import DomainError, FieldError, Forbidden
from clientbase.core.permissions import require
from clientbase.core.rows import bound_id
from clientbase.customers.models import Address, Contact, ContactSource, CustomerGroup, GrantLevel, Organization
from clientbase.customers.models.visibility import organization_scope
from clientbase.customers.services.access import is_unrestricted, view_only
from clientbase.customers.services.contacts import (
    ADDRESS_FIELDS, check_stays_managed, clean_addresses, clean_contact_fields,
)


@dataclass
class ContactRow:
    """One contact to create or change. `fields` holds any of CONTACT_FIELDS
    (a key matches an existing contact; without one, a new contact);
    `organizations` and `customer_groups` are keys, and replace the
    memberships when given (None: leave them alone); `addresses` (as the
    API takes them, without ids) replace the contact's addresses when given
    and different. `errors`: what the caller found wrong with the row before
    (a cell that does not parse); the row fails with them and any others."""

    fields: Mapping[str, Any]
    organizations: Sequence[str] | None = None
    customer_groups: Sequence[str] | None = None
    addresses: Sequence[Mapping[str, Any]] | None = None
    errors: Sequence[FieldError] = ()


class KeySet(Protocol):
    """The keys of rows written by earlier batches of the same file."""

    def __contains__(self, key: str) -> bool: ...

    def update(self, keys: Iterable[str]) -> None: ...


def _permission_error(actor, perm: str) -> FieldError | None:
    try:
        require(actor, perm)
    except Forbidden as exc:
        return FieldError("", exc.detail, exc.code)
    return None


def _by_key(queryset, keys: set[str]) -> dict[str, Any]:
    return {obj.key: obj for obj in queryset.filter(key__any_of=keys).order_by()} if keys else {}


def _links(through, target: str, contact_ids) -> Iterator[tuple[int, Any, Any]]:
    """(through-row id, contact id, target id) of the contacts' memberships. One query,
    its ids read as text and mapped back through dicts: a batch's rows share
    a few targets, and building a UUID for every value costs more than the
    query."""
    if not contact_ids:
        return
    connection = connections[router.db_for_read(through)]
    qn = connection.ops.quote_name
    contacts = {}
    for pk in contact_ids:
        contacts[str(pk)] = contacts[pk.hex] = pk  # as PostgreSQL and SQLite spell a UUID as text
    targets: dict[str, Any] = {}
    to_id = through._meta.get_field(target).target_field.to_python
    select = (f"SELECT {qn('id')}, CAST({qn('contact_id')} AS text), CAST({qn(target)} AS text) "
              f"FROM {qn(through._meta.db_table)} WHERE ")
    with connection.cursor() as cursor:
        ids = [bound_id(pk, connection) for pk in contact_ids]
        if connection.vendor == "postgresql":  # one array, as the any_of lookup sends it
            cursor.execute(select + f"{qn('contact_id')} = ANY(%s)", [ids])
        else:
            cursor.execute(select + f"{qn('contact_id')} IN ({', '.join(['%s'] * len(ids))})", ids)
        for row_id, contact, target_value in cursor:
            if (contact_id := contacts.get(contact)) is None:
                continue
            if (target_id := targets.get(target_value)) is None:
                target_id = targets[target_value] = to_id(target_value)
            yield row_id, contact_id, target_id


def _memberships(through, target: str, contact_ids) -> dict[Any, dict[Any, int]]:
    """contact id → {target id: through-row id}, for the given contacts."""
    found: dict[Any, dict[Any, int]] = defaultdict(dict)
    for row_id, contact_id, target_id in _links(through, target, contact_ids):
        found[contact_id][target_id] = row_id
    return found


def _addresses(contact_ids) -> dict[Any, list[Address]]:
    """contact id → its addresses, in their order."""
    found: dict[Any, list[Address]] = defaultdict(list)
    if contact_ids:
        for address in Address.objects.filter(contact_id__in=contact_ids).order_by("created_at", "id"):
            found[address.contact_id].append(address)
    return found


def _address_values(address) -> tuple:
    return tuple(address[name] if isinstance(address, dict) else getattr(address, name) for name in ADDRESS_FIELDS)


@dataclass
class CleanedContacts:
    """The rows of a batch as `clean_contacts` judged them: each row's cleaned
    fields and addresses (None: leave them alone), and the errors found (an
    empty list: none yet)."""

    rows: Sequence[ContactRow]
    fields: list[dict[str, Any]]
    addresses: list[list[dict[str, Any]] | None]
    errors: list[list[FieldError]]


def clean_contacts(rows: Sequence[ContactRow]) -> CleanedContacts:
    """Judge each row's fields and addresses by the rules of `create_contact`
    (clean_contact_fields, clean_addresses); answers what `upsert_contacts`
    takes as `cleaned`. It reads no database and needs no actor, so that an
    import may clean the next batch in another thread while this one is
    written."""
    cleaned = CleanedContacts(rows, [], [], [])
    for row in rows:
        fields, errors = clean_contact_fields(row.fields)
        errors += row.errors
        addresses = None
        if row.addresses is not None:
            addresses, address_errors = clean_addresses(row.addresses)
            # A batch replaces addresses as a whole: it names none of the existing ones.
            errors += address_errors + [FieldError(f"addresses.{i}.id", "Unknown field.", "unknown_field")
                                        for i, address in enumerate(row.addresses) if "id" in address]
        cleaned.fields.append(fields)
        cleaned.addresses.append(addresses)
        cleaned.errors.append(errors)
    return cleaned


@transaction.atomic
def upsert_contacts(rows: Sequence[ContactRow], *, actor, earlier_keys: KeySet | None = None,
                    cleaned: CleanedContacts | None = None) -> list[RowOutcome]:
    """Create the contacts whose key is new (or who have none), change those
    whose key exists; answers one outcome per row, in order. A row that breaks
    a rule fails alone and changes nothing; the others are written.

    `actor` (None: the system) needs `add_contact` for new contacts and
    `change_contact` plus a manage grant on a contact's organization for
    changes, as in `create_contact` and `update_contact`; a scoped actor must
    leave every contact in an organization it manages. Organizations are
    found among those `actor` sees. A unique key or e-mail lost to a
    concurrent writer raises IntegrityError: the caller retries row by row.

    A key may name one row of a batch: a later row with it fails. A caller
    writing a file in several batches passes `earlier_keys`, the keys the
    earlier batches wrote, so that the rule holds across them too; the keys
    this batch writes are added to it. `cleaned`: what `clean_contacts(rows)`
    answered, when the caller cleaned the rows beforehand.
    """
    if cleaned is None or cleaned.rows is not rows:
        cleaned = clean_contacts(rows)
    cleaned_rows, cleaned_addresses = cleaned.fields, cleaned.addresses
    outcomes: list[RowOutcome | None] = [RowOutcome.failed(errors) if errors else None
                                         for errors in cleaned.errors]

    keys = {c["key"] for c in cleaned_rows if c.get("key")}
    # Every contact with one of the keys, locked: a key outside the actor's
    # reach is a duplicate to it, as in create_contact.
    existing = _by_key(Contact.objects.select_for_update(), keys)
    manageable = set(existing) if is_unrestricted(actor) else {
        c.key for c in Contact.objects.visible_to(actor, GrantLevel.MANAGE).filter(key__any_of=list(existing))}
    viewable = manageable | ({c.key for c in Contact.objects.visible_to(actor).filter(
        key__any_of=[k for k in existing if k not in manageable])} if len(manageable) < len(existing) else set())

    org_keys = {k for row in rows for k in row.organizations or ()}
    organizations = by_refs(Organization.objects.all() if actor is None
                            else Organization.objects.visible_to(actor), org_keys)
    groups = by_refs(CustomerGroup.objects.all(), {k for row in rows for k in row.customer_groups or ()})

    emails = {c["email"] for c in cleaned_rows if c.get("email")}
    email_owner = dict(Contact.objects.filter(email__any_of=emails).order_by().values_list("email", "pk")) if emails else {}

    org_through, group_through = Contact.organizations.through, Contact.customer_groups.through
    existing_ids = [c.pk for c in existing.values()]
    current_orgs = _memberships(org_through, "organization_id", existing_ids)
    current_groups = _memberships(group_through, "customergroup_id", existing_ids)
    current_addresses = _addresses([existing[c["key"]].pk for c, a in zip(cleaned_rows, cleaned_addresses)
                                    if a is not None and c.get("key") in existing])
    # A caller changes only the memberships it sees: the others stay (set_organizations).
    visible_scope = organization_scope(actor) if not is_unrestricted(actor) else None
    org_paths = dict(Organization.objects.filter(
        pk__in={o for orgs in current_orgs.values() for o in orgs}).values_list("pk", "path")
    ) if visible_scope is not None else {}

    add_error = _permission_error(actor, "customers.add_contact")
    change_error = _permission_error(actor, "customers.change_contact")
    seen_keys: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    created: list[Contact] = []
    updated: list[Contact] = []
    changed_fields: set[str] = set()
    final_orgs: dict[Any, set] = {}     # contact id → organization ids, where they change
    final_groups: dict[Any, set] = {}
    new_addresses: list[Address] = []
    replaced_addresses: list = []      # ids of addresses that new ones replace
    now = timezone.now()
    new_contact = new_objects(Contact, len(rows))

    for index, (row, cleaned) in enumerate(zip(rows, cleaned_rows)):
        # A row whose fields failed is still checked for the rest: one report names every fault.
        errors: list[FieldError] = outcomes[index].errors if outcomes[index] is not None else []
        key, email = cleaned.get("key"), cleaned.get("email")
        if key and (key in seen_keys or (earlier_keys is not None and key in earlier_keys)):
            errors.append(FieldError("key", f"The key '{key}' is on an earlier row too.", "duplicate_key"))
        contact = existing.get(key) if key else None
        if contact is not None and key not in manageable:
            message = (view_only(contact).detail if key in viewable
                       else f"A contact with key '{key}' already exists.")
            errors.append(FieldError("key", message, "forbidden" if key in viewable else "duplicate_key"))
        permission = change_error if contact is not None else add_error
        if permission is not None:
            errors.append(permission)
        if email:
            owner = email_owner.get(email)
            if (owner is not None and (contact is None or owner != contact.pk)) or email in seen_emails:
                errors.append(FieldError("email", f"A contact with e-mail '{email}' already exists.",
                                         "duplicate_email"))
        org_ids = group_ids = None
        if row.organizations is not None:
            missing = [k for k in row.organizations if k not in organizations]
            if missing:
                errors.append(FieldError("organizations", f"No organization with key '{missing[0]}'.",
                                         "unknown_reference"))
            org_ids = {organizations[k].pk for k in row.organizations if k in organizations}
            if contact is not None and visible_scope is not None:
                org_ids |= {o for o in current_orgs[contact.pk]
                            if not visible_scope.contains(o, org_paths.get(o, ""))}
        if row.customer_groups is not None:
            missing = [k for k in row.customer_groups if k not in groups]
            if missing:
                errors.append(FieldError("customer_groups", f"No customer group with key '{missing[0]}'.",
                                         "unknown_reference"))
            group_ids = {groups[k].pk for k in row.customer_groups if k in groups}
        if not errors and (contact is None or org_ids is not None):
            try:
                # The memberships kept out of the actor's sight are not managed by it either.
                check_stays_managed(actor, [organizations[k] for k in row.organizations or ()
                                            if k in organizations])
            except DomainError as exc:
                errors += exc.errors
        if errors:
            outcomes[index] = RowOutcome.failed(errors)
            continue
        if key:
            seen_keys[key] = index
        if email:
            seen_emails[email] = index
        addresses = cleaned_addresses[index]

        if contact is None:
            contact = new_contact({"source": ContactSource.IMPORT, **cleaned})
            contact.fill_derived_fields()
            created.append(contact)
            final_orgs[contact.pk] = org_ids or set()
            final_groups[contact.pk] = group_ids or set()
            new_addresses += _new_addresses(contact, addresses or (), now)
            outcomes[index] = RowOutcome(RowStatus.CREATED)
            continue
        changes = [name for name, value in cleaned.items() if getattr(contact, name) != value]
        orgs_change = org_ids is not None and org_ids != set(current_orgs[contact.pk])
        groups_change = group_ids is not None and group_ids != set(current_groups[contact.pk])
        # Addresses are replaced as a whole, as in the API; the same list (in order) changes nothing.
        addresses_change = addresses is not None and (
            [_address_values(a) for a in addresses] != [_address_values(a) for a in current_addresses[contact.pk]])
        if not (changes or orgs_change or groups_change or addresses_change):
            outcomes[index] = RowOutcome(RowStatus.UNCHANGED)
            continue
        for name in changes:
            setattr(contact, name, cleaned[name])
        contact.fill_derived_fields()
        contact.version += 1
        contact.updated_at = now
        changed_fields.update(changes)
        updated.append(contact)
        if orgs_change:
            final_orgs[contact.pk] = org_ids
        if groups_change:
            final_groups[contact.pk] = group_ids
        if addresses_change:
            replaced_addresses += [a.pk for a in current_addresses[contact.pk]]
            new_addresses += _new_addresses(contact, addresses, now)
        outcomes[index] = RowOutcome(RowStatus.UPDATED)

    for contact in created:
        contact.created_at = contact.updated_at = now
    insert_rows(created)
    update_rows(updated, sorted({*changed_fields, "version", "updated_at", "search_first_name", "search_last_name"}))
    written = [c.pk for c in (*created, *updated)]
    org_rows = _replace_memberships(org_through, "organization_id", final_orgs, current_orgs, written)
    group_rows = _replace_memberships(group_through, "customergroup_id", final_groups, current_groups, written)
    record_history(Contact, created, actor=actor, update=False,
                   memberships={"organizations": org_rows, "customer_groups": group_rows})
    record_history(Contact, updated, actor=actor, update=True,
                   memberships={"organizations": org_rows, "customer_groups": group_rows})
    if replaced_addresses:
        Address.objects.filter(pk__in=replaced_addresses).delete()  # recorded in their history by delete()
    insert_rows(new_addresses)
    record_history(Address, new_addresses, actor=actor, update=False)
    if earlier_keys is not None:
        earlier_keys.update(seen_keys)
    return outcomes


def _new_addresses(contact: Contact, addresses: Sequence[Mapping[str, Any]], now) -> list[Address]:
    """The contact's addresses to insert; a microsecond apart, so that they
    keep their order (addresses are ordered by creation)."""
    return [Address(contact_id=contact.pk, created_at=now + timedelta(microseconds=i),
                    updated_at=now + timedelta(microseconds=i), **address)
            for i, address in enumerate(addresses)]


def _replace_memberships(through, target: str, wanted: dict[Any, set], current: dict[Any, dict[Any, int]],
                         written: list) -> dict[Any, list[tuple[int, Any]]]:
    """Make each contact of `wanted` a member of exactly its targets (one
    delete, one insert); answers the memberships of the `written` contacts
    after the write, as (through-row id, target id), for the history: those
    kept from `current`, and the new rows, with the ids reserved for them."""
    removed = {row_id for contact_id, targets in wanted.items()
               for target_id, row_id in current.get(contact_id, {}).items() if target_id not in targets}
    if removed:
        through.objects.filter(id__in=removed).delete()
    added = [(contact_id, target_id) for contact_id, targets in wanted.items() for target_id in targets
             if target_id not in current.get(contact_id, {})]
    after: dict[Any, list[tuple[int, Any]]] = defaultdict(list)
    for contact_id in written:
        after[contact_id] = [(row_id, target_id) for target_id, row_id in current.get(contact_id, {}).items()
                             if row_id not in removed]
    ids = reserve_ids(through, len(added))  # given, so that no query reads the new rows back
    insert_values(through, ("id", "contact_id", target), ((i, *pair) for i, pair in zip(ids, added)))
    for row_id, (contact_id, target_id) in zip(ids, added):
        after[contact_id].append((row_id, target_id))
    return after
