"""What a contact belongs to, read in one query: its effective customer
groups (for prices and visitor groups), its organizations and its
account's roles.

customers.services.groups.effective_groups gives the same groups with the
chains that explain each; this module gives only the keys, fast, for every
storefront request.
"""

import hashlib
from dataclasses import dataclass
from uuid import UUID

from django.db import connection

from clientbase.core import caching
from clientbase.core.rows import bound_id
from clientbase.customers.cache_names import ROLES, TREES, account_version, contact_version
from clientbase.customers.models import Account, Contact, CustomerGroup, Organization

# The length of one materialized-path segment (32 hex digits and "/"), see
# clientbase.core.models.path_for.
SEGMENT = 33


def group_keys_cte() -> str:
    """SQL defining `group_keys(key)`: the effective groups of the contact
    bound twice as the first two parameters.

    Ancestors of an organization or a group are the prefixes of its
    materialized path, each one segment shorter; a recursive CTE lists them
    and the path indexes look them up, whatever the depth of either tree.

    The CROSS JOINs fix SQLite's join order (it never reorders them; for
    PostgreSQL they are plain inner joins): from the few rows at hand to the
    big tables through their indexes, never a scan of every organization or
    of a market's price rows.
    """
    org = Organization._meta.db_table
    grp = CustomerGroup._meta.db_table
    contact_orgs = Contact.organizations.through._meta.db_table
    contact_groups = Contact.customer_groups.through._meta.db_table
    org_groups = Organization.customer_groups.through._meta.db_table
    return f"""
      member_paths(path) AS (
        SELECT CAST(o.path AS TEXT) FROM {contact_orgs} m CROSS JOIN {org} o
         WHERE m.contact_id = %s AND o.id = m.organization_id
        UNION
        SELECT substr(path, 1, length(path) - {SEGMENT}) FROM member_paths WHERE length(path) > {SEGMENT}
      ),
      group_paths(path) AS (
        SELECT CAST(g.path AS TEXT) FROM {contact_groups} cg CROSS JOIN {grp} g
         WHERE cg.contact_id = %s AND g.id = cg.customergroup_id
        UNION
        SELECT CAST(g.path AS TEXT)
          FROM member_paths mp CROSS JOIN {org} o CROSS JOIN {org_groups} og CROSS JOIN {grp} g
         WHERE o.path = mp.path AND og.organization_id = o.id AND g.id = og.customergroup_id
        UNION
        SELECT substr(path, 1, length(path) - {SEGMENT}) FROM group_paths WHERE length(path) > {SEGMENT}
      ),
      group_keys(key) AS (
        SELECT g.key FROM group_paths gp CROSS JOIN {grp} g WHERE g.path = gp.path
      )"""


def effective_group_keys(contact: Contact | None) -> frozenset[str]:
    """Keys of the contact's effective customer groups, in ONE query (none
    when the shared cache holds them); empty for an anonymous visitor. Same
    answer as customers.services.groups.effective_groups, which also
    explains each."""
    if contact is None:
        return frozenset()
    # The contact's own memberships and the two trees decide them.
    return caching.cached(f"groups:{contact.pk}", [contact_version(contact.pk), TREES],
                          lambda: _effective_group_keys(contact))


def _effective_group_keys(contact: Contact) -> frozenset[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"WITH RECURSIVE {group_keys_cte()} SELECT key FROM group_keys",
                       [bound_id(contact.pk, connection)] * 2)
        return frozenset(row[0] for row in cursor.fetchall())


@dataclass(frozen=True)
class Memberships:
    """A shopper's memberships as visitor groups judge them."""

    group_keys: frozenset[str] = frozenset()
    organization_paths: tuple[str, ...] = ()
    roles: frozenset[str] = frozenset()
    # The paths of the organizations asked about by key (organization_keys).
    paths_by_key: dict[str, str] | None = None


def memberships(contact: Contact | None, account: Account | None = None,
                organization_keys: frozenset[str] = frozenset()) -> Memberships:
    """The contact's effective group keys, its organizations' paths, the
    account's role names and the paths of `organization_keys`: ONE query,
    or none when the shared cache holds them."""
    if contact is None and account is None:
        return Memberships(paths_by_key={})
    deps = [TREES]  # the trees: groups of organizations, paths, keys of organizations
    if contact is not None:
        deps.append(contact_version(contact.pk))
    if account is not None:
        deps += [account_version(account.pk), ROLES]
    key = "memberships:{}:{}:{}".format(contact.pk if contact else "-", account.pk if account else "-",
                                        hashlib.blake2b(",".join(sorted(organization_keys)).encode(), digest_size=16).hexdigest())
    return caching.cached(key, deps, lambda: _memberships(contact, account, organization_keys))


def _memberships(contact: Contact | None, account: Account | None,
                 organization_keys: frozenset[str]) -> Memberships:
    org = Organization._meta.db_table
    contact_orgs = Contact.organizations.through._meta.db_table
    account_roles = Account.groups.through._meta.db_table
    role = Account.groups.field.related_model._meta.db_table
    contact_id = bound_id(contact.pk if contact is not None else UUID(int=0), connection)
    parts = [("SELECT 'g', key FROM group_keys", []),
             (f"SELECT 'o', CAST(o.path AS TEXT) FROM {contact_orgs} m CROSS JOIN {org} o "
              f"WHERE m.contact_id = %s AND o.id = m.organization_id", [contact_id])]
    if account is not None:
        parts.append((f"SELECT 'r', r.name FROM {account_roles} ar CROSS JOIN {role} r "
                      f"WHERE ar.account_id = %s AND r.id = ar.group_id",
                      [bound_id(account.pk, connection)]))
    keys = sorted(organization_keys)
    if keys:
        parts.append((f"SELECT 'k' || key, CAST(path AS TEXT) FROM {org} "
                      f"WHERE key IN ({', '.join(['%s'] * len(keys))})", keys))
    sql = f"WITH RECURSIVE {group_keys_cte()} " + " UNION ALL ".join(part for part, _ in parts)
    params = [contact_id, contact_id] + [p for _, ps in parts for p in ps]
    groups, paths, roles, by_key = set(), [], set(), {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, value in cursor.fetchall():
            if kind == "g":
                groups.add(value)
            elif kind == "o":
                paths.append(value)
            elif kind == "r":
                roles.add(value)
            else:
                by_key[kind[1:]] = value
    return Memberships(frozenset(groups), tuple(sorted(paths)), frozenset(roles), by_key)
