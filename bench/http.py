"""`scripts/bench http` (`python -m bench.http`): the API over HTTP, served by
the production server (`clientbase serve`) on PostgreSQL, next to bare
Django views that answer the same JSON from the same database.

    scripts/bench http                                   # small scale, 5 s a run
    scripts/bench http --scale medium --duration 10 --connections 1,10,50
    DATABASE_POOL=4 scripts/bench http --scale medium    # with psycopg's connection pool

The database (`clientbase_bench_http_<scale>`) holds the visibility bench's
organizations and contacts (bench/generate.py: a customer-service
representative granted one subtree) and the storefront bench's catalog
(bench/store.py: markets, products, variants, price rows, a Gold shopper,
who is made a member of the granted subtree's root so that the
representative may price for it). It is kept and reused at the same scale
(`--regenerate` rebuilds it).

Endpoints, each against its bare view (bench/http_views.py, mounted under
/bare/ by the bench-only settings bench/http_settings.py):
- contact detail, GET /api/v1/contacts/{id}, as the representative;
- the first page of contacts (50) the representative may see;
- POST /api/v1/prices/resolve for 50 SKUs priced for the Gold contact;
- the store's listing (24 products) at the Gold shopper's prices.

Both answers are compared (parsed JSON) before any load. Then wrk, for
`--warmup-seconds` untimed and `--duration` timed, at each of
`--connections`, the API and the bare view alternating: requests/s, p50,
p99, and the CPU of wrk (its rusage), of the server and of the PostgreSQL
backends (/proc), in % of one core.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.__main__ import _ensure_database, _reset_database, _server_version, add_server_arguments
from bench.store import CpuMeter, Server, database_backends, serving

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "bench.http_settings"
RESOLVE_SKUS = 50
CONTACT_PAGE = 50
STORE_PAGE = 24


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: str | None = None


@dataclass(frozen=True)
class Endpoint:
    name: str
    api: Request
    bare: Request


# --- The data ------------------------------------------------------------------------


def generate(scale_name: str, progress=None, fast_indexes: bool = True) -> None:
    """Fill the (migrated, empty) current database: the visibility bench's
    organizations and contacts, the storefront bench's catalog, and the Gold
    shopper in the granted subtree's root."""
    from bench import generate as visibility, store
    from bench.scales import SCALES
    from clientbase.customers.models import Contact

    made = visibility.generate(SCALES[scale_name], progress, fast_indexes=fast_indexes)
    store.generate(store.SCALES[scale_name], progress, fast_indexes=fast_indexes)
    Contact.objects.get(key=store.GOLD_CONTACT).organizations.add(made.root_id)


def existing() -> bool:
    from bench.generate import BENCH_EMAIL
    from bench.store import GOLD_CONTACT
    from clientbase.customers.models import Account, Contact

    return (Account.objects.filter(email=BENCH_EMAIL).exists()
            and Contact.objects.filter(key=GOLD_CONTACT, organizations__isnull=False).exists())


def callers() -> dict[str, dict]:
    """New API tokens for the representative and the Gold shopper: raw token
    -> {"account", "contact", "who"} (the bare views' header check reads it
    from BENCH_HTTP_CALLERS)."""
    from bench.generate import BENCH_EMAIL
    from bench.store import GOLD_EMAIL
    from clientbase.customers.models import Account
    from clientbase.customers.services.accounts import issue_token

    found = {}
    for who, email in (("csr", BENCH_EMAIL), ("gold", GOLD_EMAIL)):
        account = Account.objects.get(email=email)
        _, raw = issue_token(account, actor=account, name="bench http")
        found[raw] = {"account": str(account.pk), "contact": str(account.contact_id) if account.contact_id
                      else None, "who": who}
    return found


def endpoints(tokens: dict[str, dict]) -> list[Endpoint]:
    """The four endpoints and their bare views, for the bench's data."""
    from bench.generate import BENCH_EMAIL
    from bench.store import GOLD_CONTACT
    from clientbase.catalog.models import Variant
    from clientbase.customers.models import Account, Contact

    by_who = {info["who"]: token for token, info in tokens.items()}
    csr = {"Authorization": f"Bearer {by_who['csr']}"}
    gold = {"Authorization": f"Bearer {by_who['gold']}"}
    account = Account.objects.get(email=BENCH_EMAIL)
    # A contact of the granted subtree, in the middle of the list.
    visible = Contact.objects.visible_to(account).order_by("id").values_list("id", flat=True)
    contact = visible[visible.count() // 2]
    skus = list(Variant.objects.filter(is_active=True).order_by("sku").values_list("sku", flat=True)
                [:RESOLVE_SKUS * 7:7])
    resolve = json.dumps({"skus": skus, "contact": GOLD_CONTACT, "market": "EU"})
    post = {**csr, "Content-Type": "application/json"}
    return [
        Endpoint("contact detail", Request("GET", f"/api/v1/contacts/{contact}", csr),
                 Request("GET", f"/bare/contacts/{contact}", csr)),
        Endpoint(f"contacts page ({CONTACT_PAGE}), scoped", Request("GET", f"/api/v1/contacts?limit={CONTACT_PAGE}", csr),
                 Request("GET", f"/bare/contacts?limit={CONTACT_PAGE}", csr)),
        Endpoint(f"resolve {len(skus)} SKUs, Gold", Request("POST", "/api/v1/prices/resolve", post, resolve),
                 Request("POST", "/bare/prices/resolve", post, resolve)),
        Endpoint(f"store products ({STORE_PAGE}), Gold", Request("GET", f"/api/v1/store/products?limit={STORE_PAGE}", gold),
                 Request("GET", f"/bare/store/products?limit={STORE_PAGE}", gold)),
    ]


def same_answer(endpoint: Endpoint, fetch) -> dict:
    """Both answers of `endpoint` through `fetch(request) -> (status, body)`:
    the parsed JSON, which must be equal (else AssertionError naming the
    first difference)."""
    answers = []
    for request in (endpoint.api, endpoint.bare):
        status, body = fetch(request)
        assert status == 200, f"{endpoint.name}: {request.path} answered {status}: {body[:300]!r}"
        answers.append(json.loads(body))
    api, bare = answers
    assert api == bare, f"{endpoint.name}: the API and the bare view differ: {_difference(api, bare)}"
    return api


def _difference(a, b, where: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k, "<missing>") != b.get(k, "<missing>"):
                return _difference(a.get(k, "<missing>"), b.get(k, "<missing>"), f"{where}.{k}")
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _difference(x, y, f"{where}[{i}]")
    return f"{where}: {a!r} vs {b!r}"


def fetch_over_http(port: int):
    def fetch(request: Request) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request(request.method, request.path, body=request.body, headers=request.headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()
    return fetch


# --- Load: wrk -------------------------------------------------------------------------


@dataclass
class Load:
    name: str
    connections: int
    seconds: float
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    wrk_cpu_s: float
    server_cpu_s: float | None = None
    database_cpu_s: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percent(self, seconds: float | None) -> float | None:
        return None if seconds is None else 100 * seconds / self.seconds


# wrk's Lua: the request (method, headers, body), and a machine-readable
# summary (latencies in microseconds).
LUA = """
wrk.method = {method}
wrk.body = {body}
{headers}
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                 + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %d %d %d %.1f %.1f\\n", summary.requests, summary.duration, errors,
                         latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(text: str | None) -> str:
    return "nil" if text is None else "[==[" + text + "]==]"


def lua_script(request: Request, directory: Path) -> Path:
    headers = "\n".join(f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in request.headers.items())
    path = Path(tempfile.mkstemp(suffix=".lua", prefix="wrk-", dir=directory)[1])
    path.write_text(LUA.format(method=_lua_string(request.method), body=_lua_string(request.body),
                               headers=headers))
    return path


def wrk(port: int, request: Request, *, connections: int, seconds: float, script: Path) -> tuple[Load, float]:
    """One wrk run; its figures and the CPU seconds wrk used (its rusage)."""
    threads = min(connections, 2)
    process = subprocess.Popen(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script),
         f"http://127.0.0.1:{port}{request.path}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    found = re.search(r"^RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+)$", out, re.M)
    if process.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{out}")
    requests, micros, errors, p50, p99 = found.groups()
    load = Load("", connections, int(micros) / 1e6, int(requests), int(errors), float(p50) / 1000,
                float(p99) / 1000, usage.ru_utime + usage.ru_stime)
    return load, load.wrk_cpu_s


def drain(port: int, timeout: float = 120) -> None:
    """Wait until the server has answered what an ended wrk run left queued
    (wrk stops with requests in flight; a server still answering them would
    slow the next run): three requests in a row that answer."""
    fetch = fetch_over_http(port)
    deadline = time.monotonic() + timeout
    answered = 0
    while answered < 3 and time.monotonic() < deadline:
        try:
            fetch(Request("GET", "/api/v1/contacts"))  # 401: no query
            answered += 1
        except OSError:
            answered = 0


def measure(server: Server, request: Request, *, name: str, connections: int, seconds: float, warmup: float,
            script: Path, database=None) -> Load:
    if warmup > 0:
        wrk(server.port, request, connections=connections, seconds=warmup, script=script)
        drain(server.port)
    meters = [CpuMeter(server.pids), CpuMeter(database) if database else None]
    for meter in meters:
        if meter:
            meter.start()
    load, _ = wrk(server.port, request, connections=connections, seconds=seconds, script=script)
    load.name = name
    load.server_cpu_s = meters[0].stop()
    load.database_cpu_s = meters[1].stop() if meters[1] else None
    drain(server.port)
    return load


# --- Report -----------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} %"


COLUMNS = ["endpoint", "conns", "API req/s", "bare req/s", "ratio", "API p50 / p99 ms", "bare p50 / p99 ms",
           "wrk CPU", "server CPU", "db CPU"]


def rows(pairs: list[tuple[Load, Load]]) -> list[list[str]]:
    """One row per endpoint and connection count; CPU columns: API run / bare run."""
    out = []
    for api, bare in pairs:
        out.append([api.name, str(api.connections), _fmt(api.rps), _fmt(bare.rps),
                    f"{api.rps / bare.rps:.2f}×" if bare.rps else "—",
                    f"{_fmt(api.p50_ms, 2)} / {_fmt(api.p99_ms, 2)}",
                    f"{_fmt(bare.p50_ms, 2)} / {_fmt(bare.p99_ms, 2)}",
                    f"{_pct(api.percent(api.wrk_cpu_s))} / {_pct(bare.percent(bare.wrk_cpu_s))}",
                    f"{_pct(api.percent(api.server_cpu_s))} / {_pct(bare.percent(bare.server_cpu_s))}",
                    f"{_pct(api.percent(api.database_cpu_s))} / {_pct(bare.percent(bare.database_cpu_s))}"]
                   + ([f"{api.errors + bare.errors} errors"] if api.errors or bare.errors else []))
    return out


def markdown(pairs: list[tuple[Load, Load]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * (len(COLUMNS) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows(pairs)]
    return "\n".join(lines) + "\n"


# --- Running ------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    from bench.scales import SCALES

    parser = argparse.ArgumentParser(prog="scripts/bench http", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    parser.add_argument("--duration", type=float, default=5, help="timed seconds per run (default 5)")
    parser.add_argument("--warmup-seconds", type=float, default=1, help="untimed seconds before (default 1)")
    parser.add_argument("--connections", default="1,10,50", help="concurrent connections (default 1,10,50)")
    parser.add_argument("--workers", type=int, default=2, help="clientbase serve --workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="clientbase serve --threads (default 4)")
    parser.add_argument("--only", default="", help="endpoints whose name contains this (default: all)")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the database")
    parser.add_argument("--output", type=Path, help="also write the table (markdown) to this file")
    add_server_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    url = f"{args.postgres.rstrip('/')}/clientbase_bench_http_{args.scale}"
    if args.regenerate:
        _reset_database(url)
    else:
        _ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("CLIENTBASE_HOME", str(args.workdir))
    os.environ.setdefault("AXES_ENABLED", "0")
    # The server imports the bench package (its settings and bare views).
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

    import django

    django.setup()
    from django.db import connections

    try:
        return _run(args, url)
    finally:
        connections.close_all()


def _run(args: argparse.Namespace, url: str) -> int:
    from django.core.management import call_command
    from django.db import connection, connections

    from bench import report
    from bench.generate import progress_bar

    console = report.console
    pool = os.environ.get("DATABASE_POOL", "")
    console.rule(f"[bold]API over HTTP vs bare Django, {args.scale}[/] — PostgreSQL"
                 + (f", DATABASE_POOL={pool}" if pool else ""))
    call_command("migrate", verbosity=0)
    if not existing():
        connections.close_all()
        _reset_database(url)
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        with progress_bar() as progress:
            generate(args.scale, progress)
        console.print(f"generated in {time.perf_counter() - started:.0f} s")
    tokens = callers()
    cases = [e for e in endpoints(tokens) if args.only in e.name]
    version = _server_version(connection)
    os.environ["BENCH_HTTP_CALLERS"] = json.dumps(tokens)
    connections.close_all()  # the server's workers open their own

    pairs: list[tuple[Load, Load]] = []
    counts = [int(c) for c in args.connections.split(",")]
    with tempfile.TemporaryDirectory() as scripts, \
            serving(url, args.workdir, args.workers, extra_args=["--threads", str(args.threads)]) as server:
        fetch = fetch_over_http(server.port)
        for endpoint in cases:
            same_answer(endpoint, fetch)
        console.print(f"the API and the bare views answer the same JSON ({len(cases)} endpoints)")
        database = database_backends(url)
        for endpoint in cases:
            api_script = lua_script(endpoint.api, Path(scripts))
            bare_script = lua_script(endpoint.bare, Path(scripts))
            for n in counts:
                console.print(f"  {endpoint.name}, {n} connection(s)…")
                kw = dict(name=endpoint.name, connections=n, seconds=args.duration, warmup=args.warmup_seconds,
                          database=database)
                api = measure(server, endpoint.api, script=api_script, **kw)
                bare = measure(server, endpoint.bare, script=bare_script, **kw)
                pairs.append((api, bare))
    from rich.table import Table

    title = (f"{report.now_utc()} — API vs bare Django over HTTP, {args.scale}, {version}, "
             f"clientbase serve --workers {args.workers} --threads {args.threads}"
             + (f", DATABASE_POOL={pool}" if pool else ""))
    table = Table(title=title, title_justify="left",
                  caption="CPU in % of one core over the timed run (API run / bare run): wrk, the server "
                          "(all its processes), the PostgreSQL backends; all on the same "
                          f"{os.cpu_count()} cores. Load average at the end: {os.getloadavg()[0]:.1f}",
                  caption_justify="left")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for row in rows(pairs):
        table.add_row(*row[:len(COLUMNS)])
    console.print(table)
    if args.output:
        text = (f"### {title}\n\nwrk {args.warmup_seconds:g} s untimed, then {args.duration:g} s timed per "
                f"run, API and bare view alternating; machine: {platform.machine()}, {os.cpu_count()} CPUs "
                f"shared by wrk, the server and PostgreSQL (load average {os.getloadavg()[0]:.1f} at the end)."
                "\n\n" + markdown(pairs))
        with open(args.output, "a") as out:
            out.write(text + "\n")
        console.print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
