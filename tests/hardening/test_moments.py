"""Issue 8, finding 6: `GET /prices/explain?at=2026-06-01T12:00:00` (a moment
without a zone) was a 500 when a row had a validity window: a naive moment
compared with the row's aware bounds. A moment without a zone is read as UTC,
as a token's `expires_at` already is, wherever the API takes one."""

from datetime import datetime, timezone

import pytest

from tests.pricing.conftest import catalog, price  # noqa: F401  (fixtures)

JUNE = datetime(2026, 6, 1, tzinfo=timezone.utc)
JULY = datetime(2026, 7, 1, tzinfo=timezone.utc)


@pytest.fixture
def summer_sale(catalog, price):
    price("TS-M", "20.00")
    return price("TS-M", "15.00", valid_from=JUNE, valid_until=JULY)


@pytest.mark.parametrize(("at", "expected"), [
    ("2026-06-01T12:00:00", "15.00"),      # no zone: UTC, inside the window
    ("2026-06-01T00:00:00", "15.00"),      # its first moment, in UTC
    ("2026-05-31T23:30:00", "20.00"),      # half an hour before, in UTC
    ("2026-06-01T01:30:00+02:00", "20.00"),  # a zone still counts: 23:30 UTC the day before
    ("2026-07-01T00:00:00", "20.00"),      # valid_until is excluded
])
def test_explain_reads_a_moment_without_a_zone_as_utc(admin_api, summer_sale, at, expected):
    response = admin_api.get("/prices/explain", sku="TS-M", market="EU", at=at)
    assert response.status_code == 200, response.content
    assert response.json()["unit_price"] == expected


@pytest.mark.parametrize(("at", "expected"), [
    ("2026-06-01T12:00:00", "15.00"),
    ("2026-05-31T23:30:00", "20.00"),
])
def test_resolve_reads_a_moment_without_a_zone_as_utc(admin_api, summer_sale, at, expected):
    response = admin_api.get("/prices/resolve", sku="TS-M", market="EU", at=at)
    assert response.status_code == 200, response.content
    assert response.json()["unit_price"] == expected
    batch = admin_api.post("/prices/resolve", {"skus": ["TS-M"], "market": "EU", "at": at})
    assert batch.status_code == 200, batch.content
    assert batch.json()["items"][0]["unit_price"] == expected


def test_a_price_row_with_one_bound_without_a_zone_is_read_as_utc(admin_api, catalog):
    # one bound with a zone, one without: compared, not a 500
    response = admin_api.post("/prices", {
        "variant": "TS-S", "market": "EU", "currency": "EUR", "unit_price": "9.00",
        "valid_from": "2026-06-01T00:00:00", "valid_until": "2026-07-01T00:00:00Z"})
    assert response.status_code == 201, response.content
    assert response.json()["valid_from"].startswith("2026-06-01T00:00:00")
    refused = admin_api.post("/prices", {
        "variant": "TS-S", "market": "EU", "currency": "EUR", "unit_price": "9.00",
        "valid_from": "2026-06-01T00:00:00", "valid_until": "2026-06-01T00:00:00Z"})
    assert refused.status_code == 422, refused.content
    assert [e["field"] for e in refused.json()["errors"]] == ["valid_until"]
