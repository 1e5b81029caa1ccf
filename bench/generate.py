"""Build a benchmark database fast: organizations, contacts, memberships.

Rows go straight into the models' tables (COPY on PostgreSQL, `executemany`
on SQLite), bypassing `save()` and django-simple-history, which would make a
million contacts take hours. The columns `save()` would fill are filled here
the same way: `path` and `depth` from `clientbase.core.models.path_for`,
`search_name`, `search_first_name` and `search_last_name` case-folded.

The first top-level tree holds exactly `subtree_orgs` organizations; one
account with the role CustomerServiceRepresentatives gets a grant (with
descendants) on its root, so it sees that subtree and its contacts only.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models
from django.utils import timezone
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.scales import SCALES, Scale
from clientbase.core.trees import path_for

BENCH_EMAIL = "bench-csr@example.com"

FIRST_NAMES = (
    "Anna Ben Clara David Emma Felix Greta Hannah Ida Jonas Karl Lena Marie Noah Olga Paul "
    "Quentin Rosa Sophie Tom Ulla Valentin Wiebke Xaver Yusuf Zoe Ahmed Björn Chloé Dmitri "
    "Élodie Fatima Giulia Hiroshi Inés Jürgen Kateřina Lars Mateo Nadia Oskar Priya Raúl Smilla "
    "Smita Sven Tatiana Umar Vera William Ximena Yara Zeynep Aaliyah Bruno Carmen Diego Ella "
    "Finn Gabriel Helena Isaac Jana Kofi Laura Mia Nils Olivia Pedro Rahel Samuel Theo Uwe"
).split()

LAST_NAMES = (
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch "
    "Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann "
    "Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König "
    "Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel "
    "Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht "
    "Smith Smits Smirnov Smolenski Johnson Williams Brown Jones Garcia Miller Davis Rodriguez "
    "Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee "
    "Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King "
    "Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell "
    "Mitchell Carter Roberts Dubois Durand Lefèvre Moreau Laurent Simon Michel Rossi Russo "
    "Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Jansen Visser Bakker Janssen "
    "Nowak Kowalski Wiśniewski Wójcik Novák Svoboda Dvořák Nielsen Jensen Hansen Andersson "
    "Johansson Karlsson Nilsson Eriksson Larsson Olsen Virtanen Korhonen Popescu Horváth "
    "Papadopoulos Yılmaz Kaya Demir Şahin Çelik Ivanov Petrov Sato Suzuki Takahashi Tanaka "
    "Kim Park Chen Wang Li Zhang Liu Singh Kumar Sharma Patel Okafor Mensah Silva Santos "
    "O'Brien Murphy Kelly Byrne Ó Súilleabháin Mac Giolla"
).split()

ORG_WORDS = (
    "Alpine Baltic Coastal Delta Eastern Frontier Global Harbor Inland Jade Kestrel Lakeside "
    "Meridian Northern Orchard Pacific Quarry Riverside Summit Tundra Union Valley Western"
).split()
ORG_NOUNS = "Trading Retail Holdings Logistics Supplies Partners Works Group Outlet Depot".split()


@dataclass
class Generated:
    """What the generator made: the granted subtree's root and the account."""

    root_id: uuid.UUID
    root_path: str
    account_email: str
    memberships: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _tree(rng: random.Random, size: int, max_depth: int,
          root_parent: tuple[uuid.UUID, str, int] | None = None) -> list[tuple[uuid.UUID, uuid.UUID | None, str, int]]:
    """`size` nodes of one tree: (id, parent id, path, depth), parents first.

    Each new node hangs under a random earlier node that is not yet at the
    maximum depth, which gives a bushy tree a few levels deep with some
    branches reaching `max_depth` (depth counts from 0 at the root).
    """
    root_id = _uuid(rng)
    nodes = [(root_id, None, path_for(root_id), 0)]
    open_parents = [0]  # indexes of nodes that may still take children
    for _ in range(size - 1):
        parent = nodes[open_parents[rng.randrange(len(open_parents))]]
        node_id = _uuid(rng)
        depth = parent[3] + 1
        nodes.append((node_id, parent[0], path_for(node_id, parent[2]), depth))
        if depth < max_depth - 1:
            open_parents.append(len(nodes) - 1)
    return nodes


def organization_tree(scale: Scale) -> list[tuple[uuid.UUID, uuid.UUID | None, str, int]]:
    """Every organization of `scale`: the granted tree first, then other trees
    of a few hundred to a few thousand nodes until the total is reached."""
    rng = random.Random(scale.seed)
    nodes = _tree(rng, scale.subtree_orgs, scale.max_depth)
    remaining = scale.organizations - len(nodes)
    while remaining > 0:
        size = min(remaining, rng.randint(max(1, scale.subtree_orgs // 20), max(2, scale.subtree_orgs // 3)))
        nodes.extend(_tree(rng, size, scale.max_depth))
        remaining -= size
    return nodes


class Loader:
    """Writes rows into one table as fast as the database allows."""

    def __init__(self, progress: Progress | None = None, fast_indexes: bool = True):
        self.vendor = connection.vendor
        self.progress = progress
        # Dropping secondary indexes during a load and building them once
        # afterwards is several times faster than maintaining them row by row
        # (random UUIDs land all over every index).
        self.fast_indexes = fast_indexes

    def uuid(self, value: uuid.UUID | None) -> Any:
        # Django keeps UUIDs as 32 hex digits on SQLite; PostgreSQL's uuid input
        # accepts the same text, so one representation serves both.
        return None if value is None else value.hex

    def load(self, table: str, columns: list[str], rows: Iterable[tuple], total: int,
             label: str, batch: int = 10_000) -> int:
        task = self.progress.add_task(label, total=total) if self.progress else None
        dropped = self._drop_indexes(table) if self.fast_indexes else []
        written = 0
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                names = ", ".join(connection.ops.quote_name(c) for c in columns)
                with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        written += 1
                        if task is not None and written % batch == 0:
                            self.progress.advance(task, batch)
            else:
                names = ", ".join(connection.ops.quote_name(c) for c in columns)
                sql = (f"INSERT INTO {connection.ops.quote_name(table)} ({names}) "
                       f"VALUES ({', '.join(['%s'] * len(columns))})")
                chunk: list[tuple] = []
                for row in rows:
                    chunk.append(row)
                    if len(chunk) == batch:
                        cursor.executemany(sql, chunk)
                        written += len(chunk)
                        chunk = []
                        if task is not None:
                            self.progress.advance(task, batch)
                if chunk:
                    cursor.executemany(sql, chunk)
                    written += len(chunk)
            if dropped:
                if task is not None:
                    self.progress.update(task, description=f"{label} (indexes)")
                for statement in dropped:
                    cursor.execute(statement)
        if task is not None:
            self.progress.update(task, completed=total, description=label)
        return written

    def _drop_indexes(self, table: str) -> list[str]:
        """Drop the secondary indexes of `table`; returns the statements that
        recreate them. Primary keys and constraint-backed indexes stay."""
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
                    "AND indexname NOT IN (SELECT conname FROM pg_constraint)", [table])
            else:
                # SQLite: indexes made by CREATE INDEX have their SQL; those
                # behind PRIMARY KEY / UNIQUE have none and cannot be dropped.
                # A big page cache keeps the remaining B-trees in memory.
                cursor.execute("PRAGMA cache_size = -1000000")
                cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                               "AND tbl_name = %s AND sql IS NOT NULL", [table])
            found = cursor.fetchall()
            for name, _ in found:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        return [definition for _, definition in found]


def _constants(model: type[models.Model], set_here: set[str], now) -> dict[str, Any]:
    """Database values of every column the generator does not set itself: the
    field's default (timestamps: now), prepared for the current database."""
    values = {}
    for f in model._meta.concrete_fields:
        if f.column in set_here:
            continue
        if isinstance(f, models.DateTimeField):
            value = now
        else:
            value = f.get_default()  # "" for a text field without a default
        values[f.column] = f.get_db_prep_save(value, connection)
    return values


def generate(scale: Scale, progress: Progress | None = None, fast_indexes: bool = True) -> Generated:
    """Fill the (migrated, empty) current database with `scale`'s data."""
    from django.contrib.auth.models import Group

    from clientbase.customers.models import Account, Contact, Grant, GrantLevel, Organization, Role

    loader = Loader(progress, fast_indexes=fast_indexes)
    U = loader.uuid
    now = timezone.now()
    rng = random.Random(scale.seed + 1)

    # Organizations.
    nodes = organization_tree(scale)
    org_fields = ["id", "parent_id", "path", "depth", "name", "search_name", "kind"]
    org_const = _constants(Organization, set(org_fields), now)
    org_columns = org_fields + list(org_const)

    def org_rows() -> Iterator[tuple]:
        const = tuple(org_const.values())
        for i, (node_id, parent_id, path, depth) in enumerate(nodes):
            name = f"{rng.choice(ORG_WORDS)} {rng.choice(ORG_NOUNS)} {i + 1}"
            kind = "organization" if depth < 2 else "unit"
            yield (U(node_id), U(parent_id), path, depth, name, name.casefold(), kind, *const)

    loader.load(Organization._meta.db_table, org_columns, org_rows(), len(nodes), "organizations")

    # Contacts.
    contact_fields = ["id", "first_name", "last_name", "search_first_name", "search_last_name",
                      "email", "source"]
    contact_const = _constants(Contact, set(contact_fields), now)
    contact_columns = contact_fields + list(contact_const)
    org_ids = [U(n[0]) for n in nodes]
    memberships: list[tuple[str, str]] = []

    def contact_rows() -> Iterator[tuple]:
        const = tuple(contact_const.values())
        for i in range(scale.contacts):
            contact_id = U(_uuid(rng))
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first}.{last}.{i}@example.com".lower().replace("'", "")
            yield (contact_id, first, last, first.casefold(), last.casefold(), email, "import", *const)
            # Each contact in one organization, some in a second one.
            first_org = rng.randrange(len(org_ids))
            memberships.append((contact_id, org_ids[first_org]))
            if rng.random() < scale.second_org_share:
                second = rng.randrange(len(org_ids))
                if second != first_org:
                    memberships.append((contact_id, org_ids[second]))

    loader.load(Contact._meta.db_table, contact_columns, contact_rows(), scale.contacts, "contacts")

    through = Contact.organizations.through
    loader.load(through._meta.db_table, ["contact_id", "organization_id"], iter(memberships),
                len(memberships), "memberships")

    # The scoped account: a customer-service representative granted the first tree.
    root_id, _, root_path, _ = nodes[0]
    account = Account.objects.filter(email=BENCH_EMAIL).first() or Account.objects.create_user(
        BENCH_EMAIL, None, roles=[Role.CUSTOMER_SERVICE])
    Grant.objects.create(account=account, organization_id=root_id, include_descendants=True,
                         level=GrantLevel.VIEW)
    assert Group.objects.filter(name=Role.CUSTOMER_SERVICE, pk__in=account.groups.all()).exists()

    analyze()
    return Generated(root_id=root_id, root_path=root_path, account_email=BENCH_EMAIL,
                     memberships=len(memberships),
                     counts={"organizations": len(nodes), "contacts": scale.contacts,
                             "memberships": len(memberships)})


def analyze() -> None:
    """Refresh the planner's statistics after a bulk load (both databases
    plan far worse on empty statistics). On PostgreSQL outside a transaction,
    VACUUM too: it sets the visibility map that index-only scans need and the
    hint bits that the first readers would otherwise write."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            cursor.execute("VACUUM (ANALYZE)")
        else:
            cursor.execute("ANALYZE")


def existing(scale: Scale) -> Generated | None:
    """The data of an earlier run at the same scale, if the database holds it."""
    from clientbase.customers.models import Account, Contact, Grant, Organization

    account = Account.objects.filter(email=BENCH_EMAIL).first()
    if account is None:
        return None
    grant = Grant.objects.filter(account=account).select_related("organization").first()
    if grant is None:
        return None
    if (Organization.objects.count() != scale.organizations
            or Contact.objects.count() != scale.contacts):
        return None
    through = Contact.organizations.through
    return Generated(root_id=grant.organization_id, root_path=grant.organization.path,
                     account_email=BENCH_EMAIL, memberships=through.objects.count(),
                     counts={"organizations": scale.organizations, "contacts": scale.contacts})


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn())


__all__ = ["SCALES", "Scale", "Generated", "generate", "existing", "progress_bar", "analyze",
           "organization_tree", "BENCH_EMAIL"]
