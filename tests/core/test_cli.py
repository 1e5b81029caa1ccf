"""The entry points: `clientbase demo`, `clientbase serve`, `createsuperuser`."""

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.request

import pytest
from django.apps import apps
from django.core.management import call_command

from clientbase.customers import demo
from clientbase.customers.models import (
    Account,
    Contact,
    CustomerGroup,
    Grant,
    Organization,
    Role,
)

EU_KEYS = {"EU-HQ", "EU-MGMT"}


def counts() -> dict[str, int]:
    """The number of rows of every table (history and memberships included)."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models(include_auto_created=True)
    }


def parent_key(obj) -> str | None:
    return obj.parent.key if obj.parent_id else None


@pytest.fixture
def loaded(db, capsys):
    call_command("demo")
    return capsys.readouterr().out


def test_demo_builds_the_seeds_organization_tree(loaded):
    # then
    tree = {o.key: (o.name, parent_key(o)) for o in Organization.objects.all()}
    assert tree == {
        "ADMIN": ("Administration", None),
        "EU-HQ": ("EU Headquarters", "ADMIN"),
        "EU-MGMT": ("EU Management", "EU-HQ"),
        "US-HQ": ("US Headquarters", None),
        "US-SALES": ("US Sales", "US-HQ"),
    }
    assert Organization.objects.get(key="EU-MGMT").path.startswith(
        Organization.objects.get(key="ADMIN").path)


def test_demo_builds_the_customer_group_tree_and_puts_groups_on_organizations(loaded):
    groups = {g.key: (g.name, parent_key(g)) for g in CustomerGroup.objects.all()}
    assert groups == {
        "CUSTOMERS": ("Customers", None),
        "GOLD": ("Gold", "CUSTOMERS"),
        "SILVER": ("Silver", "CUSTOMERS"),
        "BRONZE": ("Bronze", "CUSTOMERS"),
    }
    on_orgs = {o.key: {g.key for g in o.customer_groups.all()} for o in Organization.objects.all()}
    assert on_orgs["EU-MGMT"] == {"GOLD"}
    assert sum(1 for keys in on_orgs.values() if keys) >= 2


def test_demo_spreads_about_thirty_valid_contacts_over_every_organization(loaded):
    contacts = list(Contact.objects.prefetch_related("organizations", "addresses"))
    assert len(contacts) == len(demo.CONTACTS) == 33
    for contact in contacts:
        contact.full_clean()  # names, @example.com e-mail, E.164 phone
        assert contact.email.endswith("@example.com")
        assert contact.addresses.count() == 1
    for org in Organization.objects.all():
        assert org.contacts.exists(), f"{org.key} has no contact"
    for group in CustomerGroup.objects.exclude(key="CUSTOMERS"):
        assert group.contacts.exists() or group.organizations.exists()


def test_demo_gives_some_contacts_a_registered_account(loaded):
    shoppers = Account.objects.filter(contact__isnull=False)
    assert shoppers.count() == sum(1 for c in demo.CONTACTS if c.has_account) > 0
    for account in shoppers:
        assert Role.REGISTERED in account.role_names
        assert account.email == account.contact.email


def test_demo_has_a_shopper_in_each_group_and_prints_their_login(loaded):
    for group_key, email in demo.GROUP_SHOPPERS.items():
        account = Account.objects.get(email=email)
        assert account.check_password(demo.SHOPPER_PASSWORD)
        assert account.contact.customer_groups.filter(key=group_key).exists()
        assert email in loaded
    assert demo.SHOPPER_PASSWORD in loaded


def test_demo_prints_a_gold_shoppers_price_next_to_an_anonymous_visitors(loaded):
    # The demo grid: 49.00 for all, 45.08 from 10, Gold pays 85 %.
    assert ("Hooded sweatshirt M in EU: anonymous visitors pay 49.00 EUR, from 10: 45.08; "
            "gold@example.com (Gold) pays 41.65 EUR") in loaded


def test_demo_prints_the_admin_login_and_the_login_works(loaded):
    assert f"{demo.ADMIN_EMAIL} / {demo.DEFAULT_ADMIN_PASSWORD}" in loaded
    admin = Account.objects.get(email=demo.ADMIN_EMAIL)
    assert admin.check_password(demo.DEFAULT_ADMIN_PASSWORD)
    assert admin.sees_everything and admin.is_staff


def test_demo_admin_password_comes_from_the_environment_when_set(db, monkeypatch, capsys):
    # given
    monkeypatch.setenv("CLIENTBASE_ADMIN_PASSWORD", "chosen-Pass-987")
    # when
    call_command("demo")
    # then
    assert "admin@example.com / chosen-Pass-987" in capsys.readouterr().out
    assert Account.objects.get(email=demo.ADMIN_EMAIL).check_password("chosen-Pass-987")


def test_loading_the_demo_twice_changes_nothing(loaded, capsys):
    # given
    before = counts()
    versions = {o.key: o.version for o in Organization.objects.all()}
    versions.update({c.key: c.version for c in Contact.objects.all()})
    # when
    call_command("demo")
    # then
    assert counts() == before
    assert {o.key: o.version for o in Organization.objects.all()} | {
        c.key: c.version for c in Contact.objects.all()} == versions
    assert "0 created, 0 updated" in capsys.readouterr().out


def test_loading_the_demo_again_restores_what_staff_changed(loaded):
    # given
    eu_mgmt = Organization.objects.get(key="EU-MGMT")
    Organization.objects.filter(pk=eu_mgmt.pk).update(name="Renamed")
    Contact.objects.get(key="C-0001").organizations.clear()
    # when
    call_command("demo")
    # then
    assert Organization.objects.get(key="EU-MGMT").name == "EU Management"
    assert [o.key for o in Contact.objects.get(key="C-0001").organizations.all()] == ["ADMIN"]
    assert Organization.objects.count() == 5 and Contact.objects.count() == len(demo.CONTACTS)


def test_demo_customer_service_account_sees_only_eu_headquarters_and_below(loaded):
    # given
    csr = Account.objects.get(email=demo.CSR_EMAIL)
    grant = Grant.objects.get(account=csr)
    # then
    assert (grant.organization.key, grant.level, grant.include_descendants) == (
        "EU-HQ", "manage", True)
    assert Role.CUSTOMER_SERVICE in csr.role_names
    assert {o.key for o in Organization.objects.visible_to(csr)} == EU_KEYS
    visible = set(Contact.objects.visible_to(csr).values_list("key", flat=True))
    expected = {c.key for c in demo.CONTACTS if EU_KEYS & set(c.organizations)}
    assert visible == expected
    assert 0 < len(visible) < Contact.objects.count()


def test_createsuperuser_noinput_reads_email_and_password_from_the_environment(db, monkeypatch):
    # given
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Boss@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "very-Secret-42")
    # when
    call_command("createsuperuser", interactive=False, verbosity=0)
    # then
    boss = Account.objects.get(email="boss@example.com")
    assert boss.check_password("very-Secret-42")
    assert boss.is_superuser and boss.is_staff
    assert {Role.EVERYONE, Role.ADMINISTRATORS} <= boss.role_names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """`clientbase serve --demo` in a subprocess on an empty SQLite home; yields
    its base URL, the process, its environment and what it printed."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "TEST_DATABASE_NAME", "STATIC_ROOT", "DEBUG"}}
    env["CLIENTBASE_HOME"] = str(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "clientbase.cli", "serve", "--port", str(port), "--workers", "1",
         "--demo"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)  # the process closed its output: it has ended

    threading.Thread(target=read, daemon=True).start()
    output = []
    try:
        # serve prints its URL once the socket is bound; wait for that line.
        while True:
            line = lines.get(timeout=180)
            assert line is not None, "serve ended before serving:\n" + "".join(output)
            output.append(line)
            if "Administrator:" in line:
                break
        yield f"http://127.0.0.1:{port}", proc, env, "".join(output)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def get(url: str, **headers):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as resp:
        return resp.status, resp.headers, resp.read()


def test_serve_runs_granian_with_static_files_through_whitenoise(server):
    # given
    base, proc, _, _ = server
    # when
    status, headers, body = get(f"{base}/api/v1/openapi.json")
    # then: the production server answers, not Django's development server
    assert status == 200 and body.startswith(b"{")
    assert headers["Server"] == "granian"
    # and the admin's static files come from whitenoise (its caching and CORS
    # headers; Django's own static view sends neither)
    status, headers, body = get(f"{base}/static/admin/css/base.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css") and body
    assert headers["Cache-Control"].startswith("max-age=")
    assert headers["Access-Control-Allow-Origin"] == "*"
    # and Ctrl-C stops it cleanly
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0


def test_serve_demo_prints_the_admin_login_and_serves_the_demo_data(server):
    # given
    base, _, env, printed = server
    assert f"http://127.0.0.1:{base.rsplit(':', 1)[1]}/" in printed
    assert f"{demo.ADMIN_EMAIL} / {demo.DEFAULT_ADMIN_PASSWORD}" in printed
    token = subprocess.run(
        [sys.executable, "-m", "clientbase.cli", "createtoken", demo.ADMIN_EMAIL],
        env=env, cwd=env["CLIENTBASE_HOME"], capture_output=True, text=True, check=True,
    ).stdout.strip()
    # when
    status, _, body = get(f"{base}/api/v1/organizations", Authorization=f"Bearer {token}")
    # then
    assert status == 200
    assert {item["key"] for item in json.loads(body)["items"]} == {
        "ADMIN", "EU-HQ", "EU-MGMT", "US-HQ", "US-SALES"}


def test_purge_deletes_expired_anonymous_carts_and_old_attempts(db, capsys, settings):
    # given: an expired anonymous cart, a fresh one, and an old and a new attempt
    from datetime import timedelta

    from django.utils import timezone

    from clientbase.catalog.models import Market
    from clientbase.customers.models import Attempt
    from clientbase.shopping.models import Cart
    from clientbase.shopping.services.carts import new_cart

    market = Market.objects.create(key="EU", name="Europe", currencies=["EUR"], default_currency="EUR")
    old, fresh = new_cart(market=market), new_cart(market=market)
    Cart.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=settings.CART_TTL_DAYS + 1))
    Attempt.objects.create(kind="register", client="10.0.0.1", at=timezone.now() - timedelta(days=2))
    Attempt.objects.create(kind="register", client="10.0.0.2", at=timezone.now())

    # when
    call_command("purge")

    # then
    assert "Deleted 1 expired anonymous cart(s) and 1 old attempt(s)." in capsys.readouterr().out
    assert list(Cart.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert Attempt.objects.count() == 1


def test_demo_has_the_marketing_of_issue_12(loaded):
    from decimal import Decimal

    from clientbase.catalog.models import Market
    from clientbase.marketing.models import Campaign, ContentSlot
    from clientbase.shopping.services import carts

    banner = ContentSlot.objects.get(key="home-banner")
    assert {v.visitor_group.key for v in banner.variants.all()} == {"FIRST-VISIT", "RETURNING"}
    assert Campaign.objects.get(key="GOLD-10").name == "Gold members: 10% off"
    assert Campaign.objects.get(key="WELCOME").promotions.get().coupon == "WELCOME5"
    # the Gold shopper's cart gets the campaign; the coupon is known
    gold = Account.objects.get(email=demo.GROUP_SHOPPERS["GOLD"])
    cart = carts.cart_for_account(gold, market=Market.objects.get(key="EU"))
    carts.add_line(cart, "HOODIE-M", 1)
    quote = carts.priced(cart)
    assert quote.order_promotions == ["Gold members: 10% off (10% off)"]
    assert quote.total == (quote.subtotal * Decimal("0.9")).quantize(Decimal("0.01"))
    assert carts.clean_coupon("welcome5") == "WELCOME5"
