"""How many members each customer group has, as a viewer may count them:
contacts assigned to the group itself (direct), contacts effectively in it
(by the rule of `effective_groups` and `Contact.objects.effectively_in`),
and organizations assigned to it. A few grouped queries for any number of
groups, never one per group; only what the viewer sees is counted."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from django.db import connections, router
from django.db.models import Count

from clientbase.customers.models import Contact, CustomerGroup, Organization
from clientbase.customers.models.visibility import contact_scope


@dataclass(frozen=True)
class GroupCounts:
    direct: int = 0
    effective: int = 0
    organizations: int = 0


def member_counts(groups: Iterable[CustomerGroup], *, viewer) -> dict[UUID, GroupCounts]:
    """The counts of each of `groups` (by id; a group without members is
    missing), counting only the contacts and organizations `viewer` sees.
    Three queries whatever the number of groups."""
    groups = list(groups)
    if not groups:
        return {}
    ids = [g.pk for g in groups]
    scope = contact_scope(viewer)
    if not scope.everything and scope.organizations.nothing:
        return {}
    visible = None if scope.everything else Contact.objects.visible_to(viewer).order_by().values("pk")
    links = Contact.customer_groups.through.objects.filter(customergroup_id__in=ids)
    if visible is not None:
        links = links.filter(contact_id__in=visible)
    direct = dict(links.order_by().values_list("customergroup_id").annotate(n=Count("contact_id")))
    organizations = dict(
        Organization.customer_groups.through.objects
        .filter(customergroup_id__in=ids, organization__in=Organization.objects.visible_to(viewer).order_by())
        .order_by().values_list("customergroup_id").annotate(n=Count("organization_id")))
    effective = _effective_counts(groups, visible)
    counts: dict[UUID, dict[str, int]] = defaultdict(dict)
    for name, found in (("direct", direct), ("effective", effective), ("organizations", organizations)):
        for group_id, n in found.items():
            counts[group_id][name] = n
    return {group_id: GroupCounts(**values) for group_id, values in counts.items()}


def _effective_counts(groups: list[CustomerGroup], visible) -> dict[UUID, int]:
    """Distinct contacts per group whose starting groups (their own, and
    those of their organizations and of the organizations' ancestors) lie in
    the group's subtree: one grouped query over the memberships.

    Materialized paths make "in the subtree" and "an ancestor of" range
    comparisons (`path >= p AND path < p || '~'`), so the query is the same
    on SQLite and PostgreSQL."""
    connection = connections[router.db_for_read(Contact)]
    qn = connection.ops.quote_name
    group_table = qn(CustomerGroup._meta.db_table)
    org_table = qn(Organization._meta.db_table)
    contact_groups = qn(Contact.customer_groups.through._meta.db_table)
    contact_orgs = qn(Contact.organizations.through._meta.db_table)
    org_groups = qn(Organization.customer_groups.through._meta.db_table)
    pk = CustomerGroup._meta.pk
    params: list = [pk.get_db_prep_value(g.pk, connection) for g in groups]
    visible_sql = ""
    if visible is not None:
        sql, visible_params = visible.query.sql_with_params()
        visible_sql = f"AND s.contact_id IN ({sql})"
        params += list(visible_params)
    query = f"""
        SELECT g.id, COUNT(DISTINCT s.contact_id)
        FROM {group_table} g
        JOIN (
            SELECT cg.contact_id AS contact_id, sg.path AS path
            FROM {contact_groups} cg JOIN {group_table} sg ON sg.id = cg.customergroup_id
            UNION
            SELECT m.contact_id, sg.path
            FROM {org_groups} og
            JOIN {group_table} sg ON sg.id = og.customergroup_id
            JOIN {org_table} a ON a.id = og.organization_id
            JOIN {org_table} o ON o.path >= a.path AND o.path < a.path || '~'
            JOIN {contact_orgs} m ON m.organization_id = o.id
        ) s ON s.path >= g.path AND s.path < g.path || '~'
        WHERE g.id IN ({", ".join(["%s"] * len(groups))})
        {visible_sql}
        GROUP BY g.id
    """
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return {pk.to_python(group_id): n for group_id, n in cursor.fetchall()}
