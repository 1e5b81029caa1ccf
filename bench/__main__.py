"""`python -m bench` (or `scripts/bench`): generate a database, time the contact
list and search of a scoped account, print and record the figures.

    scripts/bench                                  # small scale, SQLite and PostgreSQL
    scripts/bench --scale large --database postgres
    scripts/bench --scale medium --database sqlite --repetitions 30 --explain

A generated database is kept and reused by the next run at the same scale
(`--regenerate` to build it again): SQLite files under the work directory,
PostgreSQL databases named `clientbase_bench_<scale>`.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.scales import SCALES

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repetitions", type=int, default=50, help="timed runs per case")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs before them")
    parser.add_argument("--term", default="smi", help="the search prefix (default: smi)")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the database")
    parser.add_argument("--no-record", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument("--no-tree", action="store_true", help="skip the tree-representation cases")
    parser.add_argument("--explain", action="store_true", help="print the ORM queries' plans")
    add_server_arguments(parser)
    return parser.parse_args(argv)


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """--postgres and --workdir, as every bench takes them: where its
    PostgreSQL databases and its SQLite files live."""
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES", DEFAULT_POSTGRES),
                        help=f"PostgreSQL server URL without database (default {DEFAULT_POSTGRES})")
    parser.add_argument("--workdir", type=Path,
                        default=Path(os.environ.get("BENCH_DIR",
                                                    Path(tempfile.gettempdir()) / "clientbase-bench")),
                        help="where SQLite files live")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.database == "both":
        return run_per_database("bench", argv)
    return run_one(args)


def run_per_database(module: str, argv: list[str]) -> int:
    """Run `python -m module` once on SQLite, once on PostgreSQL: one process
    per database, as Django reads DATABASE_URL once, at setup."""
    child = [a for i, a in enumerate(argv)
             if not a.startswith("--database") and (i == 0 or argv[i - 1] != "--database")]
    status = 0
    for database in ("sqlite", "postgres"):
        status |= subprocess.call([sys.executable, "-m", module, *child, "--database", database])
    return status


def _database_url(args: argparse.Namespace) -> str:
    if args.database == "postgres":
        return f"{args.postgres.rstrip('/')}/clientbase_bench_{args.scale}"
    args.workdir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{args.workdir / f'bench-{args.scale}.sqlite3'}"


def _reset_database(url: str) -> None:
    """Make the database at `url` exist and be empty."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _ensure_database(url: str) -> None:
    if url.startswith("sqlite"):
        return
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def use_database(url: str, workdir: Path) -> None:
    """Point Django (set up next) at `url`, with a bench's settings."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientbase.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("CLIENTBASE_HOME", str(workdir))
    os.environ.setdefault("AXES_ENABLED", "0")


def run_one(args: argparse.Namespace) -> int:
    url = _database_url(args)
    if args.regenerate:
        _reset_database(url)
    else:
        _ensure_database(url)
    use_database(url, args.workdir)

    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connection

    from bench import generate as gen
    from bench import measure, report

    console = report.console
    scale = SCALES[args.scale]
    console.rule(f"[bold]{args.scale}[/] on {connection.vendor} — {scale.describe()}")
    call_command("migrate", verbosity=0)

    generated = gen.existing(scale)
    generation_s = None
    if generated is None:
        from clientbase.customers.models import Organization

        if Organization.objects.exists():  # an earlier, different or broken run
            connection.close()
            _reset_database(url)
            call_command("migrate", verbosity=0)
        started = time.perf_counter()
        with gen.progress_bar() as progress:
            generated = gen.generate(scale, progress)
        generation_s = time.perf_counter() - started
        console.print(f"generated in {generation_s:.1f} s")
    else:
        console.print("reusing the database of an earlier run (--regenerate to rebuild)")
        gen.analyze()  # also clears what an earlier run's rolled-back moves left

    from clientbase.customers.models import Account, Contact, Organization

    account = Account.objects.get(email=generated.account_email)
    visible = Contact.objects.visible_to(account).count()
    subtree = Organization.objects.filter(path__gte=generated.root_path,
                                          path__lt=generated.root_path + "~").count()
    matching = measure.api_queryset(account, args.term).count()

    cases = measure.build_cases(account, generated.root_id, generated.root_path, args.term,
                                with_tree=not args.no_tree)
    with gen.progress_bar() as progress:
        results = measure.run(cases, args.repetitions, args.warmup, progress)

    version = _server_version(connection)
    title = f"{report.now_utc()} — {args.scale}, {version}"
    for labels, group in report.grouped(results):
        heading = title if labels == ("ORM", "SQL") else f"tree representation: {labels[0]} vs {labels[1]}"
        console.print(report.table(group, heading, *labels))
    facts = [
        f"scale `{args.scale}`: {scale.organizations:,} organizations (max depth {scale.max_depth}), "
        f"{scale.contacts:,} contacts, {generated.memberships:,} memberships",
        f"scoped account: grant with descendants on a subtree of {subtree:,} organizations; "
        f"it sees {visible:,} contacts, {matching:,} of them match q={args.term!r}",
        f"{args.repetitions} timed repetitions after {args.warmup} warm-up runs; "
        f"ORM and SQL alternate; both return the same ids in the same order (checked)",
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end, Python {platform.python_version()}"
        + (f"; generation took {generation_s:.0f} s" if generation_s else ""),
    ]
    if args.explain:
        for name, plan in measure.explain(account, generated.root_path, args.term).items():
            console.rule(f"plan: {name}")
            console.print(plan, markup=False, highlight=False)
    if not args.no_record:
        report.record(report.markdown(results, title, facts))
        console.print(f"recorded in {report.DOCS}")
    return 0


def _server_version(connection) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
        cursor.execute("SELECT sqlite_version()")
        return f"SQLite {cursor.fetchone()[0]}"


if __name__ == "__main__":
    sys.exit(main())
