"""`python -m bench.cache`: what the shared cache (CACHE_URL=redis://…)
saves on the API's hot requests, measured in process against the embedded
default (Django's per-process memory, with which these lookups are not
cached), in the same run, requests alternating between the two.

    python -m bench.cache --database sqlite
    python -m bench.cache --database postgres --scale small

Requests, through Django's test client with a bearer token:
- `POST /api/v1/prices/resolve`, 50 SKUs for the pricing bench's contact
  (8 organizations deep, in customer groups), as an administrator;
- `GET /api/v1/contacts?limit=50` as a scoped customer-service account
  (one grant);
- `GET /api/v1/organizations?limit=50` as the same account (token and scope only).

Reported per request: database queries (counted in a separate pass), p50
and p95 in milliseconds. Redis: database 8 of 127.0.0.1:6379 (flushed first),
or REDIS_URL.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

from bench.__main__ import add_server_arguments
from bench.pricing import BENCH_CONTACT, SCALES, existing, generate

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/8")
SKUS = 50
BLOCK = 25


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.cache", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=list(SCALES), default="tiny")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repetitions", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    add_server_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from bench.__main__ import _ensure_database

    if args.database == "postgres":
        url = f"{args.postgres.rstrip('/')}/clientbase_bench_pricing_{args.scale}"
    else:
        args.workdir.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{args.workdir / f'bench-pricing-{args.scale}.sqlite3'}"
    _ensure_database(url)
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="clientbase.settings",
                      ALLOWED_HOSTS="testserver,localhost", AXES_ENABLED="0")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("CLIENTBASE_HOME", str(args.workdir))
    os.environ.pop("CACHE_URL", None)

    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from clientbase.customers.models import Account, Contact, Grant, Role
    from clientbase.customers.services.accounts import issue_token

    call_command("migrate", verbosity=0)
    scale = SCALES[args.scale]
    if not existing(scale):
        generate(scale)
    admin = Account.objects.filter(email="bench-admin@example.com").first() or Account.objects.create_superuser(
        "bench-admin@example.com", None)
    csr = Account.objects.filter(email="bench-csr@example.com").first() or Account.objects.create_user(
        "bench-csr@example.com", None, roles=[Role.CUSTOMER_SERVICE])
    contact = Contact.objects.get(key=BENCH_CONTACT)
    Grant.objects.get_or_create(account=csr, organization=contact.organizations.first(),
                                defaults={"include_descendants": True, "level": "view"})
    _, admin_token = issue_token(admin, actor=None)
    _, csr_token = issue_token(csr, actor=None)
    all_skus = [f"SKU-{p:06d}-{v:02d}" for p in range(scale.products) for v in range(scale.variants_per_product)]
    skus = sorted(random.Random(scale.seed).sample(all_skus, SKUS))
    as_admin = Client(HTTP_AUTHORIZATION=f"Bearer {admin_token}")
    as_csr = Client(HTTP_AUTHORIZATION=f"Bearer {csr_token}")
    body = {"skus": skus, "market": "EU", "contact": BENCH_CONTACT}
    cases = {
        f"POST /prices/resolve, {SKUS} SKUs, a contact in groups": lambda: as_admin.post(
            "/api/v1/prices/resolve", body, content_type="application/json"),
        "GET /contacts?limit=50, scoped CSR": lambda: as_csr.get("/api/v1/contacts", {"limit": 50}),
        "GET /organizations?limit=50, scoped CSR": lambda: as_csr.get("/api/v1/organizations", {"limit": 50}),
    }
    redis.Redis.from_url(REDIS_URL).flushdb()
    configs = {
        "embedded (no CACHE_URL)": override_settings(CACHES={"default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}),
        "CACHE_URL=redis": override_settings(CACHES={"default": {
            "BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "bench"}}),
    }
    rows = []
    for name, call in cases.items():
        queries, times = {}, {c: [] for c in configs}
        for config, override in configs.items():
            with override:
                for _ in range(args.warmup):
                    assert call().status_code == 200
                with CaptureQueriesContext(connection) as counted:
                    call()
                queries[config] = len(counted.captured_queries)
        # Blocks of BLOCK requests, alternating between the two: the machine's
        # noise hits both, and Redis keeps its connection within a block.
        for _ in range(max(1, args.repetitions // BLOCK)):
            for config, override in configs.items():
                with override:
                    call()  # reconnects after the switch
                    for _ in range(BLOCK):
                        started = time.perf_counter()
                        response = call()
                        times[config].append((time.perf_counter() - started) * 1000)
                        assert response.status_code == 200
        for config in configs:
            values = sorted(times[config])
            rows.append((name, config, queries[config], statistics.median(values),
                         values[int(len(values) * 0.95) - 1]))
    print(f"\n{connection.vendor} ({args.scale}: {scale.describe()}), {args.repetitions} repetitions "
          f"after {args.warmup} warm-up, in process\n")
    print("| request | cache | queries | p50 ms | p95 ms |")
    print("|---|---|---:|---:|---:|")
    for name, config, count, p50, p95 in rows:
        print(f"| {name} | {config} | {count} | {p50:.2f} | {p95:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
