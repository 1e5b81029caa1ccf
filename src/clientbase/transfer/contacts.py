"""Contacts in files: the API's field names as columns, upserted by `key`
through the customers domain's batch service."""

from collections.abc import Sequence

from clientbase.core.batches import RowOutcome
from clientbase.customers.services.contact_batches import ContactRow, upsert_contacts
from clientbase.transfer.columns import split_keys
from clientbase.transfer.readers import Row

FIELDS = ("key", "first_name", "last_name", "email", "phone", "birth_date",
          "preferred_language", "preferred_currency")
LISTS = ("organizations", "customer_groups")


class ContactsEntity:
    name = "contacts"
    columns = (*FIELDS, *LISTS)
    required = ("key",)

    def apply(self, rows: Sequence[Row], *, actor) -> list[tuple[Row, RowOutcome]]:
        batch = []
        for row in rows:
            values = row.values
            lists = {name: split_keys(values[name]) if name in values else None for name in LISTS}
            fields = {name: values[name] for name in FIELDS if name in values}
            if "birth_date" in fields:
                fields["birth_date"] = fields["birth_date"].strip() or None  # an empty cell: none
            batch.append(ContactRow(fields=fields, **lists))
        return list(zip(rows, upsert_contacts(batch, actor=actor)))

    def finish(self, *, actor) -> list:
        return []
