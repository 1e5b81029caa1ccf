"""Issue 8, finding 3: login throttling keyed on the e-mail as typed, while the
account lookup trims and ignores case, so `LOCKME@example.com` or
` lockme@example.com` got five fresh guesses each and the right password in
another spelling logged in (and cleared the lock). Throttling now keys on the
e-mail as the lookup reads it (and the client address), and a locked-out
attempt answers exactly what a wrong password for an unknown e-mail answers."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_account

PASSWORD = "Secret-pass-123"  # what tests.conftest.make_account sets
SPELLINGS = ["lockme@example.com", "LOCKME@example.com", " lockme@example.com",
             "LockMe@Example.COM ", "\tlockme@example.com"]


def post_login(client: Client, email: str, password: str):
    return client.post(reverse("admin:login"), {"username": email, "password": password})


def logged_in(client: Client) -> bool:
    return client.get(reverse("admin:index")).status_code == 200


def fail(client: Client, spellings: list[str], times: int) -> None:
    for attempt in range(times):
        post_login(client, spellings[attempt % len(spellings)], "wrong-password")


@pytest.fixture
def lockme(accounts):
    return make_account("lockme@example.com", "Administrators")


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_after_the_failure_limit_the_right_password_is_refused_in_every_spelling(
        lockme, settings, spelling):
    # given as many failures as axes allows, all as the stored spelling
    client = Client()
    fail(client, ["lockme@example.com"], settings.AXES_FAILURE_LIMIT)
    # when the right password comes in another spelling
    post_login(client, spelling, PASSWORD)
    # then it is refused, and the lock holds for the stored spelling too
    assert not logged_in(client)
    post_login(client, "lockme@example.com", PASSWORD)
    assert not logged_in(client)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_failures_in_different_spellings_count_towards_one_limit(lockme, settings, spelling):
    # given the limit's failures spread over the spellings (the old keying
    # counted each spelling apart, so none of them reached the limit)
    client = Client()
    fail(client, SPELLINGS, settings.AXES_FAILURE_LIMIT)
    # when the right password comes next, in any spelling
    post_login(client, spelling, PASSWORD)
    # then the account is locked
    assert not logged_in(client)


def test_below_the_limit_the_right_password_in_another_spelling_logs_in(lockme, settings):
    client = Client()
    fail(client, SPELLINGS, settings.AXES_FAILURE_LIMIT - 1)
    post_login(client, " LOCKME@example.com", PASSWORD)
    assert logged_in(client)


def test_the_lock_ends_after_the_cool_off(lockme, settings):
    # given a locked account
    client = Client()
    fail(client, ["lockme@example.com"], settings.AXES_FAILURE_LIMIT)
    # when the cool-off (minutes, not hours) has passed since the last failure
    assert timedelta(hours=settings.AXES_COOLOFF_TIME) <= timedelta(minutes=15)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    # then the right password logs in again
    post_login(client, "LOCKME@example.com", PASSWORD)
    assert logged_in(client)


def test_attempts_during_the_lock_do_not_make_it_longer(lockme, settings):
    # given a locked account
    client = Client()
    fail(client, ["lockme@example.com"], settings.AXES_FAILURE_LIMIT)
    locked_at = AccessAttempt.objects.get().attempt_time
    # when the customer keeps trying, right and wrong, in any spelling
    for spelling in SPELLINGS:
        post_login(client, spelling, PASSWORD)
        post_login(client, spelling, "wrong-password")
    # then the lock still ends a cool-off after the failure that set it
    attempt = AccessAttempt.objects.get()
    assert (attempt.failures_since_start, attempt.attempt_time) == \
        (settings.AXES_FAILURE_LIMIT, locked_at)


def test_a_lock_on_one_client_address_leaves_the_customer_elsewhere_alone(lockme, settings):
    # given an attacker at another address has used up the limit
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    fail(attacker, SPELLINGS, settings.AXES_FAILURE_LIMIT)
    # when the customer logs in from its own address
    customer = Client(REMOTE_ADDR="198.51.100.7")
    post_login(customer, "lockme@example.com", PASSWORD)
    # then it is in
    assert logged_in(customer)


def answer(response) -> tuple[int, list[str]]:
    """What a login attempt tells its caller: the status and the form's errors."""
    errors = response.context["form"].non_field_errors() if response.context else []
    return response.status_code, list(errors)


def test_a_locked_out_attempt_answers_as_a_wrong_password_for_an_unknown_email(lockme, settings):
    # given a locked account
    client = Client()
    fail(client, ["lockme@example.com"], settings.AXES_FAILURE_LIMIT)
    # when its right password comes, and a wrong one for an e-mail nobody has
    locked = post_login(client, "LOCKME@example.com", PASSWORD)
    unknown = post_login(Client(REMOTE_ADDR="198.51.100.8"), "nobody@example.com", "wrong-password")
    # then both answer the same: the login form, with the same error
    assert answer(locked) == answer(unknown)
    assert answer(unknown)[0] == 200 and answer(unknown)[1]


def test_an_unknown_email_is_locked_exactly_like_a_known_one(lockme, settings):
    # given the limit used up for an existing and for a non-existing e-mail
    known, unknown = Client(), Client()
    fail(known, ["lockme@example.com"], settings.AXES_FAILURE_LIMIT)
    fail(unknown, ["nobody@example.com"], settings.AXES_FAILURE_LIMIT)
    # then the next attempts answer alike
    assert answer(post_login(known, "lockme@example.com", "wrong-password")) == \
        answer(post_login(unknown, "nobody@example.com", "wrong-password"))


# Behind the README's production proxy every request comes from the proxy's
# address; the client's is the one the proxy appended to X-Forwarded-For.
PROXY = "10.0.0.2"


def behind_proxy(forwarded_for: str) -> Client:
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)


def test_behind_a_trusted_proxy_the_lock_is_on_the_forwarded_client_address(lockme, settings):
    # given one proxy in front, and an attacker who used up the limit through it
    settings.TRUSTED_PROXIES = 1
    fail(behind_proxy("203.0.113.9"), ["lockme@example.com"], settings.AXES_FAILURE_LIMIT)
    # when the customer logs in through the same proxy
    customer = behind_proxy("198.51.100.7")
    post_login(customer, "lockme@example.com", PASSWORD)
    # then it is in: the proxy's address is not everyone's
    assert logged_in(customer)


def test_a_forged_forwarded_for_does_not_escape_the_lock(lockme, settings):
    # given one proxy, which appends the address it saw to what the client sent
    settings.TRUSTED_PROXIES = 1
    attacker = "203.0.113.9"
    fail(behind_proxy(attacker), SPELLINGS, settings.AXES_FAILURE_LIMIT)
    # when the attacker sends a made-up address of its own in front
    forged = behind_proxy(f"198.51.100.7, {attacker}")
    post_login(forged, "lockme@example.com", PASSWORD)
    # then it is still the attacker's address, and locked
    assert not logged_in(forged)


def test_a_forwarded_for_that_is_no_address_counts_as_the_proxy(lockme, settings):
    settings.TRUSTED_PROXIES = 1
    response = post_login(behind_proxy("not-an-address"), "lockme@example.com", "wrong-password")
    assert response.status_code == 200
    assert AccessAttempt.objects.get().ip_address == PROXY


def test_without_a_trusted_proxy_a_forwarded_for_is_ignored(lockme, settings):
    settings.TRUSTED_PROXIES = 0
    fail(Client(HTTP_X_FORWARDED_FOR="203.0.113.9"), SPELLINGS, settings.AXES_FAILURE_LIMIT)
    other_claim = Client(HTTP_X_FORWARDED_FOR="198.51.100.7")
    post_login(other_claim, "lockme@example.com", PASSWORD)
    assert not logged_in(other_claim)
