"""`scripts/bench personalization` (`python -m bench.personalization`): what
judging visitor groups adds to a storefront page (issue 12's rule: 50
visitor groups of 5 criteria each add at most 1 ms p50).

    scripts/bench personalization                       # SQLite, 400 requests a case
    scripts/bench personalization --database postgres --requests 1000

In process, through Django's whole middleware stack (the test client): the
home page (8 products with prices, the home banner slot) for an anonymous
visitor and for a Gold shopper, first with no visitor group at all (the
baseline), then with 50 groups of 5 criteria each (first visit, visits,
query, referrer, time window; for the shopper also customer group, role and
organization) and 3 slots with variants. The two cases alternate request
by request (the baseline is the same shop with its definitions switched
off), so that the machine's noise falls on both alike. Prints p50 and p90 of
each, the difference, the queries each page ran, and the personalization
step alone (build the audience, judge every group, fill three slots).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid


def _setup(database: str) -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientbase.settings")
    if database == "postgres":
        name = f"clientbase_bench_personalization_{uuid.uuid4().hex[:6]}"
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    else:
        name = os.path.join(tempfile.mkdtemp(prefix="cb-bench-"), "bench.sqlite3")
        os.environ["DATABASE_URL"] = f"sqlite:///{name}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return name


def _teardown(database: str, name: str) -> None:
    from django.db import connections

    connections.close_all()
    if database == "postgres":
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _shop():
    from decimal import Decimal

    from clientbase.catalog.models import Market, Product, Variant
    from clientbase.customers.models import Account, Contact, CustomerGroup, Role
    from clientbase.customers.services.organizations import create_organization
    from clientbase.pricing.models import PriceRow

    eu = Market.objects.create(key="EU", name="Europe", countries=["DE"], currencies=["EUR"],
                               default_currency="EUR")
    customers = CustomerGroup.objects.create(key="CUSTOMERS", name="Customers")
    gold = CustomerGroup.objects.create(key="GOLD", name="Gold", parent=customers)
    for n in range(8):
        product = Product.objects.create(key=f"P{n}", name=f"Product {n}")
        variant = Variant.objects.create(sku=f"P{n}-M", product=product, name=f"Product {n} M")
        PriceRow.objects.create(variant=variant, market=eu, currency="EUR", unit_price=Decimal("20.00") + n)
        PriceRow.objects.create(variant=variant, market=eu, currency="EUR", unit_price=Decimal("18.00") + n,
                                sale_type="customer_group", sale_code="GOLD")
    org = create_organization(actor=None, name="Buyers", key="BUYERS")
    contact = Contact.objects.create(first_name="Greta", last_name="Gold", email="gold@example.com")
    contact.customer_groups.add(gold)
    contact.organizations.add(org)
    return Account.objects.create_user(email="gold@example.com", password="Secret-pass-123",
                                       roles=[Role.REGISTERED], contact=contact)


def _groups(count: int) -> None:
    from clientbase.marketing.models import ContentSlot, VisitorGroup
    from clientbase.marketing.services import create_content_slot, create_visitor_group

    made = []
    for n in range(count):
        criteria = [
            {"type": "visits_at_least", "params": {"count": n % 7 + 2}},
            {"type": "query_contains", "params": {"text": f"utm_campaign={n}"}},
            {"type": "referrer_contains", "params": {"text": "news"}},
            {"type": "time_window", "params": {"start": "08:00", "end": "20:00"}},
            [{"type": "in_customer_group", "params": {"group": "GOLD"}},
             {"type": "has_role", "params": {"role": "Registered"}},
             {"type": "in_organization", "params": {"organization": "BUYERS"}},
             {"type": "first_visit"}][n % 4],
        ]
        made.append(create_visitor_group(VisitorGroup(key=f"G{n}", name=f"Group {n}", match="any",
                                                      criteria=criteria), actor=None))
    for key in ("home-banner", "product-note", "cart-message"):
        create_content_slot(ContentSlot(key=key, name=key, default_html="<p>Hello</p>"),
                            variants=[(made[i], f"<p>Variant {i}</p>") for i in (5, 17, 33)], actor=None)


def _clients(account):
    from django.test import Client

    anonymous, shopper = Client(), Client()
    shopper.force_login(account)
    return {"anonymous": anonymous, "Gold shopper": shopper}


def _time(client, path: str = "/") -> float:
    started = time.perf_counter()
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return elapsed


def _queries(client) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get("/")
    return len(captured)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=400, help="timed requests per case and visitor")
    parser.add_argument("--groups", type=int, default=50)
    args = parser.parse_args(argv)

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    name = _setup(args.database)
    try:
        from django.core.cache import cache

        account = _shop()
        _groups(args.groups)
        from clientbase.marketing import audience as audience_module, judging
        from clientbase.marketing.audience import Request, build_audience

        def shop_without_definitions(on: bool) -> None:
            # The same shop with no visitor group and no slot: what judging
            # and the slots cost is all that differs between the two cases.
            audience_module.judging.compiled_groups = (lambda: []) if on else real_groups
            audience_module.compiled_slots = (lambda: {}) if on else real_slots

        real_groups, real_slots = judging.compiled_groups, audience_module.compiled_slots
        results = {}
        for who, client in _clients(account).items():
            for _ in range(30):
                _time(client)  # warm up: templates, caches, connection
            with_queries = _queries(client)
            shop_without_definitions(True)
            base_queries = _queries(client)
            shop_without_definitions(False)
            base_times, with_times = [], []
            for n in range(args.requests * 2):  # alternate, so noise falls on both alike
                shop_without_definitions(n % 2 == 0)
                (base_times if n % 2 == 0 else with_times).append(_time(client))
            shop_without_definitions(False)
            # The personalization step alone: build the audience, judge every group, pick 3 slots.
            shopper = account if who != "anonymous" else None
            started = time.perf_counter()
            for _ in range(args.requests):
                seen, _ = build_audience(Request(path="/", accept_language="de-DE"), account=shopper,
                                         contact=shopper.contact if shopper else None)
                for key in ("home-banner", "product-note", "cart-message"):
                    seen.slot_html(key)
            step = (time.perf_counter() - started) / args.requests
            results[who] = (base_times, with_times, base_queries, with_queries, step)
        cache.clear()
    finally:
        _teardown(args.database, name)

    print(f"\nStorefront home page, {args.database}, {args.requests} requests a case, "
          f"{args.groups} visitor groups × 5 criteria, 3 slots with variants")
    print(f"{'visitor':<14} {'no groups p50':>14} {'with p50':>10} {'added p50':>10} "
          f"{'no groups p90':>14} {'with p90':>10} {'queries':>12} {'step alone':>11}")
    for who, (base, with_, base_q, with_q, step) in results.items():
        def q(values, n):
            return statistics.quantiles(values, n=100)[n - 1] * 1000

        print(f"{who:<14} {statistics.median(base) * 1000:>12.2f}ms {statistics.median(with_) * 1000:>8.2f}ms "
              f"{(statistics.median(with_) - statistics.median(base)) * 1000:>+8.2f}ms "
              f"{q(base, 90):>12.2f}ms {q(with_, 90):>8.2f}ms {base_q:>5} → {with_q:<4} {step * 1000:>9.3f}ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
