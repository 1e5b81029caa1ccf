"""The read-replica router's rules, against a mirror of the test database
(a second connection, no lag): which alias each read goes to."""

import os
import subprocess
import sys

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connections, router, transaction
from django.test import Client
from django.utils import timezone
from django.test.utils import CaptureQueriesContext, override_settings

from clientbase.core import routing
from clientbase.customers.models import Account, ApiToken, Contact, Grant, Role
from clientbase.customers.services.accounts import issue_token
from clientbase.pricing.models import PriceRow
from clientbase.settings import replica_databases
from tests.conftest import make_account
from tests.replica.conftest import _free_port as free_port, database_alias

# The mirror sees committed data only: tests that touch the database run
# outside a test transaction (mirror_replica asks for that); the rules that
# read no database (is_write, the settings) need none.
TRANSACTIONAL = pytest.mark.django_db(transaction=True)


def contact_reads(alias: str, queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].lstrip().upper().startswith("SELECT") and "customers_contact" in q["sql"]]


@pytest.fixture
def staff(world):
    """A CSR's account and contact in EU Headquarters, and an API token of the account."""
    csr = make_account("csr@example.com", Role.CUSTOMER_SERVICE)
    Grant.objects.create(account=csr, organization=world["EU-HQ"], include_descendants=True, level="manage")
    contact = Contact.objects.create(first_name="Erin", last_name="Eu", email="erin@example.com", key="ERIN")
    contact.organizations.set([world["EU-HQ"]])
    _, raw = issue_token(csr, actor=None)
    # A token records its use at most once a minute (a write, though one that
    # pins nobody): used once, its next reads are the ones under test.
    ApiToken.objects.update(last_used_at=timezone.now())
    return {"account": csr, "contact": contact, "token": raw}


def read_through(alias: str, call):
    """Run `call`; answers (its result, contact reads on the replica, contact reads on the primary)."""
    with CaptureQueriesContext(connections[alias]) as on_replica, \
            CaptureQueriesContext(connections["default"]) as on_primary:
        result = call()
    return result, contact_reads(alias, on_replica), contact_reads("default", on_primary)


def token_client(raw: str) -> Client:
    """A client without cookies, as an integration calling with a token is."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@TRANSACTIONAL
def test_without_replicas_every_read_goes_to_the_primary(db, rf):
    with routing.read_scope(rf.get("/")):
        assert router.db_for_read(Contact) == "default"


def test_reads_outside_a_request_go_to_the_primary(mirror_replica):
    assert router.db_for_read(Contact) == "default"


def test_a_request_s_reads_go_to_the_replica(mirror_replica, staff):
    response, on_replica, on_primary = read_through(
        mirror_replica, lambda: token_client(staff["token"]).get("/api/v1/contacts"))
    assert response.status_code == 200
    assert [c["key"] for c in response.json()["items"]] == ["ERIN"]
    assert on_replica and not on_primary


def test_who_the_caller_is_is_read_on_the_primary(mirror_replica, rf):
    with routing.read_scope(rf.get("/")):
        for model in (Session, Account, Account.groups.through):
            assert router.db_for_read(model) == "default"
        assert router.db_for_read(Contact) == mirror_replica


def test_reads_after_a_write_in_the_same_request_go_to_the_primary(mirror_replica, rf):
    with routing.read_scope(rf.get("/")) as scope:
        assert router.db_for_read(Contact) == mirror_replica
        Contact.objects.create(first_name="New", last_name="One", email="new@example.com")
        assert scope.wrote
        assert router.db_for_read(Contact) == "default"


def test_reads_inside_a_transaction_go_to_the_primary(mirror_replica, rf):
    with routing.read_scope(rf.get("/")):
        with transaction.atomic():
            assert router.db_for_read(Contact) == "default"
        assert router.db_for_read(Contact) == mirror_replica


def test_select_for_update_never_runs_on_a_replica(mirror_replica, rf, world):
    with routing.read_scope(rf.get("/")):
        assert Contact.objects.select_for_update().db == "default"
        assert Contact.objects.all().db == mirror_replica


def test_code_can_ask_for_primary_reads(mirror_replica, rf):
    with routing.read_scope(rf.get("/")):
        with routing.primary_reads():
            assert router.db_for_read(PriceRow) == "default"
        assert router.db_for_read(PriceRow) == mirror_replica


def test_a_token_client_that_wrote_reads_the_primary_in_its_next_requests(mirror_replica, staff):
    # given the CSR changes a contact through the API, with a token and no cookies
    contact = staff["contact"]
    changed = token_client(staff["token"]).patch(f"/api/v1/contacts/{contact.pk}", {"first_name": "Erika"},
                                                 content_type="application/json")
    assert changed.status_code == 200, changed.content
    # when it reads again, from a new client (another connection, another app server)
    response, on_replica, on_primary = read_through(
        mirror_replica, lambda: token_client(staff["token"]).get(f"/api/v1/contacts/{contact.pk}"))
    # then the read was the primary's
    assert response.json()["first_name"] == "Erika"
    assert on_primary and not on_replica
    # and another account's reads still go to the replica
    admin = make_account("admin@example.com", Role.ADMINISTRATORS)
    other = Client()
    other.force_login(admin)
    response, on_replica, on_primary = read_through(mirror_replica, lambda: other.get("/api/v1/contacts"))
    assert response.status_code == 200 and on_replica and not on_primary


def test_the_pin_ends_with_its_window(mirror_replica, staff):
    contact = staff["contact"]
    token_client(staff["token"]).patch(f"/api/v1/contacts/{contact.pk}", {"first_name": "Erika"},
                                       content_type="application/json")
    # the cache entry's expiry is the window's end
    cache.delete(routing._pin_key(staff["account"].pk))
    _, on_replica, on_primary = read_through(
        mirror_replica, lambda: token_client(staff["token"]).get(f"/api/v1/contacts/{contact.pk}"))
    assert on_replica and not on_primary


def test_recording_a_tokens_use_does_not_pin_its_client(mirror_replica, staff):
    # given a token whose use is due to be recorded
    ApiToken.objects.update(last_used_at=None)
    # when it reads
    client = token_client(staff["token"])
    response, on_replica, on_primary = read_through(mirror_replica, lambda: client.get("/api/v1/contacts"))
    # then its use is recorded, and its reads (this request's, the next's) still go to the replica
    assert response.status_code == 200 and ApiToken.objects.get().last_used_at is not None
    assert on_replica and not on_primary
    assert routing.PIN_COOKIE not in response.cookies
    assert cache.get(routing._pin_key(staff["account"].pk)) is None


def test_bookkeeping_writes_leave_the_request_unwritten(mirror_replica, rf, staff):
    with routing.read_scope(rf.get("/")) as scope:
        with routing.bookkeeping_writes():
            ApiToken.objects.update(last_used_at=timezone.now())
        assert not scope.wrote and router.db_for_read(Contact) == mirror_replica
        Contact.objects.update(first_name="Erika")
        assert scope.wrote and router.db_for_read(Contact) == "default"


@pytest.fixture
def shopper(world):
    account = make_account("pat@example.com", Role.REGISTERED,
                           contact=Contact.objects.create(first_name="Pat", last_name="Old",
                                                          email="pat@example.com"))
    browser = Client()
    browser.force_login(account)
    return {"account": account, "browser": browser}


def test_a_shopper_who_saves_the_profile_reads_it_from_the_primary_next(mirror_replica, shopper):
    browser = shopper["browser"]
    saved = browser.post("/account/profile/", {"first_name": "Pat", "last_name": "New", "phone": ""})
    assert saved.status_code == 302, saved.content
    page, on_replica, on_primary = read_through(mirror_replica, lambda: browser.get("/account/profile/"))
    assert 'value="New"' in page.content.decode()
    assert on_primary and not on_replica


def test_a_browser_that_wrote_is_pinned_by_its_signed_cookie_too(mirror_replica, shopper):
    # given a shopper that saved the profile: the response carries the pin cookie
    browser = shopper["browser"]
    saved = browser.post("/account/profile/", {"first_name": "Pat", "last_name": "New", "phone": ""})
    assert routing.PIN_COOKIE in saved.cookies
    # when the account's pin is gone (e.g. another cache), the cookie still pins the browser
    cache.delete(routing._pin_key(shopper["account"].pk))
    _, on_replica, on_primary = read_through(mirror_replica, lambda: browser.get("/account/profile/"))
    assert on_primary and not on_replica
    # and a forged cookie pins nothing
    browser.cookies[routing.PIN_COOKIE] = "1"
    _, on_replica, on_primary = read_through(mirror_replica, lambda: browser.get("/account/profile/"))
    assert on_replica and not on_primary


def test_migrations_run_on_the_primary_only(mirror_replica):
    assert router.allow_migrate("default", "customers")
    assert not router.allow_migrate(mirror_replica, "customers")


@pytest.mark.parametrize(("sql", "writes"), [
    ("SELECT 1", False),
    ("  select * from customers_contact", False),
    ('SELECT "x" FROM "t" WHERE id = 1 FOR UPDATE', True),
    ('SELECT "x" FROM "t" FOR NO KEY UPDATE', True),
    ('SAVEPOINT "s1"', False),
    ('RELEASE SAVEPOINT "s1"', False),
    ('INSERT INTO "t" VALUES (1)', True),
    ('UPDATE "t" SET x = 1', True),
    ('DELETE FROM "t"', True),
    ("WITH moved AS (UPDATE t SET x = 1 RETURNING id) SELECT * FROM moved", True),
    ('WITH wanted AS (SELECT id, updated_at FROM "v") SELECT * FROM wanted', False),
    ("WITH w AS (SELECT id FROM t) SELECT * FROM w FOR UPDATE", True),
    ("TRUNCATE t", True),
])
def test_what_counts_as_a_write(sql, writes):
    assert routing.is_write(sql) is writes


def test_a_replica_that_does_not_answer_is_skipped(transactional_db, rf):
    if connections["default"].vendor != "postgresql":
        pytest.skip("the lag check reads PostgreSQL's WAL positions")
    closed_port = {**connections["default"].settings_dict, "PORT": str(free_port()), "TEST": {"MIRROR": "default"}}
    with database_alias("replica_1", closed_port), routing.read_scope(rf.get("/")):
        assert router.db_for_read(Contact) == "default"


def test_replica_urls_become_mirror_aliases():
    primary = {"ENGINE": "django.db.backends.postgresql", "NAME": "shop", "CONN_MAX_AGE": 60}
    replicas = replica_databases(" postgres://u@db-r1:5432/shop, postgres://u@db-r2/shop ,", primary)
    assert list(replicas) == ["replica_1", "replica_2"]
    assert replicas["replica_2"]["HOST"] == "db-r2"
    assert all(r["TEST"] == {"MIRROR": "default"} and r["CONN_MAX_AGE"] == 60 for r in replicas.values())


def test_replicas_of_the_embedded_database_are_refused():
    from django.core.exceptions import ImproperlyConfigured
    with pytest.raises(ImproperlyConfigured, match="PostgreSQL"):
        replica_databases("sqlite:////tmp/copy.sqlite3", {"ENGINE": "django.db.backends.sqlite3"})


def test_replicas_without_a_shared_cache_are_refused():
    env = {**os.environ, "DATABASE_URL": "postgres://u@db/shop", "DATABASE_REPLICA_URLS": "postgres://u@r1/shop",
           "SECRET_KEY": "x"}
    env.pop("CACHE_URL", None)
    run = subprocess.run([sys.executable, "-c", "import clientbase.settings"], env=env, capture_output=True,
                         text=True)
    assert run.returncode != 0
    assert "DATABASE_REPLICA_URLS needs CACHE_URL" in run.stderr
    env["CACHE_URL"] = "redis://127.0.0.1:6379/10"
    assert subprocess.run([sys.executable, "-c", "import clientbase.settings"], env=env).returncode == 0


@TRANSACTIONAL
@override_settings(DATABASE_REPLICAS=[])
def test_the_middleware_sets_no_pin_without_replicas(staff):
    changed = Client(HTTP_AUTHORIZATION=f"Bearer {staff['token']}").patch(
        f"/api/v1/contacts/{staff['contact'].pk}", {"first_name": "Erika"}, content_type="application/json")
    assert changed.status_code == 200
    assert routing.PIN_COOKIE not in changed.cookies
    assert cache.get(routing._pin_key(staff["account"].pk)) is None
