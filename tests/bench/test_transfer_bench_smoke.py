"""The import benchmark at a tiny scale: its raw load puts the same rows into
the same tables as the import does, and its clean-up removes what either
wrote. No timing is asserted."""

from bench import transfer_import as bench
from clientbase.customers.models import Contact

FIELDS = ("key", "first_name", "last_name", "email", "phone", "birth_date", "preferred_language",
          "preferred_currency", "source", "search_first_name", "search_last_name")


def loaded() -> dict:
    return {c.key: ({name: getattr(c, name) for name in FIELDS},
                    {o.key for o in c.organizations.all()}, {g.key for g in c.customer_groups.all()})
            for c in Contact.objects.prefetch_related("organizations", "customer_groups")}


def test_the_raw_load_writes_what_the_import_writes(world, tmp_path):
    path = tmp_path / "contacts.csv"
    bench.generate(path, 30)

    assert bench.raw_load(path) == 30
    raw = loaded()
    bench.remove_bench_rows()
    assert not Contact.objects.exists()
    summary = bench.import_file(path)

    assert "30 created" in summary and "0 failed" in summary
    assert loaded() == raw and len(raw) == 30
    assert Contact.history.filter(key__startswith=bench.PREFIX).count() == 30
    bench.remove_bench_rows()
    assert not Contact.objects.exists() and not Contact.history.exists()


def test_the_report_shows_best_and_median_the_ratio_and_the_cpu_rates():
    result = {"database": "sqlite 3", "rows": 1000, "raw": [10_000.0, 8_000.0, 9_000.0], "create": [3_000.0, 2_000.0],
              "unchanged": 5_000.0, "update": 2_500.0, "peak_rss_mb": 90.0,
              "raw_cpu": [20_000.0, 18_000.0, 19_000.0], "create_cpu": [6_000.0, 5_000.0]}
    table = bench.report([result], repeat=3)
    assert "| sqlite 3 | 1,000 | 10,000 / 9,000 | 3,000 / 2,500 | 0.30× | 20,000 / 6,000 | 5,000 | 2,500 | 90 MB |" in table
