"""`python -m bench.api_inprocess`: the API's hot requests through the whole
WSGI stack in one process — middleware, routing, authentication, the view,
serialisation — without a server or a network in between.

    python -m bench.api_inprocess                              # small, PostgreSQL
    python -m bench.api_inprocess --scale medium --requests 500 --profile

The database (`clientbase_bench_api_<scale>`, or a SQLite file) holds the
visibility benchmark's organizations and contacts (bench/generate.py, with
its scoped customer-service account) and the store benchmark's catalog
(bench/store.py: markets, products, price rows, the Gold contact with its
account); it is kept and reused at the same scale (`--regenerate` to build
it again). Each account calls with a personal API token issued for the run.

Cases:

- `GET /api/v1/contacts/{id}` and `GET /api/v1/contacts?limit=50` for the
  scoped customer-service account;
- `POST /api/v1/prices/resolve`, 50 SKUs for the Gold contact, by an
  administrator;
- `GET /api/v1/store/products?limit=24`, anonymous and as the Gold shopper.

For each: p50 and p99 over `--requests` calls after a warm-up, the number of
queries one call runs, and with `--profile` where the time goes (cProfile
over the same calls; the shares are of the profiled time, which cProfile
inflates for Python-heavy parts — and for pydantic-core's serialiser, which
it slows down many times over: time `model_dump` apart before believing it).

Then, as a yardstick that travels between machines (these figures double on
a busy or slower host), the four endpoints of `scripts/bench http` next to
their bare Django views (bench/http_views.py: hand-written SQL,
`json.dumps`), called the same way in the same run: CPU ms of each and the
ratio. The answers are checked equal first. `--no-bare` leaves this out.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.__main__ import (
    _ensure_database, _reset_database, _server_version, add_server_arguments, use_database,
)
from bench.store import _cpu_of

ADMIN_EMAIL = "bench-admin@example.com"
RESOLVE_SKUS = 50


@dataclass
class Case:
    name: str
    method: str
    path: str
    token: str | None = None
    body: dict | None = None
    query: str = ""


@dataclass
class Result:
    case: Case
    times_ms: list[float]
    queries: int
    size: int
    cpu_ms: float
    db_cpu_ms: float | None
    profile: dict[str, float] = field(default_factory=dict)
    bare: "Result | None" = None

    def pct(self, p: float) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# --- Calling the WSGI application ----------------------------------------------------


def environ_for(case: Case) -> dict:
    """A WSGI environ as a server would hand it over for `case`."""
    body = json.dumps(case.body).encode() if case.body is not None else b""
    env = {
        "REQUEST_METHOD": case.method, "PATH_INFO": case.path, "QUERY_STRING": case.query,
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000", "REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT": "application/json",
        "wsgi.url_scheme": "http", "wsgi.version": (1, 0), "wsgi.multithread": True,
        "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.errors": sys.stderr,
        "_body": body,
    }
    if body:
        env["CONTENT_TYPE"] = "application/json"
        env["CONTENT_LENGTH"] = str(len(body))
    if case.token:
        env["HTTP_AUTHORIZATION"] = f"Bearer {case.token}"
    return env


def call(app, env: dict) -> tuple[str, bytes]:
    """One request through `app`: (status line, body)."""
    environ = dict(env)
    environ["wsgi.input"] = io.BytesIO(env["_body"])
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = status

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return answer["status"], body


# --- Where the time goes -------------------------------------------------------------

# (label, file fragment, function name): cumulative time of each, from the
# profile. They nest (the view includes the resolver includes the database).
PROFILE_POINTS = [
    ("whole request (handler)", "django/core/handlers/base.py", "get_response"),
    ("token lookup (TokenAuth)", "clientbase/api/auth.py", "authenticate"),
    ("view function", None, None),  # filled per case
    ("resolver (resolve_prices)", "clientbase/pricing/resolver.py", "resolve_prices"),
    ("ladders (resolve_price_ladders)", "clientbase/pricing/resolver.py", "resolve_price_ladders"),
    ("serialisation (_result_to_response)", "ninja/operation.py", "_result_to_response"),
    ("  of which model_validate", "pydantic/main.py", "model_validate"),
    ("  of which json.dumps", "json/__init__.py", "dumps"),
    ("database (cursor execute)", "django/db/backends/utils.py", "_execute"),
    ("Django ORM compile", "django/db/models/sql/compiler.py", "as_sql"),
]


def profile_breakdown(stats: pstats.Stats, view_name: str) -> dict[str, float]:
    """Per PROFILE_POINTS label, its share of the whole request (0..1)."""
    found: dict[str, float] = {}
    for (filename, _, name), (_, _, _, cumulative, _) in stats.stats.items():
        for label, fragment, wanted in PROFILE_POINTS:
            if label == "view function":
                fragment, wanted = "clientbase/api/", view_name
            if fragment and wanted == name and fragment in filename:
                found[label] = max(found.get(label, 0), cumulative)
    whole = found.get("whole request (handler)") or 1
    return {label: found.get(label, 0) / whole for label, *_ in PROFILE_POINTS}


# --- Running ------------------------------------------------------------------------


def _database_backend(connection) -> int | None:
    """The process id of the PostgreSQL backend serving this process's
    connection, whose CPU (/proc) is the database's share of a request when
    the server runs on this machine; None on SQLite (its work is in this
    process) or without an open connection (a pool hands out another)."""
    if connection.vendor != "postgresql" or connection.connection is None:
        return None
    return connection.connection.info.backend_pid


def measure(app, case: Case, requests: int, warmup: int, profile: bool, view_name: str,
            dump: Path | None = None, show_queries: bool = False) -> Result:
    from django.db import connection

    env = environ_for(case)
    status, body = call(app, env)
    if not status.startswith("200"):
        raise SystemExit(f"{case.name}: {status}: {body[:500]!r}")
    if dump:
        # To compare answers byte for byte between two versions of the code.
        dump.mkdir(parents=True, exist_ok=True)
        (dump / f"{view_name}-{len(list(dump.iterdir()))}.json").write_bytes(body)
    for _ in range(warmup):
        call(app, env)
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    # Counted around the call: the handler's request_started signal empties
    # Django's own query log.
    with connection.execute_wrapper(count):
        call(app, env)
    if show_queries:
        print(f"-- {case.name}: {len(queries)} queries", file=sys.stderr)
        for sql in queries:
            print(f"   {sql[:300]}", file=sys.stderr)
    times = []
    backend = _database_backend(connection)
    db_cpu_started = _cpu_of(backend) if backend else None
    cpu_started = time.process_time()
    for _ in range(requests):
        started = time.perf_counter()
        call(app, env)
        times.append((time.perf_counter() - started) * 1000)
    cpu_ms = (time.process_time() - cpu_started) * 1000 / requests
    db_cpu_ms = None
    if db_cpu_started is not None and backend == _database_backend(connection):
        db_cpu_ms = (_cpu_of(backend) - db_cpu_started) * 1000 / requests
    result = Result(case, times, len(queries), len(body), cpu_ms, db_cpu_ms)
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(max(20, requests // 5)):
            call(app, env)
        profiler.disable()
        result.profile = profile_breakdown(pstats.Stats(profiler), view_name)
    return result


def prepare(args: argparse.Namespace, url: str):
    """Build (or reuse) the database; returns the cases to time."""
    from django.core.management import call_command
    from django.db import connection

    from bench import generate as gen
    from bench import http, store
    from bench.generate import progress_bar
    from clientbase.catalog.models import Variant
    from clientbase.customers.models import Account, Contact, Grant
    from clientbase.customers.services.accounts import issue_token

    call_command("migrate", verbosity=0)
    # Both generators ran to the end when the store's Gold contact exists
    # (it comes last but for the rows); anything else starts afresh.
    if not Contact.objects.filter(key=store.GOLD_CONTACT).exists():
        if Contact.objects.exists():
            connection.close()
            _reset_database(url)
            call_command("migrate", verbosity=0)
        with progress_bar() as progress:
            http.generate(args.scale, progress)
    else:
        if not http.existing():
            # Built before the bare comparison: the Gold shopper joins the
            # granted subtree's root, as bench.http.generate puts them.
            root = Grant.objects.get(account__email=gen.BENCH_EMAIL).organization_id
            Contact.objects.get(key=store.GOLD_CONTACT).organizations.add(root)
        gen.analyze()

    csr = Account.objects.get(email=gen.BENCH_EMAIL)
    admin = Account.objects.filter(email=ADMIN_EMAIL).first() or Account.objects.create_superuser(ADMIN_EMAIL)
    gold = Account.objects.get(contact__key=store.GOLD_CONTACT)
    tokens = {account.email: issue_token(account, actor=None, name="bench api_inprocess")[1]
              for account in (csr, admin, gold)}

    visible = Contact.objects.visible_to(csr).order_by("search_last_name", "search_first_name", "id")
    contact = visible[visible.count() // 2]
    skus = list(Variant.objects.on_sale().order_by("sku").values_list("sku", flat=True)[:RESOLVE_SKUS * 7:7])
    return [
        (Case("contact detail (scoped CSR)", "GET", f"/api/v1/contacts/{contact.pk}",
              tokens[csr.email]), "get_contact"),
        (Case("contacts page, limit 50 (scoped CSR)", "GET", "/api/v1/contacts", tokens[csr.email],
              query="limit=50"), "list_contacts"),
        (Case(f"resolve {RESOLVE_SKUS} SKUs for Gold (admin)", "POST", "/api/v1/prices/resolve",
              tokens[admin.email], body={"skus": skus, "contact": store.GOLD_CONTACT, "market": "EU"}),
         "resolve_prices"),
        (Case("store listing, 24, anonymous", "GET", "/api/v1/store/products", None,
              query="market=EU&limit=24"), "list_store_products"),
        (Case("store listing, 24, Gold (token)", "GET", "/api/v1/store/products", tokens[gold.email],
              query="market=EU&limit=24"), "list_store_products"),
    ]


def bare_pairs() -> list[tuple[Case, Case]]:
    """bench.http's endpoints (API request, bare request), as in-process
    cases; its callers' tokens are issued now and handed to the bare views."""
    from bench import http, http_views

    tokens = http.callers()
    http_views.CALLERS.update(tokens)

    def case(name: str, request) -> Case:
        path, _, query = request.path.partition("?")
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or None
        return Case(name, request.method, path, token, json.loads(request.body) if request.body else None, query)

    return [(case(e.name, e.api), case(f"{e.name} (bare)", e.bare)) for e in http.endpoints(tokens)]


def measure_pair(app, api: Case, bare: Case, requests: int, warmup: int) -> Result:
    """Both cases timed alternately in rounds (so that a change of the
    machine's load falls on both), after checking that they answer the same
    JSON; the API's Result with the bare one attached."""
    from bench.http import _difference

    answers = [json.loads(call(app, environ_for(c))[1]) for c in (api, bare)]
    if answers[0] != answers[1]:
        raise SystemExit(f"{api.name}: the API and the bare view differ: {_difference(*answers)}")
    rounds = 5
    results: list[Result] = []
    for i in range(rounds):
        for c in (api, bare):
            results.append(measure(app, c, max(1, requests // rounds), warmup if i == 0 else 0, False, ""))
    api_runs, bare_runs = results[0::2], results[1::2]

    def merged(runs: list[Result]) -> Result:
        times = [t for r in runs for t in r.times_ms]
        return Result(runs[0].case, times, runs[0].queries, runs[0].size,
                      sum(r.cpu_ms for r in runs) / len(runs), None)

    result = merged(api_runs)
    result.bare = merged(bare_runs)
    return result


def bare_markdown(pairs: list[Result]) -> list[str]:
    lines = ["", "Next to bare Django views in the same process (bench/http_views.py; same JSON, same callers "
             "as `scripts/bench http`, alternating rounds):", "",
             "| endpoint | API CPU ms | bare CPU ms | bare/API | API queries | bare queries |", "|---|---|---|---|---|---|"]
    for r in pairs:
        lines.append(f"| {r.case.name} | {r.cpu_ms:.2f} | {r.bare.cpu_ms:.2f} | {r.bare.cpu_ms / r.cpu_ms:.2f}× | "
                     f"{r.queries} | {r.bare.queries} |")
    return lines


def markdown(results: list[Result], title: str, facts: list[str], profile: bool,
             pairs: list[Result] = ()) -> str:
    lines = [f"### {title}", "", "| case | p50 ms | p99 ms | CPU ms | DB CPU ms | queries | bytes |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        db_cpu = "n/a" if r.db_cpu_ms is None else f"{r.db_cpu_ms:.2f}"
        lines.append(f"| {r.case.name} | {r.pct(50):.2f} | {r.pct(99):.2f} | {r.cpu_ms:.2f} | {db_cpu} | "
                     f"{r.queries} | {r.size:,} |")
    if profile:
        lines += ["", "Profile (share of the whole request, cumulative; parts nest):", "",
                  "| case | " + " | ".join(label.strip() for label, *_ in PROFILE_POINTS[1:]) + " |",
                  "|---" * len(PROFILE_POINTS) + "|"]
        for r in results:
            lines.append(f"| {r.case.name} | " + " | ".join(
                f"{r.profile.get(label, 0) * 100:.0f} %" for label, *_ in PROFILE_POINTS[1:]) + " |")
    if pairs:
        lines += bare_markdown(pairs)
    lines += [""] + [f"- {fact}" for fact in facts]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.api_inprocess", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=["tiny", "small", "medium"], default="small")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests before them")
    parser.add_argument("--profile", action="store_true", help="also profile each case (cProfile)")
    parser.add_argument("--only", default="", help="only cases whose name contains this")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the database")
    parser.add_argument("--output", type=Path, help="append the markdown table to this file")
    parser.add_argument("--queries", action="store_true", help="print each case's SQL to stderr")
    parser.add_argument("--dump", type=Path, help="write each case's answer into this directory")
    parser.add_argument("--no-bare", dest="bare", action="store_false",
                        help="leave out the comparison with the bare Django views")
    add_server_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.database == "postgres":
        url = f"{args.postgres.rstrip('/')}/clientbase_bench_api_{args.scale}"
    else:
        url = f"sqlite:///{args.workdir / f'bench-api-{args.scale}.sqlite3'}"
    (_reset_database if args.regenerate else _ensure_database)(url)
    # The product's settings with the bare views' URLs added (and nothing else).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.http_settings")
    use_database(url, args.workdir)
    os.environ.setdefault("CONN_MAX_AGE", "600")

    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    from bench import report

    cases = [(c, v) for c, v in prepare(args, url) if args.only in c.name]
    app = WSGIHandler()
    bare_cases = [(api, bare) for api, bare in (bare_pairs() if args.bare else []) if args.only in api.name]
    results = [measure(app, case, args.requests, args.warmup, args.profile, view, args.dump, args.queries) for case, view in cases]
    pairs = [measure_pair(app, api, bare, args.requests, args.warmup) for api, bare in bare_cases]

    title = f"{report.now_utc()} — API in process, {args.scale}, {_server_version(connection)}"
    facts = [
        f"{args.requests} timed requests per case after {args.warmup} warm-up ones, one after another, "
        "through django.core.handlers.wsgi.WSGIHandler (every middleware), bearer tokens; CPU ms: "
        "this process's CPU time per request (the database's own work is not in it); DB CPU ms: the "
        "PostgreSQL backend's CPU time per request (/proc, 10 ms ticks: run enough requests; n/a "
        "for SQLite or a server elsewhere)",
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
        f"at the end; Python {platform.python_version()}",
    ]
    text = markdown(results, title, facts, args.profile, pairs)
    print(text)
    if args.output:
        with args.output.open("a") as out:
            out.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
