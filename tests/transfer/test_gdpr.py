"""GDPR export and erasure (issue 11, item 5): the service in transfer/gdpr.py
and the `clientbase gdpr` command."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from clientbase.core.errors import Conflict, Forbidden, NotFound
from clientbase.customers.models import Account, ApiToken, Contact, Grant, Role
from clientbase.shopping.models import Cart, Order
from clientbase.transfer import gdpr
from clientbase.transfer.exports import contact_rows
from tests.conftest import make_account
from tests.transfer.gdpr_world import (
    BIRTH, CITY, EMAIL, FIRST, LAST, OLD_EMAIL, PHONE, STREET, catalog, old_values_anywhere, subject,
)

__all__ = ["catalog", "subject"]  # fixtures


def _grant(account: Account, *perms: str) -> Account:
    for perm in perms:
        app_label, codename = perm.split(".")
        account.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return Account.objects.get(pk=account.pk)  # a fresh permission cache


# --- the export -------------------------------------------------------------------------

def test_the_export_holds_every_part(subject, accounts):
    # when
    data = gdpr.personal_data(subject["contact"], actor=accounts["admin"])

    # then
    assert json.loads(json.dumps(data)) == data  # plain JSON
    contact = data["contact"]
    assert (contact["first_name"], contact["last_name"], contact["email"], contact["phone"],
            contact["birth_date"], contact["key"]) == (FIRST, LAST, EMAIL, PHONE, BIRTH.isoformat(), "C-4711")
    assert [a["line1"] for a in data["addresses"]] == [STREET]
    assert data["organizations"] == [{"key": "EU-MGMT", "name": "EU Management"}]
    assert data["customer_groups"] == [{"key": "GOLD", "name": "Gold"}]
    assert data["account"]["email"] == EMAIL and data["account"]["roles"] == [Role.EVERYONE, Role.REGISTERED]
    assert "password" not in json.dumps(data["account"])
    assert [t["name"] for t in data["api_tokens"]] == ["Anneliese's laptop"]
    assert "token_hash" not in data["api_tokens"][0]
    assert [r["ip_address"] for r in data["login_records"]] == ["192.0.2.77"]
    assert [(line["sku"], line["quantity"]) for c in data["carts"] for line in c["lines"]] == [("TS-M", 2)]
    orders = {o["number"]: o for o in data["orders"]}
    assert set(orders) == {subject["order"].number, subject["guest_order"].number}
    assert orders[subject["guest_order"].number]["guest"] is True
    mine = orders[subject["order"].number]
    assert (mine["total"], mine["lines"][0]["quantity"], mine["shipping_address"]["line1"]) == ("52.50", 3, STREET)
    assert [(p["variant"], p["unit_price"]) for p in data["prices"]] == [("TS-M", "17.50")]
    history = data["history"]
    assert list(dict.fromkeys(h["email"] for h in history["contact"])) == [OLD_EMAIL, EMAIL]
    assert {h["by"] for h in history["contact"]} <= {"staff", "self", "system"}
    assert history["organizations"][-1]["organizations"] == ["EU-MGMT"]
    assert history["customer_groups"][-1]["customer_groups"] == ["GOLD"]
    assert {h["line1"] for h in history["addresses"]} == {"Old Road 1", STREET}
    assert {h["email"] for h in history["account"]} == {EMAIL}


def test_a_scoped_exporter_sees_only_the_organizations_it_sees(subject, accounts, world):
    # given: Anneliese is also in US Sales, which the CSR does not see
    subject["contact"].organizations.add(world["US-SALES"])
    csr = _grant(accounts["csr"], gdpr.EXPORT_PERMISSION)

    # when
    data = gdpr.personal_data(subject["contact"], actor=csr)

    # then
    assert data["organizations"] == [{"key": "EU-MGMT", "name": "EU Management"}]
    assert "US-SALES" not in json.dumps(data)


def test_the_export_needs_its_permission(subject, accounts):
    with pytest.raises(Forbidden):
        gdpr.personal_data(subject["contact"], actor=accounts["csr"])


def test_a_contact_the_exporter_cannot_see_is_not_found(subject, accounts, world):
    # given
    subject["contact"].organizations.set([world["US-SALES"]])
    csr = _grant(accounts["csr"], gdpr.EXPORT_PERMISSION, gdpr.ERASE_PERMISSION)

    # then
    with pytest.raises(NotFound):
        gdpr.personal_data(subject["contact"], actor=csr)
    with pytest.raises(NotFound):
        gdpr.visible_contact(csr, "C-4711")
    with pytest.raises(NotFound):
        gdpr.erase_contact(subject["contact"], actor=csr)
    assert Contact.objects.get(pk=subject["contact"].pk).last_name == LAST


@pytest.mark.parametrize("ident", ["C-4711", EMAIL, EMAIL.upper(), "id"])
def test_a_contact_is_found_by_id_key_or_email(subject, accounts, ident):
    ident = str(subject["contact"].pk) if ident == "id" else ident
    assert gdpr.visible_contact(accounts["admin"], ident) == subject["contact"]


def test_administrators_hold_both_permissions_and_customer_service_neither(accounts):
    assert accounts["admin"].has_perms([gdpr.EXPORT_PERMISSION, gdpr.ERASE_PERMISSION])
    assert not accounts["csr"].has_perm(gdpr.EXPORT_PERMISSION)
    assert not accounts["csr"].has_perm(gdpr.ERASE_PERMISSION)


# --- the erasure ------------------------------------------------------------------------

def test_the_erasure_anonymises_the_contact_and_deletes_its_addresses(subject, accounts):
    # when
    erasure = gdpr.erase_contact(subject["contact"], actor=accounts["admin"])

    # then
    contact = Contact.objects.get(pk=subject["contact"].pk)
    assert (contact.first_name, contact.last_name, contact.email, contact.phone, contact.birth_date) == (
        "", gdpr.ERASED_NAME, None, "", None)
    assert contact.erased_at == erasure.erased_at
    assert contact.addresses.count() == 0 and erasure.addresses_deleted == 1
    assert contact.key == "C-4711"  # the shop's code stays: orders and prices refer to it
    assert list(contact.organizations.values_list("key", flat=True)) == ["EU-MGMT"]


def test_the_erasure_closes_the_account(subject, accounts):
    # given: Anneliese is logged in
    browser = Client()
    browser.force_login(subject["account"])
    assert browser.get("/api/v1/me").json()["email"] == EMAIL

    # when
    erasure = gdpr.erase_contact(subject["contact"], actor=accounts["admin"])

    # then
    account = Account.objects.get(pk=subject["account"].pk)
    assert erasure.account_closed and not account.is_active
    assert account.email == gdpr.erased_email(subject["contact"]) and account.email_verified_at is None
    assert not account.has_usable_password()
    token = ApiToken.objects.get(pk=subject["token"].pk)
    assert token.revoked_at is not None and token.name == "" and erasure.tokens_revoked == 1
    assert browser.get("/api/v1/me").json().get("email") != EMAIL  # the session is over
    assert not Cart.objects.filter(account=account).exists() and erasure.carts_deleted == 1


def test_orders_are_kept_with_their_totals_and_without_personal_fields(subject, accounts):
    # given
    before = {o.pk: (o.total, o.number, list(o.lines.values_list("sku", "quantity", "line_total")))
              for o in Order.objects.all()}

    # when
    erasure = gdpr.erase_contact(subject["contact"], actor=accounts["admin"])

    # then
    assert erasure.orders_anonymised == 2  # hers and the guest order with her e-mail
    for order in Order.objects.all():
        assert (order.total, order.number, list(order.lines.values_list("sku", "quantity", "line_total"))) \
            == before[order.pk]
        assert order.email == gdpr.erased_email(subject["contact"])
        for address in (order.shipping_address, order.billing_address):
            assert address["country"] == "DE"
            assert {address[f] for f in ("first_name", "last_name", "line1", "line2", "city", "postcode")} == {""}
    assert Order.objects.get(pk=subject["order"].pk).total == Decimal("52.50")


def test_no_old_personal_value_is_left_anywhere_in_the_database(subject, accounts):
    # given: the old values are in the contact, its history, addresses, orders, account, logins
    assert {value for _, value in old_values_anywhere()} >= {FIRST, LAST, EMAIL, OLD_EMAIL, STREET, PHONE}

    # when
    gdpr.erase_contact(subject["contact"], actor=accounts["admin"])

    # then
    assert old_values_anywhere() == []


def test_the_erased_contact_is_found_neither_by_name_nor_by_email(subject, accounts):
    gdpr.erase_contact(subject["contact"], actor=accounts["admin"])
    for term in (FIRST, LAST, f"{FIRST} {LAST}", EMAIL, "anneliese"):
        assert not Contact.objects.search(term).exists(), term
    with pytest.raises(NotFound):
        gdpr.visible_contact(accounts["admin"], EMAIL)
    exported = json.dumps(list(contact_rows(accounts["admin"])))
    assert LAST not in exported and EMAIL not in exported


def test_the_erasure_is_recorded_in_the_history_without_old_values(subject, accounts):
    # when
    gdpr.erase_contact(subject["contact"], actor=accounts["admin"])

    # then
    records = list(Contact.history.filter(id=subject["contact"].pk).order_by("history_date"))
    last = records[-1]
    assert (last.history_type, last.history_user_id, last.history_change_reason) == (
        "~", accounts["admin"].pk, gdpr.ERASURE_REASON)
    assert last.erased_at is not None
    assert len(records) >= 3  # the earlier versions are kept, rewritten
    assert {(r.first_name, r.last_name, r.email, r.phone, r.birth_date) for r in records} == {
        ("", gdpr.ERASED_NAME, None, "", None)}
    data = gdpr.personal_data(Contact.objects.get(pk=subject["contact"].pk), actor=accounts["admin"])
    assert data["history"]["contact"][-1]["reason"] == gdpr.ERASURE_REASON
    assert data["addresses"] == [] and data["carts"] == []


def test_erasing_twice_is_refused_and_changes_nothing(subject, accounts):
    gdpr.erase_contact(subject["contact"], actor=accounts["admin"])
    versions = Contact.history.filter(id=subject["contact"].pk).count()
    with pytest.raises(Conflict) as refused:
        gdpr.erase_contact(subject["contact"], actor=accounts["admin"])
    assert refused.value.code == "already_erased"
    assert Contact.history.filter(id=subject["contact"].pk).count() == versions


def test_the_erasure_needs_its_permission_and_a_manage_grant(subject, accounts, world):
    # given: a CSR that sees EU Management only
    viewer = make_account("viewer@example.com", Role.CUSTOMER_SERVICE)
    Grant.objects.create(account=viewer, organization=world["EU-HQ"], include_descendants=True, level="view")

    # then
    with pytest.raises(Forbidden):
        gdpr.erase_contact(subject["contact"], actor=accounts["csr"])
    with pytest.raises(Forbidden):
        gdpr.erase_contact(subject["contact"], actor=_grant(viewer, gdpr.ERASE_PERMISSION))
    assert Contact.objects.get(pk=subject["contact"].pk).last_name == LAST
    # a CSR managing the contact's organization, with the permission, may
    gdpr.erase_contact(subject["contact"], actor=_grant(accounts["csr"], gdpr.ERASE_PERMISSION))
    assert Contact.objects.get(pk=subject["contact"].pk).erased_at is not None


def test_a_failed_erasure_changes_nothing(subject, accounts, monkeypatch):
    # given: the last step fails
    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(gdpr, "_scrub_orders", fail)

    # when
    with pytest.raises(RuntimeError):
        gdpr.erase_contact(subject["contact"], actor=accounts["admin"])

    # then
    contact = Contact.objects.get(pk=subject["contact"].pk)
    assert (contact.last_name, contact.email, contact.addresses.count()) == (LAST, EMAIL, 1)
    assert Account.objects.get(pk=subject["account"].pk).is_active


# --- the command line -------------------------------------------------------------------

def test_the_command_exports_a_contact_to_a_file(subject, accounts, run_cli, tmp_path):
    out = tmp_path / "anneliese.json"
    code, _, err = run_cli("gdpr", "export", "C-4711", "--as", "admin@example.com", "--output", str(out))
    assert code in (0, None), err
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["contact"]["email"] == EMAIL and data["addresses"][0]["city"] == CITY


def test_the_command_exports_to_standard_output(subject, run_cli):
    code, out, err = run_cli("gdpr", "export", EMAIL)
    assert code in (0, None), err
    assert json.loads(out)["contact"]["last_name"] == LAST


def test_the_command_erases_only_with_yes(subject, accounts, run_cli):
    code, out, err = run_cli("gdpr", "erase", "C-4711", "--as", "admin@example.com")
    assert code != 0 and "--yes" in err and len(err.strip().splitlines()) == 1
    assert Contact.objects.get(pk=subject["contact"].pk).erased_at is None

    code, out, err = run_cli("gdpr", "erase", "C-4711", "--as", "admin@example.com", "--yes")
    assert code in (0, None), err
    assert "Erased" in out and EMAIL not in out
    assert Contact.objects.get(pk=subject["contact"].pk).erased_at is not None

    code, out, err = run_cli("gdpr", "erase", "C-4711", "--yes")
    assert code != 0 and "erased" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (("export", "C-NOBODY"), "No contact"),
    (("export", "C-4711", "--as", "csr@example.com"), "export_personal_data"),
    (("erase", "C-4711", "--as", "csr@example.com", "--yes"), "erase_contact"),
    (("export", "C-4711", "--as", "nobody@example.com"), "No account"),
    (("export", "C-4711", "--output", "/no/such/dir/x.json"), "Cannot write"),
])
def test_the_command_refuses_in_one_line(subject, accounts, run_cli, args, message):
    code, out, err = run_cli("gdpr", *args)
    assert code != 0
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert Contact.objects.get(pk=subject["contact"].pk).last_name == LAST


def test_the_command_hides_a_contact_the_account_cannot_see(subject, accounts, world, run_cli):
    subject["contact"].organizations.set([world["US-SALES"]])
    _grant(accounts["csr"], gdpr.EXPORT_PERMISSION)
    code, _, err = run_cli("gdpr", "export", "C-4711", "--as", "csr@example.com")
    assert code != 0 and "No contact 'C-4711'" in err


def test_a_contact_without_account_or_orders_is_exported_and_erased(world, accounts):
    # given
    contact = Contact.objects.create(first_name="Lone", last_name="Walker", email="lone.walker@example.com")
    contact.organizations.add(world["EU-MGMT"])

    # when
    data = gdpr.personal_data(contact, actor=accounts["admin"])
    erasure = gdpr.erase_contact(contact, actor=accounts["admin"])

    # then
    assert (data["account"], data["orders"], data["carts"], data["api_tokens"]) == (None, [], [], [])
    assert not erasure.account_closed and erasure.orders_anonymised == 0
    assert not Contact.objects.search("Walker").exists()


def test_the_export_costs_the_same_queries_for_more_orders(subject, accounts, catalog):
    # given
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clientbase.shopping.services import carts
    from clientbase.shopping.services.orders import checkout
    from tests.transfer.gdpr_world import ORDER_ADDRESS

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            gdpr.personal_data(subject["contact"], actor=accounts["admin"])
        return len(captured)

    before = queries()
    for _ in range(3):
        cart = carts.new_cart(market=catalog["EU"])
        carts.add_line(cart, "TS-M", 1)
        checkout(cart, email=EMAIL, shipping=ORDER_ADDRESS, billing=ORDER_ADDRESS)

    # then
    assert queries() == before


# --- someone who only ordered as a guest -------------------------------------------------

def test_guest_orders_of_an_email_no_contact_has_are_anonymised(subject, accounts, catalog, run_cli):
    # given: a guest order by someone else, who never registered
    from clientbase.shopping.services import carts
    from clientbase.shopping.services.orders import checkout
    from tests.transfer.gdpr_world import ORDER_ADDRESS

    cart = carts.new_cart(market=catalog["EU"])
    carts.add_line(cart, "TS-M", 1)
    order = checkout(cart, email="Only.Guest@example.com", shipping={**ORDER_ADDRESS, "last_name": "Guestling"},
                     billing=ORDER_ADDRESS)

    # then: refused without --yes, for a contact's e-mail, and for a scoped CSR
    assert run_cli("gdpr", "erase-guest", "only.guest@example.com")[0] != 0
    code, _, err = run_cli("gdpr", "erase-guest", EMAIL, "--yes")
    assert code != 0 and "erase the contact instead" in err
    _grant(accounts["csr"], gdpr.ERASE_PERMISSION)
    code, _, err = run_cli("gdpr", "erase-guest", "only.guest@example.com", "--as", "csr@example.com", "--yes")
    assert code != 0 and "sees every contact" in err
    assert Order.objects.get(pk=order.pk).email == "only.guest@example.com"

    # when
    code, out, err = run_cli("gdpr", "erase-guest", "only.guest@example.com", "--yes")

    # then
    assert code in (0, None) and "1 guest orders anonymised" in out, err
    order = Order.objects.get(pk=order.pk)
    assert order.email.endswith("@" + gdpr.ERASED_DOMAIN) and order.total == Decimal("20.00")
    assert order.shipping_address["last_name"] == "" and order.shipping_address["country"] == "DE"
    assert not Order.history.filter(email="only.guest@example.com").exists()
    assert not Order.history.filter(shipping_address__last_name="Guestling").exists()
    assert Order.objects.get(pk=subject["guest_order"].pk).email == EMAIL  # hers are left for her erasure
