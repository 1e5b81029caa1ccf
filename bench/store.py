"""`scripts/bench store` (`python -m bench.store`): the storefront's product
listing with prices, `GET /api/v1/store/products` (24 a page), served by the
production server.

    scripts/bench store                                   # small, both databases
    scripts/bench store --scale medium --database postgres --duration 20

Each run builds its own database (PostgreSQL `clientbase_bench_store_<scale>`,
or a SQLite file under the work directory) and drops it at the end. It holds
two markets; products with variants, some inactive, some without a price,
one in twenty priced at product level; per variant a price for all
customers and a quantity break, and group prices on part of the catalog
(Gold, Customers — Gold's parent —, Silver, an expired Gold price); a Gold
contact with an account and an API token.

Two measurements, each against a baseline taken in the same run:

1. In process: the listing service (`clientbase.pricing.listing.list_products`)
   against one hand-written SQL query that gives the same page with the same
   prices, list prices and quantity breaks (checked before timing).
2. Over HTTP: `clientbase serve` (granian) on a free local port, loaded by
   threads with keep-alive connections for a fixed time after a warm-up, at
   1 and 10 connections: requests/s, p50, p99, and the CPU the load generator
   and the server used. Baselines: the API's 401 for a request without
   credentials (the server, Django and the API router, no query), and the
   listing with `limit=1`.

Every answer over HTTP is checked once against the hand-written query before
it is loaded.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from bench.__main__ import _reset_database, _server_version, add_server_arguments, run_per_database

ROOT = Path(__file__).resolve().parent.parent
GOLD_CONTACT = "BENCH-GOLD"
GOLD_EMAIL = "bench-gold@example.com"
PAGE = 24
TERM = "wool"
LIST_PATH = "/api/v1/store/products"
# A door that wants credentials: without any it answers 401 before a query.
FLOOR_PATH = "/api/v1/contacts"


@dataclass(frozen=True)
class StoreScale:
    name: str
    products: int
    variants_per_product: int
    seed: int = 20261202

    @property
    def variants(self) -> int:
        return self.products * self.variants_per_product

    def describe(self) -> str:
        return f"{self.products:,} products × {self.variants_per_product} variants"


SCALES = {
    "tiny": StoreScale("tiny", products=60, variants_per_product=3),
    "small": StoreScale("small", products=500, variants_per_product=4),
    "medium": StoreScale("medium", products=5_000, variants_per_product=4),
    "large": StoreScale("large", products=20_000, variants_per_product=4),
}

MATERIALS = "Bamboo Canvas Cotton Denim Fleece Leather Linen Merino Silk Wool".split()
ITEMS = "Apron Bag Blanket Cap Gloves Jacket Scarf Shirt Socks Sweater Trousers Vest".split()
SIZES = ["XS", "S", "M", "L", "XL", "XXL"]


# --- Generation ---------------------------------------------------------------


def _price_specs(i: int, base: Decimal, past, long_ago) -> list[tuple]:
    """The EUR rows of product number `i`'s variants (or of the product):
    (sale type, code, minimum quantity, unit price, valid from, valid until)."""
    from clientbase.pricing.models import SaleType

    ALL, GROUP = SaleType.ALL_CUSTOMERS.value, SaleType.CUSTOMER_GROUP.value
    specs = [(ALL, "", 0, base, None, None),
             (ALL, "", 10, base * Decimal("0.92"), None, None)]
    if i % 3 == 0:
        specs.append((GROUP, "GOLD", 0, base * Decimal("0.85"), None, None))
    if i % 6 == 0:  # Gold's own break: lower than the all-customers one
        specs.append((GROUP, "GOLD", 25, base * Decimal("0.80"), None, None))
    if i % 4 == 1:  # Gold's parent group: Gold pays it too
        specs.append((GROUP, "CUSTOMERS", 0, base * Decimal("0.97"), None, None))
    if i % 5 == 2:  # a sibling group: not Gold's
        specs.append((GROUP, "SILVER", 0, base * Decimal("0.88"), None, None))
    if i % 7 == 3:  # expired: applies to nobody
        specs.append((GROUP, "GOLD", 0, base * Decimal("0.50"), long_ago, past))
    return specs


def generate(scale: StoreScale, progress=None, fast_indexes: bool = True) -> str:
    """Fill the (migrated, empty) current database; returns the Gold
    account's raw API token. Tests pass fast_indexes=False: indexes cannot
    be rebuilt inside their transaction."""
    from django.db import connection
    from django.utils import timezone

    from bench.generate import Loader, _constants, analyze
    from clientbase.catalog.models import Market, Product, Variant
    from clientbase.customers.models import Account, Contact, Role
    from clientbase.customers.services.accounts import issue_token
    from clientbase.customers.services.groups import create_customer_group
    from clientbase.pricing.models import PriceRow, SaleType

    rng = random.Random(scale.seed)
    loader = Loader(progress, fast_indexes=fast_indexes)
    U = loader.uuid
    now = timezone.now()
    past, long_ago = now - timezone.timedelta(days=1), now - timezone.timedelta(days=60)

    customers = create_customer_group(actor=None, key="CUSTOMERS", name="Customers")
    gold = create_customer_group(actor=None, key="GOLD", name="Gold", parent=customers)
    create_customer_group(actor=None, key="SILVER", name="Silver", parent=customers)
    contact = Contact.objects.create(key=GOLD_CONTACT, first_name="Gold", last_name="Shopper",
                                     email=GOLD_EMAIL)
    contact.customer_groups.set([gold])
    account = Account.objects.create_user(GOLD_EMAIL, None, roles=[Role.REGISTERED], contact=contact)
    _, token = issue_token(account, actor=account, name="bench")

    eu = Market.objects.create(key="EU", name="Europe", countries=["DE", "FR"], currencies=["EUR"],
                               default_currency="EUR")
    us = Market.objects.create(key="US", name="United States", countries=["US"], currencies=["USD"],
                               default_currency="USD")

    products = [(uuid.UUID(int=rng.getrandbits(128), version=4),
                 f"{rng.choice(MATERIALS)} {rng.choice(ITEMS)} {i:05d}") for i in range(scale.products)]
    product_fields = ["id", "key", "name", "description", "is_active"]
    product_const = _constants(Product, set(product_fields), now)
    loader.load(Product._meta.db_table, product_fields + list(product_const),
                ((U(pid), f"ST-{i:06d}", name, f"The {name.lower()}.", i % 50 != 49,
                  *product_const.values()) for i, (pid, name) in enumerate(products)),
                len(products), "products")

    options = Variant._meta.get_field("options")
    variants = []  # (id, product index, sku, size)
    for i in range(scale.products):
        for j in range(scale.variants_per_product):
            variants.append((uuid.UUID(int=rng.getrandbits(128), version=4), i, f"ST-{i:06d}-{j:02d}",
                             SIZES[j % len(SIZES)]))
    variant_fields = ["id", "product_id", "sku", "name", "options", "is_active"]
    variant_const = _constants(Variant, set(variant_fields), now)
    loader.load(Variant._meta.db_table, variant_fields + list(variant_const),
                ((U(vid), U(products[i][0]), sku, f"{products[i][1]} {size}",
                  options.get_db_prep_save({"size": size}, connection),
                  not (i % 10 == 3 and sku.endswith(f"-{scale.variants_per_product - 1:02d}")),
                  *variant_const.values()) for vid, i, sku, size in variants),
                len(variants), "variants")

    row_fields = ["id", "variant_id", "product_id", "market_id", "currency", "sale_type", "sale_code",
                  "min_quantity", "unit_price", "valid_from", "valid_until"]
    row_const = _constants(PriceRow, set(row_fields), now)
    EU, US = U(eu.pk), U(us.pk)
    cent = Decimal("0.01")

    def rows() -> Iterator[tuple]:
        const = tuple(row_const.values())
        for n, (vid, i, sku, _) in enumerate(variants):
            # One product in twenty is priced at product level only (its first
            # variant carries the product's rows); one variant in 37 has no price.
            product_level = i % 20 == 19
            if product_level and not sku.endswith("-00"):
                continue
            if not product_level and n % 37 == 5:
                continue
            target = (None, U(products[i][0])) if product_level else (U(vid), None)
            base = Decimal(rng.randint(500, 30_000)) / 100
            for sale_type, code, min_q, price, valid_from, valid_until in _price_specs(i, base, past, long_ago):
                yield (U(uuid.UUID(int=rng.getrandbits(128), version=4)), *target, EU, "EUR", sale_type,
                       code, Decimal(min_q), price.quantize(cent), valid_from, valid_until, *const)
            yield (U(uuid.UUID(int=rng.getrandbits(128), version=4)), *target, US, "USD", SaleType.ALL_CUSTOMERS.value,
                   "", Decimal(0), (base * Decimal("1.1")).quantize(cent), None, None, *const)

    loader.load(PriceRow._meta.db_table, row_fields + list(row_const), rows(), len(variants) * 4,
                "price rows")
    analyze()
    return token


# --- The hand-written query -----------------------------------------------------


def hand_written_sql(*, search: bool, after: bool) -> str:
    """One query for a page of the listing, written for both databases: the
    page of products on sale (25 read, 24 shown), their variants on sale, the
    candidate rows (a variant's own in the market and currency, else its
    product's), the visitor's price at quantity 1, the list price (all
    customers), and the quantity breaks (each step of the visitor's price
    ladder that is lower than the step before). One row per variant, or per
    break of a variant, in page order."""
    from django.db import connection

    from clientbase.catalog.models import Product, Variant
    from clientbase.customers.models import Contact, CustomerGroup
    from clientbase.pricing.models import PriceRow, SaleType

    q = connection.ops.quote_name
    every, customer, group = (f"'{t.value}'" for t in (SaleType.ALL_CUSTOMERS, SaleType.CUSTOMER,
                                                        SaleType.CUSTOMER_GROUP))
    product, variant, price = (q(m._meta.db_table) for m in (Product, Variant, PriceRow))
    grp = CustomerGroup._meta.db_table
    contact_groups = Contact.customer_groups.through._meta.db_table
    matches = """
       AND (UPPER(p.name) LIKE UPPER(%(q)s) OR UPPER(p.key) LIKE UPPER(%(q)s)
            OR EXISTS (SELECT 1 FROM {variant} s WHERE s.product_id = p.id AND s.is_active
                       AND UPPER(s.sku) LIKE UPPER(%(q)s)))""".format(variant=variant) if search else ""
    cursor = " AND (p.name > %(after_name)s OR (p.name = %(after_name)s AND p.id > %(after_id)s))" if after else ""
    # The bench contact's groups are its own (no organizations): their
    # ancestors are the prefixes of their paths.
    return f"""
    WITH RECURSIVE
      group_paths(path) AS (
        SELECT CAST(g.path AS TEXT) FROM {contact_groups} cg CROSS JOIN {grp} g
         WHERE cg.contact_id = %(contact)s AND g.id = cg.customergroup_id
        UNION SELECT substr(path, 1, length(path) - 33) FROM group_paths WHERE length(path) > 33),
      group_keys(key) AS (SELECT g.key FROM group_paths gp CROSS JOIN {grp} g WHERE g.path = gp.path),
      page AS (
        SELECT p.id, p.name FROM {product} p
         WHERE p.is_active
           AND EXISTS (SELECT 1 FROM {variant} s WHERE s.product_id = p.id AND s.is_active){matches}{cursor}
         ORDER BY p.name, p.id LIMIT %(limit_plus_one)s),
      shown AS (SELECT id, name FROM page ORDER BY name, id LIMIT %(limit)s),
      listed AS (
        SELECT v.id, v.sku, v.product_id FROM shown CROSS JOIN {variant} v
         WHERE v.product_id = shown.id AND v.is_active),
      candidates AS (
        SELECT l.sku, r.sale_type, r.sale_code, r.min_quantity, r.unit_price, r.valid_from, r.valid_until
          FROM listed l CROSS JOIN {price} r
         WHERE r.variant_id = l.id AND r.market_id = %(market)s AND r.currency = %(currency)s
        UNION ALL
        SELECT l.sku, r.sale_type, r.sale_code, r.min_quantity, r.unit_price, r.valid_from, r.valid_until
          FROM listed l CROSS JOIN {price} r
         WHERE r.product_id = l.product_id AND r.market_id = %(market)s AND r.currency = %(currency)s
           AND NOT EXISTS (SELECT 1 FROM {price} own WHERE own.variant_id = l.id
                           AND own.market_id = %(market)s AND own.currency = %(currency)s)),
      valid AS (
        SELECT * FROM candidates
         WHERE (valid_from IS NULL OR valid_from <= %(at)s) AND (valid_until IS NULL OR valid_until > %(at)s)),
      applicable AS (
        SELECT sku, min_quantity, unit_price FROM valid
         WHERE sale_type = {every}
            OR (sale_type = {customer} AND sale_code IN (%(key)s, %(id)s))
            OR (sale_type = {group} AND sale_code IN (SELECT key FROM group_keys))),
      ladder AS (
        SELECT s.sku, s.step, ROUND(MIN(a.unit_price), 2) AS price
          FROM (SELECT DISTINCT sku, min_quantity AS step FROM applicable) s
          CROSS JOIN applicable a
         WHERE a.sku = s.sku AND a.min_quantity <= s.step
         GROUP BY s.sku, s.step),
      steps AS (
        SELECT sku, step, price, LAG(price) OVER (PARTITION BY sku ORDER BY step) AS before FROM ladder),
      unit AS (SELECT sku, ROUND(MIN(unit_price), 2) AS price FROM applicable
                WHERE min_quantity <= 1 GROUP BY sku),
      list AS (SELECT sku, ROUND(MIN(unit_price), 2) AS price FROM valid
                WHERE sale_type = {every} AND min_quantity <= 1 GROUP BY sku)
    SELECT shown.id, shown.name, l.sku, unit.price, list.price, b.step, b.price,
           (SELECT COUNT(*) FROM page) AS found
      FROM shown JOIN listed l ON l.product_id = shown.id
      LEFT JOIN unit ON unit.sku = l.sku
      LEFT JOIN list ON list.sku = l.sku
      LEFT JOIN steps b ON b.sku = l.sku AND b.step > 1 AND (b.before IS NULL OR b.price < b.before)
     ORDER BY shown.name, shown.id, l.sku, b.step
    """


@dataclass(frozen=True)
class Answer:
    """A page as both ways give it: per product (id), per variant (SKU,
    unit price, list price, breaks as (minimum quantity, price)); whether a
    next page exists; and the page's last (name, id) for the next page."""

    products: tuple
    more: bool
    last: tuple[str, str] | None

    def __len__(self) -> int:  # the "rows" column of the table: products on the page
        return len(self.products)


def _dec(value) -> Decimal | None:
    # SQLite hands numbers back as floats; str() gives their short decimal form.
    return None if value is None else Decimal(str(value))


def run_sql(sql: str, *, contact, market, currency: str, at, q: str | None = None,
            after: tuple[str, str] | None = None) -> Answer:
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
        "at": connection.ops.adapt_datetimefield_value(at),
        "limit": PAGE,
        "limit_plus_one": PAGE + 1,
    }
    if q is not None:
        params["q"] = f"%{q}%"
    if after is not None:
        params["after_name"], params["after_id"] = after[0], db_uuid(uuid.UUID(after[1]))
    if connection.vendor == "sqlite":
        # Straight to sqlite3, which takes named parameters as :name.
        text = sql
        for name in params:
            text = text.replace(f"%({name})s", f":{name}")
        cursor = connection.connection.cursor()
        cursor.execute(text, params)
        rows = cursor.fetchall()
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    products: dict[str, dict[str, tuple]] = {}
    last = None
    for pid, name, sku, unit, listed, step, price, _ in rows:
        pid = str(uuid.UUID(str(pid)))
        last = (name, pid)
        variants = products.setdefault(pid, {})
        if sku not in variants:
            variants[sku] = (sku, _dec(unit), _dec(listed), [])
        if step is not None:
            variants[sku][3].append((_dec(step), _dec(price)))
    found = rows[0][7] if rows else 0
    return Answer(tuple((pid, tuple((s, u, lp, tuple(b)) for s, u, lp, b in variants.values()))
                        for pid, variants in products.items()), found > PAGE, last)


def service_answer(page) -> Answer:
    """The listing service's page (clientbase.pricing.listing.ProductPage) as an Answer."""
    items = page.items
    return Answer(tuple((str(p.id), tuple((v.sku, v.unit_price, v.list_price,
                                           tuple((b.min_quantity, b.unit_price) for b in v.quantity_breaks))
                                          for v in p.variants)) for p in items),
                  page.next_cursor is not None, (items[-1].name, str(items[-1].id)) if items else None)


def http_answer(body: dict) -> Answer:
    """The API's JSON page as an Answer (prices and quantities are strings)."""
    items = body["items"]
    return Answer(tuple((p["id"], tuple((v["sku"], _dec(v["unit_price"]), _dec(v["list_price"]),
                                         tuple((_dec(b["min_quantity"]), _dec(b["unit_price"]))
                                               for b in v["quantity_breaks"]))
                                        for v in p["variants"])) for p in items),
                  body["next_cursor"] is not None, (items[-1]["name"], items[-1]["id"]) if items else None)


# --- In process: the service against the query ---------------------------------


def build_cases(at=None):
    """The in-process cases: listing service (`orm`) vs the hand-written query (`sql`)."""
    from django.utils import timezone

    from bench.measure import Case
    from clientbase.customers.models import Contact
    from clientbase.pricing import listing

    at = at or timezone.now()
    storefront = listing.storefront_market()
    gold = Contact.objects.get(key=GOLD_CONTACT)

    def service(contact, q=None, cursor=None):
        return lambda: service_answer(listing.list_products(contact=contact, storefront=storefront, q=q,
                                                            limit=PAGE, cursor=cursor, at=at))

    def by_hand(contact, q=None, after=None):
        sql = hand_written_sql(search=q is not None, after=after is not None)
        return lambda: run_sql(sql, contact=contact, market=storefront.market, currency=storefront.currency,
                               at=at, q=q, after=after)

    first = listing.list_products(contact=None, storefront=storefront, limit=PAGE, at=at)
    after = (first.items[-1].name, str(first.items[-1].id))
    labels = ("service", "SQL")
    return [
        Case(f"page 1 ({PAGE}), anonymous", service(None), by_hand(None), labels=labels,
             note="service: 3 queries"),
        Case(f"page 1 ({PAGE}), Gold", service(gold), by_hand(gold), labels=labels,
             note="service: 4 queries (+ the list prices)"),
        Case(f"page 2 ({PAGE}), anonymous", service(None, cursor=first.next_cursor),
             by_hand(None, after=after), labels=labels),
        Case(f"q={TERM!r} ({PAGE}), anonymous", service(None, q=TERM), by_hand(None, q=TERM), labels=labels),
    ]


# --- Over HTTP: the production server and a load generator -----------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    def pids(self) -> list[int]:
        """The server's main process and its children (web workers, jobs worker)."""
        found = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                        found.append(int(entry.name))
                except (OSError, IndexError, ValueError):
                    continue
        return found


def _cpu_of(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


class CpuMeter:
    """The CPU a changing set of processes used between `start()` and
    `stop()`: a process that appeared meanwhile counts whole, one that ended
    meanwhile loses its last moments (database connections can come and go)."""

    def __init__(self, pids: Callable[[], list[int]]):
        self.pids = pids
        self.before: dict[int, float] = {}

    def start(self) -> None:
        self.before = {pid: cpu for pid in self.pids() if (cpu := _cpu_of(pid)) is not None}

    def stop(self) -> float:
        return sum(cpu - self.before.get(pid, 0.0) for pid in self.pids()
                   if (cpu := _cpu_of(pid)) is not None)


def database_backends(url: str) -> Callable[[], list[int]] | None:
    """The PostgreSQL backends serving the bench database (when the server
    runs on this machine, /proc shows their CPU); None for SQLite, whose work
    is done inside the web server's processes."""
    if url.startswith("sqlite"):
        return None
    import psycopg

    server, name = url.rsplit("/", 1)

    def pids() -> list[int]:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            return [row[0] for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name])]
    return pids


@contextmanager
def serving(database_url: str, workdir: Path, workers: int, timeout: float = 180,
            extra_args: list[str] | tuple = ()) -> Iterator[Server]:
    """`clientbase serve` (with `extra_args`) on a free local port, until the
    block ends (even on errors): ready once the listing answers."""
    port = free_port()
    log = workdir / f"serve-{port}.log"
    env = {**os.environ, "DATABASE_URL": database_url, "CLIENTBASE_HOME": str(workdir),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
           "DEBUG": "0", "LOG_LEVEL": "WARNING"}
    env.setdefault("SECRET_KEY", "bench-only-not-secret")
    # Connections that live through a run keep the database CPU column whole
    # (a backend that ends inside the timed window takes its share with it).
    env.setdefault("CONN_MAX_AGE", "600")
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "clientbase.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers), *extra_args],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(process, port, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"clientbase serve exited ({process.returncode}):\n{log.read_text()[-3000:]}")
            try:
                status, _ = get(port, f"{LIST_PATH}?limit=1")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"clientbase serve not ready after {timeout:.0f} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield server
    except BaseException:
        print(f"clientbase serve's output: {log}", file=sys.stderr)
        raise
    else:
        log.unlink(missing_ok=True)  # kept only when something went wrong
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # graceful stop of the workers
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # its own session: the master and its workers
                process.wait()


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class Load:
    """One load run: what was asked, and what came back in the timed window."""

    name: str
    connections: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    client_cpu_s: float = 0.0
    server_cpu_s: float | None = None
    database_cpu_s: float | None = None
    note: str = ""

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def p50(self) -> float | None:
        return statistics.median(self.latencies_ms) if self.latencies_ms else None

    @property
    def p99(self) -> float | None:
        from bench.measure import Result

        return Result.p(self.latencies_ms, 0.99) if self.latencies_ms else None

    @property
    def client_cpu(self) -> float:
        """The load generator's CPU, in % of one core."""
        return 100 * self.client_cpu_s / self.seconds

    @property
    def server_cpu(self) -> float | None:
        return None if self.server_cpu_s is None else 100 * self.server_cpu_s / self.seconds

    @property
    def database_cpu(self) -> float | None:
        return None if self.database_cpu_s is None else 100 * self.database_cpu_s / self.seconds


def hammer(port: int, path: str, *, name: str, connections: int, seconds: float, warmup: float,
           headers: dict | None = None, status: int = 200, server: Server | None = None,
           database: Callable[[], list[int]] | None = None) -> Load:
    """`connections` threads, each sending GET `path` on its own keep-alive
    connection as fast as answers come, for `warmup` then `seconds` seconds.
    Counts the requests answered inside the timed window (as wrk does); an
    answer with another status than `status`, or a broken connection, is an
    error."""
    load = Load(name, connections, seconds)
    state = {"timing": False, "stop": False}
    per_thread: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    headers = headers or {}

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        own = per_thread[n]
        while not state["stop"]:
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == status
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()  # reconnects on the next request
            elapsed = (time.perf_counter() - t0) * 1000
            if state["timing"]:  # answered inside the timed window
                own.append(elapsed)
                errors[n] += not ok
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(connections)]
    for t in threads:
        t.start()
    time.sleep(warmup)
    server_cpu = CpuMeter(server.pids) if server else None
    database_cpu = CpuMeter(database) if database else None
    for meter in (server_cpu, database_cpu):
        if meter:
            meter.start()
    client_before = time.process_time()
    state["timing"] = True
    started = time.perf_counter()
    time.sleep(seconds)
    state["timing"] = False
    load.seconds = time.perf_counter() - started
    load.client_cpu_s = time.process_time() - client_before
    if server_cpu:
        load.server_cpu_s = server_cpu.stop()
    if database_cpu:
        load.database_cpu_s = database_cpu.stop()
    state["stop"] = True
    for t in threads:
        t.join(timeout=35)
    load.latencies_ms = [ms for own in per_thread for ms in own]
    load.errors = sum(errors)
    return load


@dataclass(frozen=True)
class HttpCase:
    name: str
    path: str
    headers: dict = field(default_factory=dict)
    status: int = 200
    expected: Answer | None = None  # what the first answer must be
    note: str = ""


def http_cases(port: int, token: str, at=None) -> list[HttpCase]:
    """The cases over HTTP; the answers each must give, from the hand-written query."""
    from django.utils import timezone

    from clientbase.customers.models import Contact
    from clientbase.pricing import listing

    at = at or timezone.now()
    storefront = listing.storefront_market()
    gold = Contact.objects.get(key=GOLD_CONTACT)
    bearer = {"Authorization": f"Bearer {token}"}

    def expect(contact, q=None, after=None) -> Answer:
        return run_sql(hand_written_sql(search=q is not None, after=after is not None), contact=contact,
                       market=storefront.market, currency=storefront.currency, at=at, q=q, after=after)

    page = f"{LIST_PATH}?limit={PAGE}"
    status, body = get(port, page)
    assert status == 200, f"{page}: HTTP {status}"
    first = json.loads(body)
    anonymous_first = expect(None)
    return [
        HttpCase("floor: 401, no credentials", FLOOR_PATH, status=401,
                 note="middleware, routing, auth; no query"),
        HttpCase("listing limit=1, anonymous", f"{LIST_PATH}?limit=1", note="the listing's fixed cost"),
        HttpCase(f"page 1 ({PAGE}), anonymous", page, expected=anonymous_first),
        HttpCase(f"page 1 ({PAGE}), Gold", page, headers=bearer, expected=expect(gold),
                 note="bearer token"),
        HttpCase(f"page 2 ({PAGE}), anonymous", f"{page}&cursor={quote(first['next_cursor'])}",
                 expected=expect(None, after=anonymous_first.last)),
        HttpCase(f"q={TERM!r} ({PAGE}), anonymous", f"{page}&q={TERM}", expected=expect(None, q=TERM)),
    ]


def check_answer(port: int, case: HttpCase) -> None:
    status, body = get(port, case.path, case.headers)
    assert status == case.status, f"{case.name}: HTTP {status}, not {case.status}: {body[:300]!r}"
    if case.expected is not None:
        assert http_answer(json.loads(body)) == case.expected, f"{case.name}: the API and the SQL disagree"


# --- Reporting -------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


LOAD_COLUMNS = ["case", "conns", "req/s", "p50 ms", "p99 ms", "errors", "client CPU", "server CPU", "db CPU",
                "note"]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} %"


def _load_row(load: Load) -> list[str]:
    return [load.name, str(load.connections), _fmt(load.rps), _fmt(load.p50, 2), _fmt(load.p99, 2),
            str(load.errors), _percent(load.client_cpu), _percent(load.server_cpu),
            _percent(load.database_cpu), load.note]


def load_table(loads: list[Load], title: str):
    from rich.table import Table

    t = Table(title=title, title_justify="left",
              caption="CPU in % of one core over the timed window: the load generator (client), "
                      "the server's processes (server), the PostgreSQL backends (db; SQLite "
                      "works inside the server); all share the machine's cores", caption_justify="left")
    for column in LOAD_COLUMNS:
        t.add_column(column, justify="left" if column in ("case", "note") else "right")
    for load in loads:
        t.add_row(*_load_row(load))
    return t


def load_markdown(loads: list[Load]) -> list[str]:
    lines = ["", "| " + " | ".join(LOAD_COLUMNS) + " |",
             "|---|" + "---:|" * (len(LOAD_COLUMNS) - 2) + "---|"]
    lines += ["| " + " | ".join(_load_row(load)) + " |" for load in loads]
    return lines


# --- Running -----------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench store", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repetitions", type=int, default=50, help="in process: timed runs per case")
    parser.add_argument("--warmup", type=int, default=5, help="in process: untimed runs before them")
    parser.add_argument("--duration", type=float, default=10, help="over HTTP: timed seconds per run")
    parser.add_argument("--warmup-seconds", type=float, default=2, help="over HTTP: untimed seconds before")
    parser.add_argument("--connections", default="1,10", help="over HTTP: concurrent connections, e.g. 1,10")
    parser.add_argument("--workers", type=int, default=2, help="clientbase serve --workers (default 2)")
    parser.add_argument("--no-record", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    add_server_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.database == "both":
        return run_per_database("bench.store", argv)
    return run_one(args)


def _drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{url.removeprefix('sqlite:///')}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_one(args: argparse.Namespace) -> int:
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.database == "postgres":
        url = f"{args.postgres.rstrip('/')}/clientbase_bench_store_{args.scale}"
    else:
        url = f"sqlite:///{args.workdir / f'bench-store-{args.scale}.sqlite3'}"
    _reset_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientbase.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("CLIENTBASE_HOME", str(args.workdir))
    os.environ.setdefault("AXES_ENABLED", "0")

    import django

    django.setup()
    try:
        return _run(args, url)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _drop_database(url)


def _run(args: argparse.Namespace, url: str) -> int:
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone

    from bench import measure, report
    from bench.generate import progress_bar
    from clientbase.catalog.models import Product, Variant
    from clientbase.pricing.models import PriceRow

    scale = SCALES[args.scale]
    console = report.console
    console.rule(f"[bold]storefront listing, {args.scale}[/] on {connection.vendor} — {scale.describe()}")
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with progress_bar() as progress:
        token = generate(scale, progress)
    generation_s = time.perf_counter() - started
    console.print(f"generated in {generation_s:.1f} s")
    version = _server_version(connection)
    on_sale = Product.objects.on_sale().count()
    counts = (f"{Product.objects.count():,} products ({on_sale:,} active), {Variant.objects.count():,} variants, "
              f"{PriceRow.objects.count():,} price rows")

    at = timezone.now()
    with progress_bar() as progress:
        results = measure.run(build_cases(at), args.repetitions, args.warmup, progress)
    title = f"{report.now_utc()} — storefront listing, {args.scale}, {version}"
    console.print(report.table(results, f"{title}: in process", "service", "SQL"))

    loads: list[Load] = []
    connections.close_all()  # the server's workers open their own
    with serving(url, args.workdir, args.workers) as server:
        cases = http_cases(server.port, token, at)
        connections.close_all()
        for case in cases:
            check_answer(server.port, case)
            for n in (int(c) for c in args.connections.split(",")):
                console.print(f"  {case.name}, {n} connection(s)…")
                loads.append(_hammer_case(server, case, n, args, database_backends(url)))
    console.print(load_table(loads, f"{title}: over HTTP, clientbase serve --workers {args.workers}"))

    facts = [
        f"store scale `{args.scale}`: {counts}; groups Customers > Gold, Silver; a Gold contact "
        "with an account and an API token",
        f"in process: {args.repetitions} timed repetitions after {args.warmup} warm-up runs; the listing "
        "service and the hand-written query alternate and give the same page (checked)",
        f"over HTTP: `clientbase serve --workers {args.workers}` (granian, 4 request threads a worker) "
        f"on 127.0.0.1; a Python load generator (one thread and keep-alive connection per connection, "
        f"in one process) runs {args.warmup_seconds:g} s untimed, then {args.duration:g} s timed; every "
        "answer checked once against the hand-written query first",
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs shared by the load generator, the server "
        f"and the database; load average {os.getloadavg()[0]:.1f} at the end; Python "
        f"{platform.python_version()}; generation took {generation_s:.0f} s",
    ]
    if not args.no_record:
        text = report.markdown(results, title, facts).rstrip("\n")
        text += ("\n\nOver HTTP (p50/p99 as the client sees them; CPU in % of one core: the load generator "
                 "(client), the server (granian), the PostgreSQL backends (db), all on the same "
                 f"{os.cpu_count()} cores):\n")
        text += "\n".join(load_markdown(loads)) + "\n"
        report.record(text)
        console.print(f"recorded in {report.DOCS}")
    return 0


def _hammer_case(server: Server, case: HttpCase, connections: int, args: argparse.Namespace,
                 database: Callable[[], list[int]] | None) -> Load:
    load = hammer(server.port, case.path, name=case.name, connections=connections, seconds=args.duration,
                  warmup=args.warmup_seconds, headers=case.headers, status=case.status, server=server,
                  database=database)
    load.note = case.note
    return load


if __name__ == "__main__":
    sys.exit(main())
