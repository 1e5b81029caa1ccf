"""`python -m bench.price_batch`: CPU rows/s of `upsert_price_rows` alone, 2 x 1,000 new rows
and 2 x 1,000 changed prices, best of three, rolled back; on a database that
`python -m bench.price_import` has filled (its BENCH variants). Run it with
PYTHONPATH pointing at two checkouts to compare them."""
import os, time, django, json
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientbase.settings")
django.setup()
from decimal import Decimal
from django.db import transaction, connection
from clientbase.pricing.batches import PriceRowInput, upsert_price_rows
rates = {}
for step in ("new", "changed"):
    best = None
    for attempt in range(3):
        inputs=[PriceRowInput(variant=f"BENCH-{n//10:07d}", product=None, market="BENCH", unit_price=Decimal("3.33"),
                min_quantity=Decimal(n%10*10 + (5 if step == "new" else 0))) for n in range(2000)]
        with transaction.atomic():
            c0, w0 = time.process_time(), time.perf_counter()
            out = upsert_price_rows(inputs[:1000], actor=None); out += upsert_price_rows(inputs[1000:], actor=None)
            c1, w1 = time.process_time(), time.perf_counter()
            transaction.set_rollback(True)
        assert all(o.status.value == ("created" if step == "new" else "updated") for o in out), out[:3]
        best = min(best or 1e9, c1 - c0)
    rates[step] = round(2000 / best)
print(json.dumps({"db": connection.vendor, "cpu_rows_per_s": rates}))
