"""Memberships in files: one membership a row, naming two of `contact`,
`organization` and `customer_group` by key (or id, for an object without
one); an optional `action` column says `add` (the default) or `remove`.

    contact,organization,customer_group,action
    EVE,EU-MGMT,,            → Eve in EU Management
    EVE,,GOLD,remove         → Eve no longer in Gold
    ,EU-HQ,SILVER,           → EU Headquarters in Silver

Rows go through the customers domain's `change_memberships`; the export
lists every membership the acting account sees, and imports back unchanged.
"""

from collections.abc import Iterator

from django.db.models import QuerySet

from clientbase.customers.models import Contact, Organization
from clientbase.customers.services.membership_rows import MembershipRow, change_memberships, visible
from clientbase.transfer.flat import CellError, FlatEntity, cell
from clientbase.transfer.readers import Row

ACTIONS = ("add", "remove")
# What an export writes; `action` is for imports (an export only adds).
EXPORT_COLUMNS = ("contact", "organization", "customer_group")
CHUNK = 2000


class MembershipsEntity(FlatEntity):
    name = "memberships"
    columns = (*EXPORT_COLUMNS, "action")
    required = ()
    upsert = staticmethod(change_memberships)

    def convert(self, row: Row) -> MembershipRow:
        action = cell(row, "action").lower() or "add"
        if action not in ACTIONS:
            raise CellError("action", f"The action is add or remove (empty: add), not '{cell(row, 'action')}'.")
        return MembershipRow(contact=cell(row, "contact") or None, organization=cell(row, "organization") or None,
                             customer_group=cell(row, "customer_group") or None, remove=action == "remove")


def membership_rows(actor, selection: QuerySet | None = None) -> Iterator[dict]:
    """Every membership `actor` (None: the system) sees: its contacts in the
    organizations it sees, its contacts' groups, and — with the permission
    to view organizations — the groups of the organizations it sees.
    `selection`, a queryset of contacts or of organizations, keeps the
    memberships of those (a contact selection: no organization's groups)."""
    contacts = visible(Contact, actor)
    organizations = visible(Organization, actor)
    if selection is not None and selection.model is Contact:
        contacts = contacts.filter(pk__in=selection.values("pk"))
    elif selection is not None:
        organizations = organizations.filter(pk__in=selection.values("pk"))
    contacts, organizations = contacts.values("pk"), organizations.values("pk")
    sources = [
        (Contact.organizations.through.objects.filter(contact_id__in=contacts, organization_id__in=organizations),
         {"contact": ("contact__key", "contact_id"), "organization": ("organization__key", "organization_id")}),
        (Contact.customer_groups.through.objects.filter(contact_id__in=contacts)
         if selection is None or selection.model is Contact else Contact.customer_groups.through.objects.none(),
         {"contact": ("contact__key", "contact_id"), "customer_group": ("customergroup__key", "customergroup_id")}),
    ]
    if (actor is None or actor.has_perm("customers.view_organization")) and (
            selection is None or selection.model is Organization):
        sources.append((
            Organization.customer_groups.through.objects.filter(organization_id__in=organizations),
            {"organization": ("organization__key", "organization_id"),
             "customer_group": ("customergroup__key", "customergroup_id")}))
    for links, names in sources:
        fields = [f for pair in names.values() for f in pair]
        order = [pair[1] for pair in names.values()]
        for values in links.order_by(*order).values(*fields).iterator(chunk_size=CHUNK):
            row = dict.fromkeys(EXPORT_COLUMNS, "")
            row.update({name: values[key] or str(values[pk]) for name, (key, pk) in names.items()})
            yield row
