"""Bulk writes send no post_save but core.batches.rows_written, on which the
domains move the cache's versions (customers.signals, pricing.signals): what
imports of prices, contacts and memberships (and the back office's bulk
actions, through the same writers) change shows at once. One test per
writer: pricing's create_price_rows and update_price_rows, customers'
contact batches and membership batches, and tokens written in bulk (the
GDPR erasure's)."""

import pytest
from django.db import transaction
from django.utils import timezone

from clientbase.core import caching
from clientbase.core.batches import update_rows
from clientbase.customers.cache_names import token_version
from clientbase.customers.models import ApiToken, Contact, Role
from clientbase.customers.services.accounts import issue_token
from clientbase.customers.services.contacts import create_contact
from clientbase.pricing.models import PriceRow
from clientbase.pricing.services import update_price_rows
from clientbase.transfer.gdpr import erase_contact
from tests.cache.conftest import bearer
from tests.cache.test_lookups import gold_prices, unit_price  # noqa: F401  (fixture)
from tests.conftest import make_account
from tests.transfer.conftest import run, write_csv  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

PRICE_HEADER = ["variant", "product", "market", "currency", "sale_type", "sale_code", "min_quantity",
                "unit_price", "valid_from", "valid_until"]


def test_imported_price_rows_show_at_once(redis_cache, accounts, token_of, gold_prices, contact_in, run,
                                           tmp_path):
    # given a Gold contact's price, resolved (and cached) twice
    contact_in(key="BUYER", groups=["GOLD"])
    admin = token_of("admin")
    assert unit_price(admin, "BUYER") == unit_price(admin, "BUYER") == "15.00"
    # when an import changes the Gold row
    changed = write_csv(tmp_path / "changed.csv", [
        PRICE_HEADER, ["TS-M", "", "EU", "EUR", "customer_group", "GOLD", "0", "14.00", "", ""]])
    out, error = run("import", "prices", str(changed))
    assert error is None and "1 updated" in out
    # then
    assert unit_price(admin, "BUYER") == "14.00"
    # when an import adds a cheaper row for the contact alone
    added = write_csv(tmp_path / "added.csv", [
        PRICE_HEADER, ["TS-M", "", "EU", "EUR", "customer", "BUYER", "0", "9.00", "", ""]])
    out, error = run("import", "prices", str(added))
    assert error is None and "1 created" in out
    # then
    assert unit_price(admin, "BUYER") == "9.00"


def test_imported_memberships_show_at_once(redis_cache, accounts, token_of, gold_prices, contact_in, run,
                                            tmp_path):
    contact_in(key="BUYER")
    admin = token_of("admin")
    assert unit_price(admin, "BUYER") == unit_price(admin, "BUYER") == "20.00"
    # when an import puts the contact in Gold
    joins = write_csv(tmp_path / "joins.csv", [
        ["contact", "organization", "customer_group", "action"], ["BUYER", "", "GOLD", "add"]])
    out, error = run("import", "memberships", str(joins))
    assert error is None and "1 created" in out, out
    # then
    assert Contact.objects.get(key="BUYER").customer_groups.filter(key="GOLD").exists()
    assert unit_price(admin, "BUYER") == "15.00"


def test_imported_contacts_groups_show_at_once(redis_cache, accounts, token_of, gold_prices, contact_in, run,
                                               tmp_path):
    # given a contact's price, resolved (and cached) twice
    contact_in(key="BUYER")
    admin = token_of("admin")
    assert unit_price(admin, "BUYER") == unit_price(admin, "BUYER") == "20.00"
    # when a contact import puts the contact in Gold (customers.services.contact_batches)
    contacts = write_csv(tmp_path / "contacts.csv", [["key", "customer_groups"], ["BUYER", "GOLD"]])
    out, error = run("import", "contacts", str(contacts))
    assert error is None and "1 updated" in out, out
    # then
    assert unit_price(admin, "BUYER") == "15.00"


def test_a_price_row_moved_in_bulk_leaves_its_old_sku_at_once(redis_cache, accounts, token_of, gold_prices,
                                                              price, contact_in):
    # given the Gold price of TS-M and the price of TS-S, each resolved (and cached) twice
    price("TS-S", "25.00")
    contact_in(key="BUYER", groups=["GOLD"])
    admin = token_of("admin")
    assert unit_price(admin, "BUYER") == unit_price(admin, "BUYER") == "15.00"
    assert unit_price(admin, "BUYER", "TS-S") == unit_price(admin, "BUYER", "TS-S") == "25.00"
    # when a batch update moves the Gold row to TS-S
    row = PriceRow.objects.get(sale_code="GOLD")
    assert update_price_rows([(row, {"variant": gold_prices["TS-S"]})], actor=None) == [None]
    # then both SKUs' answers change: where it priced before, and where it prices now
    assert unit_price(admin, "BUYER") == "20.00"
    assert unit_price(admin, "BUYER", "TS-S") == "15.00"


def test_tokens_revoked_in_bulk_answer_401_at_once(redis_cache, accounts):
    # given a token whose account and answer are cached by two calls
    token, raw = issue_token(accounts["csr"], actor=None)
    api = bearer(raw)
    assert api.get("/organizations").status_code == api.get("/organizations").status_code == 200
    # when a batch writer revokes it (no save(), no post_save)
    token.revoked_at = timezone.now()
    with transaction.atomic():
        update_rows([token], ["revoked_at"])
    # then it is refused at once, though its account is unchanged
    assert api.get("/organizations").status_code == 401


def test_an_erased_customers_token_answers_401_at_once(redis_cache, accounts):
    # given a customer's token, cached by two calls
    contact = create_contact(actor=None, fields={"first_name": "Erna", "last_name": "Erased",
                                                 "email": "erna@example.com"})
    customer = make_account("erna@example.com", Role.REGISTERED, contact=contact)
    token, raw = issue_token(customer, actor=None, name="Erna's phone")
    api = bearer(raw)
    assert api.get("/me").status_code == api.get("/me").status_code == 200
    before = caching.versions([token_version(token.token_hash)])
    # when the customer is erased
    erasure = erase_contact(Contact.objects.get(pk=contact.pk), actor=accounts["admin"])
    # then the token is refused at once, and its own cache entry is out of date
    assert erasure.tokens_revoked == 1
    assert api.get("/me").status_code == 401
    assert caching.versions([token_version(token.token_hash)]) != before
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
