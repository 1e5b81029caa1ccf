"""Personal API tokens: issued once, stored hashed, act as their account, revocable."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clientbase.customers.models import Account, ApiToken, Role
from clientbase.customers.models.accounts import hash_token
from clientbase.customers.services.accounts import issue_token
from tests.conftest import ApiClient, keys_of


def bearer(raw: str) -> ApiClient:
    """An API client that authenticates with a token only (no session)."""
    return ApiClient(Client(HTTP_AUTHORIZATION=f"Bearer {raw}"))


def test_an_account_creates_its_own_token_and_sees_it_once(caller, accounts):
    # when
    response = caller("registered").post("/accounts/me/tokens", {"name": "laptop"})
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    raw = body["token"]
    assert raw.startswith("cb_") and body["hint"] == raw[:10] and body["is_active"] is True
    listed = caller("registered").get(f"/accounts/{accounts['registered'].pk}/tokens").json()["items"]
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0]


def test_a_token_is_stored_only_as_its_hash(caller):
    raw = caller("registered").post("/accounts/me/tokens", {}).json()["token"]
    token = ApiToken.objects.get()
    assert token.token_hash == hash_token(raw)
    stored = [str(v) for v in ApiToken.objects.values_list(*[f.attname for f in ApiToken._meta.fields]).get()]
    assert not any(raw in value for value in stored)


def test_a_token_authenticates_with_its_account_s_roles_and_grants(accounts):
    # given a token of the CSR, whose grant covers EU Headquarters and below
    _, raw = issue_token(accounts["csr"], actor=None, name="ci")
    api = bearer(raw)
    # then it sees the EU organizations only
    response = api.get("/organizations")
    assert response.status_code == 200
    assert set(keys_of(response)) == {"EU-HQ", "EU-MGMT"}
    assert api.get("/organizations/US-HQ").status_code == 404
    # and it lacks what the CSR role lacks
    assert api.get("/grants").status_code == 403


def test_a_scoped_token_at_a_staff_door_learns_what_it_may_do_in_one_statement(accounts):
    # given a CSR's token whose use this minute is recorded already
    token, raw = issue_token(accounts["csr"], actor=None)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    # when it lists what its grant lets it see
    with CaptureQueriesContext(connection) as captured:
        response = bearer(raw).get("/organizations")
    # then the token, its account, roles, permissions and grants took one statement
    assert set(keys_of(response)) == {"EU-HQ", "EU-MGMT"}
    tables = ("customers_apitoken", "customers_account", "auth_group", "auth_permission", "customers_grant")
    reads = [q["sql"] for q in captured.captured_queries if any(t in q["sql"] for t in tables)]
    assert len(reads) == 1, reads


def test_a_shopper_s_token_has_no_staff_permissions(accounts):
    _, raw = issue_token(accounts["registered"], actor=None)
    assert bearer(raw).get("/organizations").status_code == 403


def test_a_write_with_a_token_is_recorded_as_its_account(accounts):
    _, raw = issue_token(accounts["admin"], actor=None)
    shopper = accounts["registered"]
    response = bearer(raw).patch(f"/accounts/{shopper.pk}", {"roles": [Role.REGISTERED, Role.CATALOG_MANAGERS]})
    assert response.status_code == 200, response.content
    latest = shopper.history.order_by("-history_date", "-history_id").first()
    assert latest.history_user == accounts["admin"]


@pytest.mark.parametrize("spoil", ["revoked", "expired", "inactive_account", "garbage", "no_prefix"])
def test_an_unusable_token_is_401(accounts, spoil):
    token, raw = issue_token(accounts["admin"], actor=None)
    if spoil == "revoked":
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    elif spoil == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif spoil == "inactive_account":
        Account.objects.filter(pk=accounts["admin"].pk).update(is_active=False)
    elif spoil == "garbage":
        raw = raw[:-2] + "xx"
    elif spoil == "no_prefix":
        raw = raw.removeprefix("cb_")
    response = bearer(raw).get("/organizations")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_revoking_a_token_stops_it_at_once(caller, accounts):
    token, raw = issue_token(accounts["csr"], actor=None)
    api = bearer(raw)
    assert api.get("/organizations").status_code == 200
    response = caller("csr").delete(f"/accounts/me/tokens/{token.pk}")
    assert response.status_code == 204
    assert api.get("/organizations").status_code == 401
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_a_token_can_revoke_itself(accounts):
    token, raw = issue_token(accounts["registered"], actor=None)
    api = bearer(raw)
    assert api.delete(f"/accounts/{accounts['registered'].pk}/tokens/{token.pk}").status_code == 204
    assert api.get("/accounts/me/tokens").status_code == 401


def test_a_token_with_an_expiry_in_the_past_is_refused(caller):
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = caller("registered").post("/accounts/me/tokens", {"expires_at": past})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["expires_at"]
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("zoned", [True, False])
def test_a_token_with_a_future_expiry_works_until_then(caller, zoned):
    future = (timezone.now() + timedelta(days=1))
    future = (future if zoned else future.replace(tzinfo=None)).isoformat()
    body = caller("registered").post("/accounts/me/tokens", {"expires_at": future}).json()
    assert body["expires_at"] is not None
    assert bearer(body["token"]).get("/accounts/me/tokens").status_code == 200


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_account_without_token_permissions_cannot_touch_others_tokens(caller, accounts, method):
    api = caller("registered")
    path = f"/accounts/{accounts['csr'].pk}/tokens"
    response = api.get(path) if method == "get" else api.post(path, {})
    assert response.status_code == 403
    assert not ApiToken.objects.filter(account=accounts["csr"]).exists()


def test_an_account_cannot_revoke_another_s_token(caller, accounts):
    token, _ = issue_token(accounts["csr"], actor=None)
    # Through its own account path the token is simply not there...
    assert caller("registered").delete(f"/accounts/me/tokens/{token.pk}").status_code == 404
    # ...and through the owner's path it lacks the permission.
    assert caller("registered").delete(f"/accounts/{accounts['csr'].pk}/tokens/{token.pk}").status_code == 403
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_an_administrator_manages_another_account_s_tokens(admin_api, accounts):
    path = f"/accounts/{accounts['csr'].pk}/tokens"
    created = admin_api.post(path, {"name": "for csr"})
    assert created.status_code == 201
    assert ApiToken.objects.get().account == accounts["csr"]
    assert [t["name"] for t in admin_api.get(path).json()["items"]] == ["for csr"]
    assert admin_api.delete(f"{path}/{created.json()['id']}").status_code == 204


def test_a_scoped_caller_gets_404_for_tokens_of_an_account_it_does_not_see(caller, accounts):
    from django.contrib.auth.models import Permission
    from tests.conftest import role

    role(Role.CUSTOMER_SERVICE).permissions.add(Permission.objects.get(codename="view_apitoken"))
    assert caller("csr").get(f"/accounts/{accounts['admin'].pk}/tokens").status_code == 404


@pytest.mark.parametrize("token_id", ["nope", "00000000-0000-0000-0000-000000000000"])
def test_revoking_an_unknown_token_is_404(caller, token_id):
    assert caller("registered").delete(f"/accounts/me/tokens/{token_id}").status_code == 404


def test_anonymous_callers_have_no_tokens(caller):
    assert caller(None).get("/accounts/me/tokens").status_code == 401
    assert caller(None).post("/accounts/me/tokens", {}).status_code == 401
