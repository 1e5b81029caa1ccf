"""Contacts read the way the API answers them, in statements written once
rather than built by the ORM on every request.

`visible_contact` is one contact by id or key, within what the reader may
see; `relations_of` is what a list of contacts shows besides each contact's
own columns: its organizations, its customer groups and its addresses, read
for a whole page at once as plain values.

Building and compiling a query cost the ORM more CPU than the database spent
answering it (a third of a millisecond and more; docs/benchmarks.md), and
prefetching the relations (`prefetch_related`) built an Organization, a CustomerGroup
and an Address object per row, and had Django build and compile three
queries per request: more CPU than the rest of a contact's answer, and more
than the database spent on them. Here the three relations are one
statement (a round trip costs this process more CPU than its rows),
written once per database and number of contacts (`_statement`), that
reads only the columns an answer shows, in the order the models' `ordering`
gives (the order the prefetches had). Who may see a contact is still decided
by the one rule (customers.models.visibility: `contact_scope`,
`member_of_scope_sql`).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from uuid import UUID

from django.db import connections, router
from django.db.models import Model

from clientbase.core.rows import converter
from clientbase.customers.models import Account, Address, Contact, CustomerGroup, GrantLevel, Organization
from clientbase.customers.models.visibility import contact_scope, member_of_scope_sql


def visible_contact(account, *, pk: str | UUID | None = None, key: str | None = None,
                    level: str = GrantLevel.VIEW) -> Contact | None:
    """The contact with id `pk` (or key `key`) when `account` may see it
    (manage it, with level=manage); None when there is none or it may not.
    One query; every field loaded, and `account_ref`: the id of the account
    that logs in as it, or None (as `api.contacts.for_listing` annotates it)."""
    scope = contact_scope(account, level)
    if not scope.everything and scope.organizations.nothing:
        return None
    using = router.db_for_read(Contact)
    connection = connections[using]
    select = _contact_select(using, "id" if pk is not None else "key")
    contact_pk = Contact._meta.pk
    sql, params = select.sql, [key if pk is None else contact_pk.get_db_prep_value(contact_pk.to_python(pk),
                                                                                   connection)]
    if not scope.everything:
        visible, visible_params = member_of_scope_sql(scope.organizations, select.id_column, connection)
        sql, params = f"{sql} AND {visible}", [*params, *visible_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    *values, account_id = row
    contact = select.load(values)
    contact.account_ref = Account._meta.pk.to_python(account_id)
    return contact


@dataclass(frozen=True)
class _ContactSelect:
    sql: str  # ends in the condition on the id or key, bound as its one parameter
    id_column: str  # the contact's id column, as the statement names it
    load: Callable[[list], Contact]  # the row's contact columns -> a Contact


@lru_cache(maxsize=8)
def _contact_select(using: str, by: str) -> _ContactSelect:
    """The statement reading a contact by `by` ("id" or "key") with the id of
    its account, and the function making a Contact of its row as Django's
    own loading would (the database's converters, then `Model.from_db`)."""
    connection = connections[using]
    qn = connection.ops.quote_name
    fields = Contact._meta.concrete_fields
    table = Contact._meta.db_table
    convert = converter(fields, connection)
    names = [f.attname for f in fields]

    def load(values: list) -> Contact:
        return Contact.from_db(using, names, convert(values))

    id_column = f"c.{qn(Contact._meta.pk.column)}"
    login = Account._meta.get_field("contact")
    sql = (f"SELECT {', '.join(f'c.{qn(f.column)}' for f in fields)}, acc.{qn(Account._meta.pk.column)} "
           f"FROM {qn(table)} c LEFT OUTER JOIN {qn(Account._meta.db_table)} acc "
           f"ON acc.{qn(login.column)} = {id_column} "
           f"WHERE c.{qn(Contact._meta.get_field(by).column)} = %s")
    return _ContactSelect(sql=sql, id_column=id_column, load=load)


@dataclass(slots=True)
class ContactRelations:
    """One contact's relations: its organizations as (id, materialized path),
    in Organization order (the path lets a viewer's scope judge each in
    memory); its customer groups' ids, in CustomerGroup order; its addresses,
    each a dict of the address fields asked for, in Address order."""

    organizations: list[tuple[UUID, str]] = field(default_factory=list)
    customer_groups: list[UUID] = field(default_factory=list)
    addresses: list[dict] = field(default_factory=list)


def relations_of(contact_ids: list[UUID], *, address_fields: tuple[str, ...],
                 using: str) -> dict[UUID, ContactRelations]:
    """The relations of each contact, keyed by its id: one query on the
    database `using` (the one the contacts were read from), none for no
    contacts. `address_fields` names the Address fields each address dict holds."""
    found = {pk: ContactRelations() for pk in contact_ids}
    if not found:
        return found
    connection = connections[using]
    statement = _statement(using, _id_count(connection.vendor, len(found)), address_fields)
    pk = Contact._meta.pk
    ids = [pk.get_db_prep_value(i, connection) for i in found]
    params = [ids] * 3 if statement.one_array else ids * 3
    to_uuid = pk.to_python
    readers = statement.address_readers
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        rows = cursor.fetchall()
    for kind, contact_id, related_id, path, _, *values in rows:
        relations = found[to_uuid(contact_id)]
        if kind == _ADDRESS:
            relations.addresses.append({name: read(value) for (name, read), value in zip(readers, values)})
        elif kind == _ORGANIZATION:
            relations.organizations.append((to_uuid(related_id), path))
        else:
            relations.customer_groups.append(to_uuid(related_id))
    return found


def _id_count(vendor: str, count: int) -> int | None:
    """How the contact ids are bound: None on PostgreSQL, as one array (one
    statement text for any page size); elsewhere their number, one
    parameter each."""
    return None if vendor == "postgresql" else count


# What a row of `_statement` is, its first column.
_ADDRESS, _ORGANIZATION, _CUSTOMER_GROUP = 0, 1, 2


@dataclass(frozen=True)
class _Statement:
    sql: str  # the contact ids bound three times (once per relation)
    # (field name, its `to_python`) per address column
    address_readers: tuple
    one_array: bool


@lru_cache(maxsize=128)
def _statement(using: str, id_count: int | None, address_fields: tuple[str, ...]) -> _Statement:
    """The three relations in one statement (one round trip rather than
    three, which cost more CPU than reading the rows). Each row: the kind of
    relation, the contact's id, the organization's or the group's id, the
    organization's path, the row's place in its relation's order (the
    models' `ordering`, as the prefetches had it), then the address's
    columns. The addresses come first: PostgreSQL takes a column's type from
    the first rows that give it one, not from NULL."""
    connection = connections[using]
    qn = connection.ops.quote_name
    ids = "= ANY(%s)" if id_count is None else f"IN ({', '.join(['%s'] * id_count)})"
    organizations = Contact.organizations.through._meta.db_table
    groups = Contact.customer_groups.through._meta.db_table
    address_columns = [Address._meta.get_field(name) for name in address_fields]
    no_address = ", ".join(["NULL"] * len(address_columns))
    return _Statement(
        sql=(
            f"SELECT {_ADDRESS} AS kind, a.contact_id, NULL, NULL, "
            f"ROW_NUMBER() OVER (ORDER BY {_ordering(Address, 'a', qn)}) AS place, "
            f"{', '.join(f'a.{qn(f.column)}' for f in address_columns)} "
            f"FROM {qn(Address._meta.db_table)} a WHERE a.contact_id {ids} "
            f"UNION ALL "
            f"SELECT {_ORGANIZATION}, m.contact_id, o.id, o.path, "
            f"ROW_NUMBER() OVER (ORDER BY {_ordering(Organization, 'o', qn)}), {no_address} "
            f"FROM {qn(organizations)} m "
            f"INNER JOIN {qn(Organization._meta.db_table)} o ON o.id = m.organization_id "
            f"WHERE m.contact_id {ids} "
            f"UNION ALL "
            f"SELECT {_CUSTOMER_GROUP}, m.contact_id, g.id, NULL, "
            f"ROW_NUMBER() OVER (ORDER BY {_ordering(CustomerGroup, 'g', qn)}), {no_address} "
            f"FROM {qn(groups)} m "
            f"INNER JOIN {qn(CustomerGroup._meta.db_table)} g ON g.id = m.customergroup_id "
            f"WHERE m.contact_id {ids} "
            f"ORDER BY kind, place"),
        address_readers=tuple((f.name, f.to_python) for f in address_columns),
        one_array=id_count is None,
    )


def _ordering(model: type[Model], alias: str, qn) -> str:
    """The model's default ordering (Meta.ordering, plain field names) as SQL on `alias`."""
    columns = []
    for name in model._meta.ordering:
        column = qn(model._meta.get_field(name.removeprefix("-")).column)
        columns.append(f"{alias}.{column}{' DESC' if name.startswith('-') else ''}")
    return ", ".join(columns)
