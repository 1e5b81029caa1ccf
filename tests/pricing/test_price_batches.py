"""The bulk price-row writes (`create_price_rows`, `update_price_rows`, used
by the import) refuse exactly what the single writes refuse, with the same
code and message, and write what they accept with a version and a history
record each."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientbase.core.errors import DomainError
from clientbase.customers.models import Contact, Grant
from clientbase.pricing.models import PriceRow
from clientbase.pricing.services import (
    create_price_row, create_price_rows, update_price_row, update_price_rows,
)
from tests.conftest import make_account

JAN, FEB = datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 2, 1, tzinfo=timezone.utc)

# name → the fields of a bad new row (on TS-M in EU, for everyone, unless said)
BAD_ROWS = {
    "variant and product": {"product": "TSHIRT"},
    "neither variant nor product": {"variant": None},
    "a currency the market does not sell": {"currency": "USD"},
    "a negative price": {"unit_price": Decimal("-1")},
    "no price": {"unit_price": None},
    "too many decimals": {"unit_price": Decimal("1.001")},
    "a negative minimum quantity": {"min_quantity": Decimal("-1")},
    "validity not ordered": {"valid_from": FEB, "valid_until": JAN},
    "an unknown sale type": {"sale_type": "wholesale"},
    "a sale code for everyone": {"sale_code": "GOLD"},
    "a group price without a code": {"sale_type": "customer_group"},
    "an unknown group": {"sale_type": "customer_group", "sale_code": "PLATINUM"},
    "an unknown contact": {"sale_type": "customer", "sale_code": "NOBODY"},
    "a contact the actor does not see": {"sale_type": "customer", "sale_code": "SAM"},
    "several faults at once": {"currency": "USD", "min_quantity": Decimal("-1"), "sale_type": "customer"},
}


@pytest.fixture
def csr_pricing(catalog, world):
    """A pricing manager who sees EU Headquarters only, and a customer of each side."""
    Contact.objects.create(key="EVE").organizations.set([world["EU-MGMT"]])
    Contact.objects.create(key="SAM").organizations.set([world["US-SALES"]])
    account = make_account("pricing@example.com")
    account.user_permissions.add(*_permissions("add_pricerow", "change_pricerow", "view_pricerow",
                                                "view_contact"))
    Grant.objects.create(account=account, organization=world["EU-HQ"], include_descendants=True, level="view")
    return account


def _permissions(*codenames):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(codename__in=codenames)


def new_row(catalog, **fields) -> PriceRow:
    values = {"variant": catalog["TS-M"], "product": None, "market": catalog["EU"], "currency": "",
              "sale_type": "all_customers", "sale_code": "", "min_quantity": Decimal(0),
              "unit_price": Decimal("10"), **fields}
    if values["product"] == "TSHIRT":
        values["product"] = catalog["TSHIRT"]
    return PriceRow(**values)


def refusal(error: DomainError) -> tuple:
    return type(error), error.code, error.detail, [(e.field, e.message, e.code) for e in error.errors]


@pytest.mark.parametrize("fields", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_a_bad_new_row_is_refused_alike_one_by_one_and_in_bulk(catalog, csr_pricing, fields):
    with pytest.raises(DomainError) as single:
        create_price_row(new_row(catalog, **fields), actor=csr_pricing)
    [bulk] = create_price_rows([new_row(catalog, **fields)], actor=csr_pricing)
    assert bulk is not None and refusal(bulk) == refusal(single.value)
    assert not PriceRow.objects.exists() and not PriceRow.history.exists()


@pytest.mark.parametrize("fields", [f for f in BAD_ROWS.values() if "variant" not in f and "product" not in f],
                         ids=[k for k, f in BAD_ROWS.items() if "variant" not in f and "product" not in f])
def test_a_bad_change_is_refused_alike_one_by_one_and_in_bulk(catalog, csr_pricing, fields):
    row = create_price_row(new_row(catalog), actor=None)
    with pytest.raises(DomainError) as single:
        update_price_row(row, changes=fields, actor=csr_pricing)
    [bulk] = update_price_rows([(row, fields)], actor=csr_pricing)
    assert bulk is not None and refusal(bulk) == refusal(single.value)
    row.refresh_from_db()
    assert (row.version, row.unit_price, row.history.count()) == (1, Decimal("10"), 1)


@pytest.mark.parametrize("codename, write", [("add_pricerow", "create"), ("change_pricerow", "update")])
def test_a_missing_permission_refuses_every_row_as_a_single_write_does(catalog, csr_pricing, codename, write):
    csr_pricing.user_permissions.remove(*_permissions(codename))
    csr_pricing = type(csr_pricing).objects.get(pk=csr_pricing.pk)  # without the permission cache
    existing = create_price_row(new_row(catalog, min_quantity=Decimal(5)), actor=None)
    with pytest.raises(DomainError) as single:
        if write == "create":
            create_price_row(new_row(catalog), actor=csr_pricing)
        else:
            update_price_row(existing, changes={"unit_price": Decimal(9)}, actor=csr_pricing)
    if write == "create":
        answers = create_price_rows([new_row(catalog), new_row(catalog, min_quantity=Decimal(2))],
                                    actor=csr_pricing)
    else:
        answers = update_price_rows([(existing, {"unit_price": Decimal(9)})], actor=csr_pricing)
    assert answers and all(refusal(a) == refusal(single.value) for a in answers)
    assert PriceRow.objects.count() == 1


def test_good_rows_are_written_with_a_version_and_a_history_record_each(catalog, csr_pricing):
    rows = [new_row(catalog, min_quantity=Decimal(q)) for q in (0, 10, 20)]
    rows.insert(1, new_row(catalog, unit_price=Decimal("-1")))
    rows.append(new_row(catalog, sale_type="customer", sale_code="eve".upper(), currency="eur",
                        valid_from=datetime(2026, 1, 1)))
    with CaptureQueriesContext(connection) as queries:
        answers = create_price_rows(rows, actor=csr_pricing)
    assert [a is None for a in answers] == [True, False, True, True, True]
    # then: normalised as a single write normalises, at version 1, each with a "+" record by the actor
    eve = PriceRow.objects.get(sale_code="EVE")
    assert (eve.currency, eve.valid_from, eve.version) == ("EUR", JAN, 1)
    records = PriceRow.history.all()
    assert len(records) == 4 and {(r.history_type, r.history_user_id) for r in records} == {("+", csr_pricing.pk)}
    assert len(queries) < 12  # not a query per row
    # when: two rows change
    first, second = PriceRow.objects.filter(sale_type="all_customers").order_by("min_quantity")[:2]
    answers = update_price_rows([(first, {"unit_price": Decimal("9.50")}), (second, {"unit_price": Decimal(8)})],
                                actor=csr_pricing)
    assert answers == [None, None]
    first.refresh_from_db()
    assert (first.unit_price, first.version) == (Decimal("9.50"), 2)
    assert [(r.history_type, r.unit_price) for r in first.history.order_by("history_date")] == [
        ("+", Decimal("10")), ("~", Decimal("9.50"))]


def test_a_row_deleted_since_it_was_read_is_not_found(catalog):
    row = create_price_row(new_row(catalog), actor=None)
    PriceRow.objects.filter(pk=row.pk).delete()
    [answer] = update_price_rows([(row, {"unit_price": Decimal(1)})], actor=None)
    assert answer.code == "not_found"
