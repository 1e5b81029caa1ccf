"""Read replicas: what the router costs per read, and how far a streaming
standby of the local PostgreSQL lags behind a commit.

    .venv/bin/python -m bench.replica [--commits 200]

Starts a hot standby of 127.0.0.1:5432 as the replica tests do
(tests/replica/conftest.py: pg_basebackup as the `postgres` OS user, a free
port), commits N single-row inserts into a scratch database on the primary
and waits, after each, until the standby has replayed it. Prints the
standby's start time, the replay delays (p50, p95, max), and the router's
time per `db_for_read` (no replicas; a replica chosen; a pinned client).
"""

import argparse
import os
import statistics
import time
import timeit

import psycopg


def _router_costs() -> dict[str, float]:
    """Microseconds per db_for_read call, in a request's read scope."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientbase.settings")
    import django

    django.setup()
    from django.db import connections, router
    from django.db.utils import load_backend
    from django.test import RequestFactory
    from django.test.utils import override_settings

    from clientbase.core import routing
    from clientbase.customers.models import Contact

    configured = connections.configure_settings({"default": connections.settings["default"],
                                                  "replica_1": dict(connections.settings["default"])})
    connections["replica_1"] = load_backend(configured["replica_1"]["ENGINE"]).DatabaseWrapper(
        configured["replica_1"], "replica_1")
    request = RequestFactory().get("/")
    costs = {}
    runs = 200_000

    def per_call(label):
        costs[label] = timeit.timeit(lambda: router.db_for_read(Contact), number=runs) / runs * 1e6

    with routing.read_scope(request):
        per_call("no replicas")
    with override_settings(DATABASE_REPLICAS=["replica_1"]), routing.read_scope(request) as scope:
        per_call("replica chosen")
        scope.cookie_pinned = True
        per_call("client pinned")
    return costs


def _lag(port: int, commits: int) -> list[float]:
    """Seconds from each commit on the primary until the standby replayed it."""
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS bench_replica_lag")
        admin.execute("CREATE DATABASE bench_replica_lag")
    delays = []
    try:
        with psycopg.connect(host="127.0.0.1", user="postgres", dbname="bench_replica_lag",
                             autocommit=True) as primary, \
                psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                                autocommit=True) as standby:
            primary.execute("CREATE TABLE t (id serial PRIMARY KEY, at timestamptz DEFAULT now())")
            for _ in range(commits):
                primary.execute("INSERT INTO t DEFAULT VALUES")
                target = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
                start = time.perf_counter()
                while not standby.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0]:
                    time.sleep(0.0005)
                delays.append(time.perf_counter() - start)
    finally:
        with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS bench_replica_lag WITH (FORCE)")
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=200)
    args = parser.parse_args()
    from tests.replica.conftest import _start_standby, _stop_standby

    print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load average", os.getloadavg())
    for label, micros in _router_costs().items():
        print(f"router db_for_read, {label}: {micros:.2f} µs")
    started = time.perf_counter()
    port, data, bindir = _start_standby({"HOST": "127.0.0.1", "PORT": 5432, "USER": "postgres"})
    print(f"standby started (pg_basebackup + start) in {time.perf_counter() - started:.1f} s")
    try:
        delays = sorted(_lag(port, args.commits))
    finally:
        _stop_standby(data, bindir)
    ms = [d * 1000 for d in delays]
    print(f"replay delay after a commit, {len(ms)} commits: p50 {statistics.median(ms):.1f} ms, "
          f"p95 {ms[int(len(ms) * 0.95) - 1]:.1f} ms, max {ms[-1]:.1f} ms")


if __name__ == "__main__":
    main()
