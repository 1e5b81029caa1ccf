"""Organizations in files: `key`, `name`, `kind`, `parent` (a key; empty: a
root) and `customer_groups`, upserted by key, parents in any order (see
transfer.trees)."""

from clientbase.customers.services.organization_batches import OrganizationRow, upsert_organizations
from clientbase.transfer.columns import split_keys
from clientbase.transfer.readers import Row
from clientbase.transfer.trees import TreeEntity


class OrganizationsEntity(TreeEntity):
    name = "organizations"
    label = "organization"
    columns = ("key", "name", "kind", "parent", "customer_groups")
    required = ("key",)
    upsert = staticmethod(upsert_organizations)

    def convert(self, row: Row) -> OrganizationRow:
        values = row.values
        return OrganizationRow(
            key=values["key"].strip() or None,
            # An empty kind is the default for a new organization and no change for another.
            fields={name: values[name] for name in ("name", "kind") if values.get(name, "").strip()
                    or name == "name" and name in values},
            parent=values.get("parent", "").strip() or None,
            parent_given="parent" in values,
            customer_groups=split_keys(values["customer_groups"]) if "customer_groups" in values else None,
        )
