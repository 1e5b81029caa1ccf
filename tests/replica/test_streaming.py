"""Against a real streaming standby of the test server (tests/replica/conftest.py):
reads that may go to a replica do, and nobody reads their own change back stale."""

import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clientbase.core import routing
from clientbase.customers.models import ApiToken, Contact, Grant, Role
from clientbase.customers.models.accounts import hash_token
from clientbase.customers.services.accounts import issue_token
from clientbase.customers.services.principals import USE_RECORDED_EVERY
from tests.conftest import make_account
from tests.pricing import conftest as pricing_fixtures
from tests.replica.conftest import wait_for_replay

catalog, price = pricing_fixtures.catalog, pricing_fixtures.price

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 50


def bearer(raw: str) -> Client:
    """A token client without cookies: each request as from a new connection."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def fresh_token(account) -> str:
    _, raw = issue_token(account, actor=None)
    # A token records its use at most once a minute (a write, though one that
    # pins nobody): recorded now, so its reads are the ones under test.
    ApiToken.objects.filter(account=account).update(last_used_at=timezone.now())
    # With the shared cache the once-a-minute mark is a key there: set it too.
    cache.add(f"token-used:{hash_token(raw)}", 1, timeout=USE_RECORDED_EVERY)
    return raw


def replica_selects(alias: str, call):
    with CaptureQueriesContext(connections[alias]) as queries:
        result = call()
    return result, [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))]


def health_report() -> str:
    """What the router knew of the replica (for a failure's message)."""
    now = time.monotonic()
    return (f"caught up {[(a, round(now - t, 2)) for a, t in routing.health._caught_up.items()]} s ago, "
            f"samples {[(round(now - t, 2), lsn) for t, lsn in routing.health._samples]}")


@pytest.fixture
def eu_contact(world):
    contact = Contact.objects.create(first_name="Erin", last_name="Eu", email="erin@example.com", key="ERIN")
    contact.organizations.set([world["EU-HQ"]])
    return contact


def test_the_replica_is_a_hot_standby_serving_the_test_database(streaming_replica):
    with connections[streaming_replica].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), current_database(), inet_server_port()")
        in_recovery, name, port = cursor.fetchone()
    assert in_recovery is True
    assert name == connections["default"].settings_dict["NAME"]
    assert port != int(connections["default"].settings_dict.get("PORT") or 5432)


def test_a_reader_that_did_not_write_is_served_by_the_standby(streaming_replica, eu_contact):
    # given an administrator who has not written, and the contact replicated
    admin = make_account("admin@example.com", Role.ADMINISTRATORS)
    raw = fresh_token(admin)
    wait_for_replay()
    # when it lists contacts
    response, selects = replica_selects(streaming_replica, lambda: bearer(raw).get("/api/v1/contacts"))
    # then the standby answered, with the replicated row
    assert response.status_code == 200
    assert [c["key"] for c in response.json()["items"]] == ["ERIN"]
    assert any("customers_contact" in sql for sql in selects), health_report()


def test_a_shopper_s_own_profile_change_is_never_read_back_stale(streaming_replica, world):
    # given a logged-in shopper in the storefront, and another shopper browsing
    shopper = make_account("pat@example.com", Role.REGISTERED,
                           contact=Contact.objects.create(first_name="Pat", last_name="Old",
                                                          email="pat@example.com"))
    browser = Client()
    browser.force_login(shopper)
    other = Client()
    other.force_login(make_account("sam@example.com", Role.REGISTERED,
                                   contact=Contact.objects.create(first_name="Sam", last_name="Else",
                                                                  email="sam@example.com")))
    wait_for_replay()
    served_by_standby = 0
    for round_ in range(ROUNDS):
        # when the shopper saves a new name and opens the page again at once
        saved = browser.post("/account/profile/", {"first_name": "Pat", "last_name": f"Name{round_}",
                                                   "phone": ""})
        assert saved.status_code == 302, saved.content
        page = browser.get("/account/profile/").content.decode()
        # then the page shows the new name, never the one before
        assert f'value="Name{round_}"' in page, f"round {round_}: stale profile"
        # while the other shopper's page is the standby's
        _, selects = replica_selects(streaming_replica, lambda: other.get("/account/profile/"))
        served_by_standby += bool(selects)
    assert served_by_standby == ROUNDS


def test_a_token_client_s_own_change_is_never_read_back_stale(streaming_replica, world, eu_contact):
    # given a CSR whose grant covers EU Headquarters, calling with a token and no cookies
    csr = make_account("csr@example.com", Role.CUSTOMER_SERVICE)
    Grant.objects.create(account=csr, organization=world["EU-HQ"], include_descendants=True, level="manage")
    raw = fresh_token(csr)
    url = f"/api/v1/contacts/{eu_contact.pk}"
    for round_ in range(ROUNDS):
        changed = bearer(raw).patch(url, {"last_name": f"Name{round_}"}, content_type="application/json")
        assert changed.status_code == 200, changed.content
        read = bearer(raw).get(url)
        assert read.json()["last_name"] == f"Name{round_}", f"round {round_}: stale contact"
    # the pin that did it is the account's key in the shared cache (Redis)
    assert cache.get(routing._pin_key(csr.pk)) is not None


def test_staff_who_change_a_price_resolve_the_new_one(streaming_replica, price):
    # given a catalog manager's token and a price everyone pays
    manager = make_account("catalog@example.com", Role.CATALOG_MANAGERS)
    raw = fresh_token(manager)
    row = price("TS-M", "20.00")
    resolve = {"sku": "TS-M", "market": "EU"}
    for round_ in range(ROUNDS):
        new_price = Decimal("20.00") + round_
        changed = bearer(raw).patch(f"/api/v1/prices/{row.pk}", {"unit_price": str(new_price)},
                                    content_type="application/json")
        assert changed.status_code == 200, changed.content
        resolved = bearer(raw).get("/api/v1/prices/resolve", resolve)
        assert resolved.status_code == 200, resolved.content
        assert Decimal(resolved.json()["unit_price"]) == new_price, f"round {round_}: stale price"
    # and another account, once the standby has replayed, gets the new price
    # too; with the shared cache (which replicas require) the price is filled
    # from the primary, never from the standby, so that a lagging standby
    # cannot store an old row under the new versions (core.caching)
    admin = make_account("admin@example.com", Role.ADMINISTRATORS)
    other = fresh_token(admin)
    wait_for_replay()
    resolved, selects = replica_selects(streaming_replica,
                                        lambda: bearer(other).get("/api/v1/prices/resolve", resolve))
    assert Decimal(resolved.json()["unit_price"]) == Decimal("20.00") + ROUNDS - 1
    assert not any("pricing_pricerow" in sql for sql in selects), selects
