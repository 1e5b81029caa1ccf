"""`scripts/bench pricing` (`python -m bench.pricing`): time the price resolver
against one hand-written SQL query that computes the same answer.

    scripts/bench pricing                                  # small, both databases
    scripts/bench pricing --scale large --database postgres

The database holds customer groups (a tree under Customers), a chain of
organizations 8 levels deep with groups on some of them, one contact in the
deepest organization with groups of its own, two markets, products with
variants, and price rows: per variant a price for all customers, a quantity
break, group prices for random groups (some expired or not yet valid), a few
customer prices, and rows in the second market; some products carry only
product-level rows. Cases:

- resolve 100 SKUs in one batch for the contact (`resolve_prices`, as
  `POST /api/v1/prices/resolve` runs it);
- resolve one SKU (`GET /api/v1/prices/resolve`);
- the same for an anonymous visitor.

Both ways must choose the same row for every SKU (checked before timing).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from bench.__main__ import (
    _ensure_database, _reset_database, _server_version, add_server_arguments, use_database, run_per_database,
)

BENCH_CONTACT = "BENCH-CONTACT"
CHAIN_DEPTH = 8
BATCH = 100


@dataclass(frozen=True)
class PricingScale:
    name: str
    groups: int
    products: int
    variants_per_product: int
    rows_per_variant: int
    seed: int = 20261126

    @property
    def variants(self) -> int:
        return self.products * self.variants_per_product

    @property
    def rows(self) -> int:
        return self.variants * self.rows_per_variant

    def describe(self) -> str:
        return (f"{self.groups:,} customer groups, {self.variants:,} variants, "
                f"~{self.rows:,} price rows, a contact {CHAIN_DEPTH} organizations deep")


SCALES = {
    "tiny": PricingScale("tiny", groups=30, products=40, variants_per_product=5, rows_per_variant=10),
    "small": PricingScale("small", groups=200, products=2_000, variants_per_product=10, rows_per_variant=10),
    "medium": PricingScale("medium", groups=1_000, products=5_000, variants_per_product=10, rows_per_variant=10),
    "large": PricingScale("large", groups=1_000, products=20_000, variants_per_product=10, rows_per_variant=10),
}


# --- Generation ---------------------------------------------------------------


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def generate(scale: PricingScale, progress=None, fast_indexes: bool = True) -> None:
    """Fill the (migrated, empty) current database. Tests pass
    fast_indexes=False: indexes cannot be rebuilt inside their transaction."""
    from django.utils import timezone

    from bench.generate import Loader, _constants, analyze
    from clientbase.catalog.models import Market, Product, Variant
    from clientbase.core.trees import path_for
    from clientbase.customers.models import Contact, CustomerGroup, Organization
    from clientbase.pricing.models import PriceRow
    from clientbase.pricing.services import effective_group_keys

    rng = random.Random(scale.seed)
    loader = Loader(progress, fast_indexes=fast_indexes)
    U = loader.uuid
    now = timezone.now()

    # Customer groups: Customers > ~30 tiers > the rest, three levels.
    groups: list[tuple[uuid.UUID, uuid.UUID | None, str, int, str]] = []
    root = _uuid(rng)
    groups.append((root, None, path_for(root), 0, "CUSTOMERS"))
    tiers = max(1, scale.groups // 30)
    for i in range(1, scale.groups):
        parent = groups[0] if i <= tiers else groups[rng.randint(1, tiers)]
        gid = _uuid(rng)
        groups.append((gid, parent[0], path_for(gid, parent[2]), parent[3] + 1, f"G-{i:04d}"))
    group_fields = ["id", "parent_id", "path", "depth", "key", "name"]
    group_const = _constants(CustomerGroup, set(group_fields), now)
    loader.load(CustomerGroup._meta.db_table, group_fields + list(group_const),
                ((U(g[0]), U(g[1]), g[2], g[3], g[4], g[4].title(), *group_const.values()) for g in groups),
                len(groups), "customer groups")
    group_keys = [g[4] for g in groups]

    # A chain of organizations, CHAIN_DEPTH deep, with groups on two ancestors.
    orgs: list[tuple[uuid.UUID, uuid.UUID | None, str, int]] = []
    parent = None
    for depth in range(CHAIN_DEPTH):
        oid = _uuid(rng)
        orgs.append((oid, parent[0] if parent else None, path_for(oid, parent[2] if parent else ""), depth))
        parent = orgs[-1]
    org_fields = ["id", "parent_id", "path", "depth", "name", "search_name"]
    org_const = _constants(Organization, set(org_fields), now)
    loader.load(Organization._meta.db_table, org_fields + list(org_const),
                ((U(o[0]), U(o[1]), o[2], o[3], f"Level {o[3]}", f"level {o[3]}", *org_const.values())
                 for o in orgs), len(orgs), "organizations")
    pick = lambda i: groups[i % len(groups)]  # noqa: E731
    org_groups = [(U(orgs[1][0]), U(pick(5)[0])), (U(orgs[4][0]), U(pick(tiers + 7)[0]))]
    loader.load(Organization.customer_groups.through._meta.db_table, ["organization_id", "customergroup_id"],
                iter(org_groups), len(org_groups), "organization groups")

    contact = Contact.objects.create(key=BENCH_CONTACT, first_name="Bench", last_name="Buyer")
    contact.organizations.set([orgs[-1][0]])
    contact.customer_groups.set([pick(tiers + 20)[0], pick(tiers + 40)[0]])
    effective = sorted(effective_group_keys(contact))

    eu = Market.objects.create(key="EU", name="Europe", countries=["DE", "FR"], currencies=["EUR"],
                               default_currency="EUR")
    us = Market.objects.create(key="US", name="United States", countries=["US"], currencies=["USD"],
                               default_currency="USD")

    product_ids = [_uuid(rng) for _ in range(scale.products)]
    product_fields = ["id", "key", "name"]
    product_const = _constants(Product, set(product_fields), now)
    loader.load(Product._meta.db_table, product_fields + list(product_const),
                ((U(p), f"P-{i:06d}", f"Product {i}", *product_const.values()) for i, p in enumerate(product_ids)),
                len(product_ids), "products")

    variants: list[tuple[uuid.UUID, uuid.UUID, str, int]] = []
    for i, product in enumerate(product_ids):
        for j in range(scale.variants_per_product):
            variants.append((_uuid(rng), product, f"SKU-{i:06d}-{j:02d}", i))
    variant_fields = ["id", "product_id", "sku", "name"]
    variant_const = _constants(Variant, set(variant_fields), now)
    loader.load(Variant._meta.db_table, variant_fields + list(variant_const),
                ((U(v[0]), U(v[1]), v[2], v[2], *variant_const.values()) for v in variants),
                len(variants), "variants")

    row_fields = ["id", "variant_id", "product_id", "market_id", "currency", "sale_type", "sale_code",
                  "min_quantity", "unit_price", "valid_from", "valid_until"]
    row_const = _constants(PriceRow, set(row_fields), now)
    past, future = now - timezone.timedelta(days=30), now + timezone.timedelta(days=30)
    EU, US = U(eu.pk), U(us.pk)

    def rows() -> Iterator[tuple]:
        const = tuple(row_const.values())
        per = scale.rows_per_variant
        for variant_id, product_id, sku, product_index in variants:
            base = Decimal(rng.randint(500, 50_000)) / 100
            # One product in twenty is priced at product level only.
            product_level = product_index % 20 == 0
            target = (None, U(product_id)) if product_level else (U(variant_id), None)
            if product_level and sku.endswith("-00") is False:
                continue  # one set of product rows per product
            specs = [("all_customers", "", 0, base, None, None),
                     ("all_customers", "", 10, base * Decimal("0.92"), None, None)]
            while len(specs) < per - 2:
                # Group prices: mostly random groups, sometimes one of the
                # contact's, some outside their validity window.
                key = rng.choice(effective) if rng.random() < 0.15 else rng.choice(group_keys)
                window = rng.choice([(None, None)] * 6 + [(None, past), (future, None)])
                specs.append(("customer_group", key, rng.choice([0, 0, 5]),
                              base * Decimal(rng.randint(70, 99)) / 100, *window))
            code = BENCH_CONTACT if rng.random() < 0.02 else f"C-{rng.randint(1, 10**6):07d}"
            specs.append(("customer", code, 0, base * Decimal("0.8"), None, None))
            for sale_type, code, min_q, price, valid_from, valid_until in specs:
                yield (U(_uuid(rng)), *target, EU, "EUR", sale_type, code, Decimal(min_q),
                       price.quantize(Decimal("0.01")), valid_from, valid_until, *const)
            yield (U(_uuid(rng)), *target, US, "USD", "all_customers", "", Decimal(0),
                   (base * Decimal("1.1")).quantize(Decimal("0.01")), None, None, *const)

    loader.load(PriceRow._meta.db_table, row_fields + list(row_const), rows(), scale.rows, "price rows")
    analyze()


def existing(scale: PricingScale) -> bool:
    from clientbase.catalog.models import Variant
    from clientbase.customers.models import Contact

    return (Contact.objects.filter(key=BENCH_CONTACT).exists()
            and Variant.objects.count() == scale.variants)


# --- The hand-written query ----------------------------------------------------


def hand_written_sql() -> str:
    """One query, written for both databases (the CROSS JOINs keep SQLite's
    planner from scanning a market's rows or every organization): the
    contact's effective groups, the candidate rows of each
    SKU (product rows only where the variant has none of its own in the market
    and currency), the applicable ones, and the winning row per SKU — every
    column of it, as tuples."""
    from django.db import connection

    from clientbase.catalog.models import Variant
    from clientbase.customers.models import Contact, CustomerGroup, Organization
    from clientbase.pricing.models import PriceRow

    q = connection.ops.quote_name
    price, variant = q(PriceRow._meta.db_table), q(Variant._meta.db_table)
    org, grp = Organization._meta.db_table, CustomerGroup._meta.db_table
    contact_orgs = Contact.organizations.through._meta.db_table
    contact_groups = Contact.customer_groups.through._meta.db_table
    org_groups = Organization.customer_groups.through._meta.db_table
    # The winning row's columns that the resolver answers with.
    from clientbase.pricing.resolver import RESOLVED_FIELDS

    columns = ", ".join(q(PriceRow._meta.get_field(name).column) for name in RESOLVED_FIELDS)
    return f"""
    WITH RECURSIVE
      member_paths(path) AS (
        SELECT CAST(o.path AS TEXT) FROM {contact_orgs} m CROSS JOIN {org} o
         WHERE m.contact_id = %(contact)s AND o.id = m.organization_id
        UNION SELECT substr(path, 1, length(path) - 33) FROM member_paths WHERE length(path) > 33),
      group_paths(path) AS (
        SELECT CAST(g.path AS TEXT) FROM {contact_groups} cg CROSS JOIN {grp} g
         WHERE cg.contact_id = %(contact)s AND g.id = cg.customergroup_id
        UNION SELECT CAST(g.path AS TEXT)
          FROM member_paths mp CROSS JOIN {org} o CROSS JOIN {org_groups} og CROSS JOIN {grp} g
         WHERE o.path = mp.path AND og.organization_id = o.id AND g.id = og.customergroup_id
        UNION SELECT substr(path, 1, length(path) - 33) FROM group_paths WHERE length(path) > 33),
      group_keys(key) AS (SELECT g.key FROM group_paths gp CROSS JOIN {grp} g WHERE g.path = gp.path),
      wanted AS (SELECT id, sku, product_id FROM {variant} WHERE sku IN %(skus)s),
      candidates AS (
        -- CROSS JOIN: SQLite keeps this join order (the few SKUs first).
        SELECT w.sku, p.* FROM wanted w CROSS JOIN {price} p
         WHERE p.variant_id = w.id AND p.market_id = %(market)s AND p.currency = %(currency)s
        UNION ALL
        SELECT w.sku, p.* FROM wanted w CROSS JOIN {price} p
         WHERE p.product_id = w.product_id AND p.market_id = %(market)s AND p.currency = %(currency)s
           AND NOT EXISTS (SELECT 1 FROM {price} own WHERE own.variant_id = w.id
                           AND own.market_id = %(market)s AND own.currency = %(currency)s)),
      ranked AS (
        SELECT candidates.*, ROW_NUMBER() OVER (
                 PARTITION BY sku
                 ORDER BY unit_price,
                          CASE sale_type WHEN 'customer' THEN 0 WHEN 'customer_group' THEN 1 ELSE 2 END,
                          min_quantity DESC, id) AS n
          FROM candidates
         WHERE min_quantity <= %(quantity)s
           AND (valid_from IS NULL OR valid_from <= %(at)s)
           AND (valid_until IS NULL OR valid_until > %(at)s)
           AND (sale_type = 'all_customers'
                OR (sale_type = 'customer' AND sale_code IN (%(key)s, %(id)s))
                OR (sale_type = 'customer_group' AND sale_code IN (SELECT key FROM group_keys))))
    SELECT sku, {columns} FROM ranked WHERE n = 1 ORDER BY sku
    """


def run_sql(sql: str, *, skus: list[str], contact, market, currency: str, quantity: Decimal, at) -> list[tuple]:
    from django.db import connection

    from clientbase.customers.models import Contact

    def db_uuid(value):
        return Contact._meta.pk.get_db_prep_value(value, connection)

    params = {
        # A contact id that matches nothing stands for the anonymous visitor.
        "contact": db_uuid(contact.pk if contact else uuid.UUID(int=0)),
        "key": (contact.key or "") if contact else "",
        "id": str(contact.pk) if contact else "",
        "market": db_uuid(market.pk),
        "currency": currency,
        "quantity": str(quantity) if connection.vendor == "sqlite" else quantity,
        "at": connection.ops.adapt_datetimefield_value(at),
        **{f"sku{i}": sku for i, sku in enumerate(skus)},
    }
    text = sql.replace("%(skus)s", "(" + ", ".join(f"%(sku{i})s" for i in range(len(skus))) + ")")
    if connection.vendor == "sqlite":
        # Straight to sqlite3, which takes named parameters as :name.
        for name in params:
            text = text.replace(f"%({name})s", f":{name}")
        cursor = connection.connection.cursor()
        cursor.execute(text, params)
        rows = cursor.fetchall()
    else:
        with connection.cursor() as cursor:
            cursor.execute(text, params)
            rows = cursor.fetchall()
    return [(row[0], uuid.UUID(str(row[1]))) for row in rows]


# --- Running ------------------------------------------------------------------


def build_cases(scale: PricingScale, rng: random.Random):
    from django.utils import timezone

    from bench.measure import Case
    from clientbase.catalog.models import Market
    from clientbase.customers.models import Contact
    from clientbase.pricing.services import resolve_prices

    contact = Contact.objects.get(key=BENCH_CONTACT)
    market = Market.objects.get(key="EU")
    at = timezone.now()
    sql = hand_written_sql()
    all_skus = [f"SKU-{p:06d}-{v:02d}" for p in range(scale.products) for v in range(scale.variants_per_product)]
    batch = sorted(rng.sample(all_skus, min(BATCH, len(all_skus))))
    single = [batch[len(batch) // 2]]

    def orm(skus, who):
        def call():
            found = resolve_prices(skus, contact=who, quantity=Decimal(1), market=market,
                                   currency="EUR", at=at)
            return sorted((sku, r.price.pk) for sku, r in found.items() if r.price)
        return call

    def hand(skus, who):
        def call():
            return run_sql(sql, skus=skus, contact=who, market=market, currency="EUR",
                           quantity=Decimal(1), at=at)
        return call

    return [
        Case(f"resolve {len(batch)} SKUs, contact", orm(batch, contact), hand(batch, contact),
             note="one query, winners as PriceRow objects"),
        Case("resolve 1 SKU, contact", orm(single, contact), hand(single, contact)),
        Case(f"resolve {len(batch)} SKUs, anonymous", orm(batch, None), hand(batch, None)),
        Case("resolve 1 SKU, anonymous", orm(single, None), hand(single, None)),
    ]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench pricing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repetitions", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    add_server_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.database == "both":
        return run_per_database("bench.pricing", argv)
    return run_one(args)


def run_one(args: argparse.Namespace) -> int:
    if args.database == "postgres":
        url = f"{args.postgres.rstrip('/')}/clientbase_bench_pricing_{args.scale}"
    else:
        args.workdir.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{args.workdir / f'bench-pricing-{args.scale}.sqlite3'}"
    (_reset_database if args.regenerate else _ensure_database)(url)
    use_database(url, args.workdir)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench import measure, report
    from bench.generate import progress_bar

    scale = SCALES[args.scale]
    console = report.console
    console.rule(f"[bold]pricing, {args.scale}[/] on {connection.vendor} — {scale.describe()}")
    call_command("migrate", verbosity=0)
    generation_s = None
    if not existing(scale):
        from clientbase.catalog.models import Variant

        if Variant.objects.exists():
            connection.close()
            _reset_database(url)
            call_command("migrate", verbosity=0)
        started = time.perf_counter()
        with progress_bar() as progress:
            generate(scale, progress)
        generation_s = time.perf_counter() - started
        console.print(f"generated in {generation_s:.1f} s")
    else:
        console.print("reusing the database of an earlier run (--regenerate to rebuild)")

    from clientbase.pricing.models import PriceRow

    cases = build_cases(scale, random.Random(scale.seed))
    with progress_bar() as progress:
        results = measure.run(cases, args.repetitions, args.warmup, progress)
    title = f"{report.now_utc()} — pricing, {args.scale}, {_server_version(connection)}"
    console.print(report.table(results, title, "ORM", "SQL"))
    facts = [
        f"pricing scale `{args.scale}`: {scale.describe()}; {PriceRow.objects.count():,} price rows stored",
        f"{args.repetitions} timed repetitions after {args.warmup} warm-up runs; ORM and SQL alternate; "
        "both choose the same row for every SKU (checked)",
        "targets (PostgreSQL, large): batch p50 within 1.5× of the hand-written query; "
        "single-SKU resolve p50 ≤ 2 ms",
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        + (f"; generation took {generation_s:.0f} s" if generation_s else ""),
    ]
    if not args.no_record:
        report.record(report.markdown(results, title, facts))
        console.print(f"recorded in {report.DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
