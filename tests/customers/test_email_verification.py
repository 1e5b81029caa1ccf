"""Proving an e-mail: a signed token per account and address
(customers.services.verification)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from clientbase.core.errors import Conflict, Invalid
from clientbase.customers.services.accounts import register, update_account
from clientbase.customers.services.verification import (
    send_verification_email, verification_token, verify_email,
)


@pytest.fixture
def account(db):
    return register("new@example.com", "Long-enough-pass-42", "New", "Shopper")[1]


def test_the_token_verifies_the_account(account):
    verified = verify_email(verification_token(account))
    assert verified.pk == account.pk and verified.email_verified_at is not None


@pytest.mark.parametrize("token", ["", "garbage", "a" * 500])
def test_a_token_that_is_not_one_is_invalid(account, token):
    with pytest.raises(Invalid) as refused:
        verify_email(token)
    assert refused.value.code == "invalid_token"


def test_a_tampered_token_is_invalid(account):
    token = verification_token(account)
    with pytest.raises(Invalid):
        verify_email(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


def test_an_expired_token_is_invalid(account, settings, monkeypatch):
    token = verification_token(account)
    later = timezone.now() + timedelta(days=settings.EMAIL_VERIFICATION_DAYS, seconds=5)
    monkeypatch.setattr("time.time", lambda: later.timestamp())
    with pytest.raises(Invalid):
        verify_email(token)


def test_a_token_for_an_old_address_verifies_nothing(account):
    token = verification_token(account)
    update_account(account, actor=None, changes={"email": "moved@example.com"})
    with pytest.raises(Conflict):
        verify_email(token)


def test_the_message_carries_the_link(account):
    send_verification_email(account, "https://shop.example/verify/TOKEN")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.com"]
    assert "https://shop.example/verify/TOKEN" in mail.outbox[0].body
