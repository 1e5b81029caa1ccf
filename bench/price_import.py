"""`python -m bench.price_import`: time `clientbase import prices FILE` on a
scratch database — new price rows, then the same file again (unchanged),
then with every price changed — on SQLite or PostgreSQL.

    DATABASE_URL=sqlite:////tmp/p.sqlite3 python -m bench.price_import --rows 20000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cb_bench_prices python -m bench.price_import

The database is migrated and given a market and `rows / 10` variants; each
variant gets ten quantity breaks. Prints one JSON line per step (rows/s).
"""

import argparse
import csv
import json
import os
import tempfile
import time
from pathlib import Path

BREAKS = 10


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.price_import")
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientbase.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from clientbase.catalog.models import Market, Product, Variant
    from clientbase.pricing.models import PriceRow

    call_command("migrate", verbosity=0)
    PriceRow.history.model.objects.all().delete()
    PriceRow.objects.all().delete()
    Variant.objects.filter(sku__startswith="BENCH-").delete()
    Product.objects.filter(key="BENCH").delete()
    Market.objects.filter(key="BENCH").delete()
    Market.objects.create(key="BENCH", name="Bench", currencies=["EUR"], default_currency="EUR")
    product = Product.objects.create(key="BENCH", name="Bench")
    variants = args.rows // BREAKS
    Variant.objects.bulk_create([Variant(sku=f"BENCH-{n:07d}", product=product) for n in range(variants)],
                                batch_size=2000)
    workdir = Path(tempfile.mkdtemp())

    def write(name: str, cents: int) -> Path:
        path = workdir / name
        with path.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["variant", "market", "min_quantity", "unit_price"])
            for n in range(variants):
                for step in range(BREAKS):
                    out.writerow([f"BENCH-{n:07d}", "BENCH", step * 10, f"{20 - step}.{cents:02d}"])
        return path

    first, changed = write("new.csv", 0), write("changed.csv", 50)
    for step, path in (("new", first), ("unchanged", first), ("changed", changed)):
        started = time.perf_counter()
        with open(os.devnull, "w") as quiet:
            call_command("import", "prices", str(path), stdout=quiet)
        seconds = time.perf_counter() - started
        print(json.dumps({"database": connection.vendor, "step": step, "rows": args.rows,
                          "seconds": round(seconds, 2), "rows_per_s": round(args.rows / seconds)}), flush=True)
    assert PriceRow.objects.count() == args.rows, PriceRow.objects.count()


if __name__ == "__main__":
    main()
