"""Customer groups in files: `key`, `name`, `description`, `parent` (a key;
empty: a root), upserted by key, parents in any order (see transfer.trees)."""

from clientbase.customers.services.group_batches import CustomerGroupRow, upsert_customer_groups
from clientbase.transfer.readers import Row
from clientbase.transfer.trees import TreeEntity


class CustomerGroupsEntity(TreeEntity):
    name = "customer-groups"
    label = "customer group"
    columns = ("key", "name", "description", "parent")
    required = ("key",)
    upsert = staticmethod(upsert_customer_groups)

    def convert(self, row: Row) -> CustomerGroupRow:
        values = row.values
        return CustomerGroupRow(
            key=values["key"].strip() or None,
            fields={name: values[name] for name in ("name", "description") if name in values},
            parent=values.get("parent", "").strip() or None,
            parent_given="parent" in values,
        )
