"""GET /contacts/{ident}/personal-data and POST /contacts/{ident}/erase (issue 11, item 5)."""

import pytest
from django.contrib.auth.models import Permission

from clientbase.customers.models import Account, Contact
from clientbase.shopping.models import Order
from clientbase.transfer import gdpr
from tests.transfer.gdpr_world import EMAIL, FIRST, LAST, catalog, old_values_anywhere, subject

__all__ = ["catalog", "subject"]  # fixtures


def _give(caller, account_name: str, *perms: str):
    account = caller(account_name).account
    for perm in perms:
        app_label, codename = perm.split(".")
        account.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return caller(account_name)


def test_the_personal_data_answers_the_whole_document_by_id_and_by_key(subject, admin_api):
    by_key = admin_api.get("/contacts/C-4711/personal-data")
    by_id = admin_api.get(f"/contacts/{subject['contact'].pk}/personal-data")
    assert by_key.status_code == by_id.status_code == 200, by_key.content
    assert by_key.json() == by_id.json()
    data = by_key.json()
    assert data["contact"]["email"] == EMAIL
    assert {"addresses", "organizations", "customer_groups", "account", "api_tokens", "login_records", "carts",
            "orders", "prices", "history"} <= set(data)
    assert len(data["orders"]) == 2


def test_the_erasure_answers_what_it_did_and_the_contact_is_found_no_more(subject, admin_api):
    # when
    response = admin_api.post("/contacts/C-4711/erase")

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["contact_id"] == str(subject["contact"].pk)
    assert (body["account_closed"], body["orders_anonymised"], body["carts_deleted"]) == (True, 2, 1)
    for term in (FIRST, LAST, EMAIL, f"{FIRST} {LAST}"):
        found = admin_api.get("/contacts", q=term).json()["items"]
        assert found == [], term
    assert admin_api.get("/contacts", email=EMAIL).json()["items"] == []
    assert admin_api.get("/accounts", q=EMAIL).json()["items"] == []
    assert admin_api.get("/contacts/C-4711").json()["last_name"] == gdpr.ERASED_NAME
    assert old_values_anywhere() == []
    assert Order.objects.filter(contact=subject["contact"]).count() == 1


def test_erasing_twice_is_a_conflict(subject, admin_api):
    assert admin_api.post("/contacts/C-4711/erase").status_code == 200
    again = admin_api.post("/contacts/C-4711/erase")
    assert again.status_code == 409
    assert again["Content-Type"].startswith("application/problem+json")
    assert again.json()["type"].endswith("already_erased")


@pytest.mark.parametrize("method, path", [("get", "personal-data"), ("post", "erase")])
def test_without_the_permission_the_answer_is_403_and_nothing_changes(subject, caller, method, path):
    response = getattr(caller("csr"), method)(f"/contacts/C-4711/{path}")
    assert response.status_code == 403, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert Contact.objects.get(pk=subject["contact"].pk).last_name == LAST


@pytest.mark.parametrize("method, path, perm", [("get", "personal-data", gdpr.EXPORT_PERMISSION),
                                               ("post", "erase", gdpr.ERASE_PERMISSION)])
def test_a_contact_outside_the_callers_scope_is_404_like_a_missing_one(subject, caller, world, method, path,
                                                                          perm):
    # given: the CSR has the permission, but Anneliese moves to US Sales
    subject["contact"].organizations.set([world["US-SALES"]])
    csr = _give(caller, "csr", perm)

    # when
    hidden = getattr(csr, method)(f"/contacts/C-4711/{path}")
    missing = getattr(csr, method)(f"/contacts/C-NOBODY/{path}")

    # then
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace("C-4711", "X") == missing.json()["detail"].replace("C-NOBODY", "X")
    assert Contact.objects.get(pk=subject["contact"].pk).last_name == LAST


def test_a_csr_with_the_permission_erases_a_contact_it_manages(subject, caller):
    csr = _give(caller, "csr", gdpr.ERASE_PERMISSION)
    assert csr.post("/contacts/C-4711/erase").status_code == 200
    assert not Account.objects.get(pk=subject["account"].pk).is_active


def test_the_erased_shoppers_token_no_longer_works(subject, client, admin_api):
    # given: Anneliese's token works
    from clientbase.customers.services.accounts import issue_token

    _, raw = issue_token(subject["account"], actor=None, name="script")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).json()["email"] == EMAIL

    # when
    admin_api.post("/contacts/C-4711/erase")

    # then
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).json().get("email") != EMAIL
