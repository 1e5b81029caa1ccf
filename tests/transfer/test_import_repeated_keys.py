"""A key on two rows of one file: the later row fails, whether both rows
fall in one batch or in two (a file is written in batches of 1,000), in a
real run and in a dry run alike."""

import pytest

from clientbase.customers.models import Contact
from clientbase.transfer.imports import BATCH_SIZE
from tests.transfer.conftest import write_csv

HEADER = ["key", "first_name", "email", "organizations"]


def person(i: int, first_name: str = "Ann", email: str | None = None) -> list[str]:
    return [f"K-{i}", first_name, email or f"k{i}@example.com", "EU-HQ"]


def big_file(tmp_path, *later_rows, first: list[str] | None = None) -> str:
    rows = [first or person(0)] + [person(i) for i in range(1, BATCH_SIZE)] + list(later_rows)
    return str(write_csv(tmp_path / "contacts.csv", [HEADER, *rows]))


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_key_repeated_in_a_later_batch_fails_the_later_row(world, tmp_path, run, dry_run):
    path = big_file(tmp_path, person(BATCH_SIZE), person(5, first_name="Again"))  # rows 1002 and 1003

    out, error = run("import", "contacts", path, *(["--dry-run"] if dry_run else []))

    assert f"{BATCH_SIZE + 1} created, 0 updated, 0 unchanged, 1 failed" in out
    assert f"row {BATCH_SIZE + 3}, key: The key 'K-5' is on an earlier row too." in out
    if dry_run:
        assert not Contact.objects.exists()
    else:
        assert Contact.objects.count() == BATCH_SIZE + 1
        assert Contact.objects.get(key="K-5").first_name == "Ann"


def test_a_key_whose_first_row_failed_may_come_again_in_a_later_batch(world, tmp_path, run):
    path = big_file(tmp_path, person(0, first_name="Fixed"), first=person(0, email="not-an-email"))

    out, error = run("import", "contacts", path)

    assert f"{BATCH_SIZE} created, 0 updated, 0 unchanged, 1 failed" in out
    assert "row 2, email" in out
    assert Contact.objects.get(key="K-0").first_name == "Fixed"


def test_the_keys_written_are_remembered_past_a_merge_into_the_sorted_array(monkeypatch):
    from clientbase.transfer.contacts import SeenKeys

    monkeypatch.setattr(SeenKeys, "MERGE_AT", 3)
    seen = SeenKeys()
    for start in range(0, 10, 2):
        seen.update([f"K-{start}", f"K-{start + 1}"])
    assert all(f"K-{i}" in seen for i in range(10))
    assert not any(f"K-{i}" in seen for i in range(10, 20))
    assert len(seen._sorted) >= 8  # most of them merged
