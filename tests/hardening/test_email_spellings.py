"""Issue 8, finding 7: `u@exämple.com` and `u@xn--exmple-cua.com` were two
contacts (and two accounts): one address, two spellings of its domain. Every
e-mail goes through one normaliser (customers.services.accounts.normalize_email)
that stores the domain in IDNA's ASCII form (punycode), so both spellings are
one address: the second is a 409 duplicate_email."""

import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory

from clientbase.customers.models import Account, Contact
from clientbase.customers.services.accounts import normalize_email

UNICODE = "u@exämple.com"
ASCII = "u@xn--exmple-cua.com"


@pytest.mark.parametrize(("typed", "stored"), [
    (UNICODE, ASCII),
    (ASCII, ASCII),
    (" U@EXÄMPLE.com ", ASCII),
    ("Some.One+Tag@Exämple.com", "some.one+tag@xn--exmple-cua.com"),  # the local part only lower-cased
    ("a@b.example", "a@b.example"),
])
def test_the_one_normaliser_stores_the_domain_in_ascii(typed, stored):
    assert normalize_email(typed) == stored


@pytest.mark.parametrize(("first", "second"), [(UNICODE, ASCII), (ASCII, UNICODE), (UNICODE, "U@EXÄMPLE.COM")])
def test_two_spellings_of_one_address_are_one_contact(admin_api, first, second):
    created = admin_api.post("/contacts", {"first_name": "U", "email": first})
    assert created.status_code == 201, created.content
    assert created.json()["email"] == ASCII
    duplicate = admin_api.post("/contacts", {"first_name": "U2", "email": second})
    assert duplicate.status_code == 409, duplicate.content
    assert duplicate.json()["type"].endswith("duplicate_email")
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(("first", "second"), [(UNICODE, ASCII), (ASCII, UNICODE)])
def test_two_spellings_of_one_address_are_one_account(admin_api, first, second):
    created = admin_api.post("/accounts", {"email": first, "password": "Very-long-pass-123"})
    assert created.status_code == 201, created.content
    assert created.json()["email"] == ASCII
    duplicate = admin_api.post("/accounts", {"email": second, "password": "Very-long-pass-123"})
    assert duplicate.status_code == 409, duplicate.content
    assert duplicate.json()["type"].endswith("duplicate_email")
    assert Account.objects.filter(email=ASCII).count() == 1


def test_an_account_logs_in_with_either_spelling(admin_api):
    admin_api.post("/accounts", {"email": UNICODE, "password": "Very-long-pass-123"})
    for spelling in (UNICODE, ASCII):
        request = RequestFactory().post("/admin/login/")
        account = authenticate(request, username=spelling, password="Very-long-pass-123")
        assert account is not None and account.email == ASCII, spelling


def test_a_domain_idna_cannot_encode_is_an_invalid_email(admin_api):
    response = admin_api.post("/contacts", {"first_name": "U", "email": "u@" + "ä" * 70 + ".com"})
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == "email"
