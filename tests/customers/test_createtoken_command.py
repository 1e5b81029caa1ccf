"""`clientbase createtoken EMAIL [--name N]`."""

from io import StringIO

import pytest
from django.core.management import ManagementUtility, call_command
from django.db import connections
from django.test import Client

from clientbase.customers.models import ApiToken, Role
from tests.conftest import ApiClient, make_account


def test_it_prints_a_token_that_then_authenticates(world):
    # given
    admin = make_account("admin@example.com", Role.ADMINISTRATORS)
    out = StringIO()
    # when
    call_command("createtoken", "ADMIN@example.com", "--name", "ci", stdout=out)
    # then
    raw = out.getvalue().strip()
    assert "\n" not in raw and raw.startswith("cb_")
    token = ApiToken.objects.get()
    assert (token.account, token.name) == (admin, "ci")
    api = ApiClient(Client(HTTP_AUTHORIZATION=f"Bearer {raw}"))
    response = api.get("/organizations")
    assert response.status_code == 200
    assert len(response.json()["items"]) == 5


def test_each_run_prints_a_new_token(db):
    make_account("twice@example.com")
    first, second = StringIO(), StringIO()
    call_command("createtoken", "twice@example.com", stdout=first)
    call_command("createtoken", "twice@example.com", stdout=second)
    assert first.getvalue() != second.getvalue()
    assert ApiToken.objects.count() == 2


@pytest.mark.parametrize("email, message", [
    ("nobody@example.com", "No account with the e-mail nobody@example.com."),
    ("sleeper@example.com", "inactive"),
])
def test_an_unknown_or_inactive_account_exits_non_zero_with_one_line(db, capsys, monkeypatch, email, message):
    make_account("sleeper@example.com", is_active=False)
    # The command line closes every connection on the way out; that would end
    # the test's own transaction on PostgreSQL.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["clientbase", "createtoken", email]).execute()
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not ApiToken.objects.exists()
