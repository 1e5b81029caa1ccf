"""Contacts in files: the API's field names as columns, upserted by `key`
through the customers domain's batch service. `addresses` holds the API's
list of addresses as JSON (`[{"line1": …, "city": …, "country": "DE",
"is_default_shipping": true}]`); an empty cell is no address."""

import json
from array import array
from bisect import bisect_left
from heapq import merge
from collections.abc import Iterable, Sequence
from typing import Any

from clientbase.core.batches import RowOutcome
from clientbase.core.errors import FieldError
from clientbase.customers.services.contact_batches import (
    CleanedContacts, ContactRow, clean_contacts, upsert_contacts,
)
from clientbase.customers.services.contacts import ADDRESS_FIELDS
from clientbase.transfer.columns import split_keys
from clientbase.transfer.readers import Row

FIELDS = ("key", "first_name", "last_name", "email", "phone", "birth_date",
          "preferred_language", "preferred_currency")
LISTS = ("organizations", "customer_groups")
# As many as the API takes for one contact.
MAX_ADDRESSES = 100


def addresses_cell(addresses: Sequence[dict[str, Any]]) -> str:
    """A contact's addresses as a file's cell: JSON, "" for none."""
    return json.dumps(list(addresses), ensure_ascii=False, separators=(",", ":")) if addresses else ""


def parse_addresses(cell: str) -> tuple[list[dict[str, Any]] | None, list[FieldError]]:
    """The addresses of an `addresses` cell, or the errors that say why the
    cell is no list of addresses. Each address's text is then judged by the
    customers domain's address rule (clean_address)."""
    cell = cell.strip()
    if not cell:
        return [], []
    try:
        addresses = json.loads(cell)
    except json.JSONDecodeError as exc:
        return None, [FieldError("addresses", f"Not JSON ({exc.msg}, at character {exc.pos + 1}): a list "
                                 'such as [{"line1": "Main St 1", "city": "Berlin", "country": "DE"}].',
                                 "invalid")]
    if not isinstance(addresses, list):
        return None, [FieldError("addresses", "A JSON list of addresses, [] for none.", "invalid")]
    if len(addresses) > MAX_ADDRESSES:
        return None, [FieldError("addresses", f"At most {MAX_ADDRESSES} addresses.", "too_long")]
    errors = []
    for index, address in enumerate(addresses):
        if not isinstance(address, dict):
            errors.append(FieldError(f"addresses.{index}", "An address is a JSON object.", "invalid"))
            continue
        for name in ("is_default_shipping", "is_default_billing"):
            if address.get(name) not in (None, True, False):
                errors.append(FieldError(f"addresses.{index}.{name}", "true or false.", "invalid"))
    return (None, errors) if errors else (addresses, [])


class SeenKeys:
    """The keys of the rows written so far, as 64-bit hashes: 8 bytes a key
    (a million keys: 8 MB), so that memory stays flat. Recent keys wait in a
    small set, then join one sorted array, merged as streams (no list of
    every key on the way). Two keys of one file sharing a hash (odds about
    1 in 10^7 at a million keys) would fail the second row as a repeat."""

    MERGE_AT = 100_000

    def __init__(self):
        self._recent: set[int] = set()
        self._sorted = array("q")

    def __contains__(self, key: str) -> bool:
        value = hash(key)
        if value in self._recent:
            return True
        at = bisect_left(self._sorted, value)
        return at < len(self._sorted) and self._sorted[at] == value

    def update(self, keys: Iterable[str]) -> None:
        self._recent.update(hash(k) for k in keys)
        if len(self._recent) >= self.MERGE_AT:
            self._sorted = array("q", merge(self._sorted, sorted(self._recent)))
            self._recent.clear()


class ContactsEntity:
    name = "contacts"
    columns = (*FIELDS, *LISTS, "addresses")
    required = ("key",)

    def __init__(self):
        self._written = SeenKeys()  # a key on two rows fails the later one, in any batch

    def prepare(self, rows: Sequence[Row]) -> tuple[list[ContactRow], CleanedContacts]:
        """The rows as the batch service takes them, cleaned (no database:
        run_import prepares the next batch while this one is written)."""
        batch = []
        for row in rows:
            values = row.values
            lists = {name: split_keys(values[name]) if name in values else None for name in LISTS}
            fields = {name: values[name] for name in FIELDS if name in values}
            if "birth_date" in fields:
                fields["birth_date"] = fields["birth_date"].strip() or None  # an empty cell: none
            addresses, errors = parse_addresses(values["addresses"]) if "addresses" in values else (None, [])
            batch.append(ContactRow(fields=fields, addresses=addresses, errors=errors, **lists))
        return batch, clean_contacts(batch)

    def apply(self, rows: Sequence[Row], *, actor, prepared=None) -> list[tuple[Row, RowOutcome]]:
        batch, cleaned = prepared if prepared is not None else self.prepare(rows)
        return list(zip(rows, upsert_contacts(batch, actor=actor, earlier_keys=self._written, cleaned=cleaned)))

    def finish(self, *, actor) -> list:
        self._written = SeenKeys()  # the file has ended: the next one starts afresh
        return []


def address_objects(addresses: Iterable) -> list[dict[str, Any]]:
    """A contact's addresses as the API shows them (without their ids), for exports."""
    return [{name: getattr(a, name) for name in ADDRESS_FIELDS} for a in addresses]
