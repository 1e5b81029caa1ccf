"""Attempts limited per client address: registrations and password resets
(customers.throttling.check_rate)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clientbase.core.errors import TooManyRequests
from clientbase.customers.models import Attempt
from clientbase.customers.throttling import check_rate, parse_rate


def test_a_rate_reads_as_count_per_period():
    assert parse_rate("10/hour") == (10, timedelta(hours=1))
    assert parse_rate(" 3 / minute ") == (3, timedelta(minutes=1))
    with pytest.raises(ValueError, match="N/second"):
        parse_rate("ten an hour")


def test_attempts_over_the_rate_are_refused_with_the_wait(db):
    # given
    for _ in range(3):
        check_rate("register", "10.0.0.1", "3/hour")

    # when
    with pytest.raises(TooManyRequests) as refused:
        check_rate("register", "10.0.0.1", "3/hour")

    # then
    assert refused.value.status == 429
    assert 3590 <= refused.value.retry_after <= 3601
    assert "try again in 60 minutes" in refused.value.detail


def test_each_client_and_each_kind_has_its_own_count(db):
    for _ in range(3):
        check_rate("register", "10.0.0.1", "3/hour")
    check_rate("register", "10.0.0.2", "3/hour")
    check_rate("password_reset", "10.0.0.1", "3/hour")


def test_attempts_older_than_the_window_no_longer_count_and_are_deleted(db):
    # given: three attempts two hours ago
    old = timezone.now() - timedelta(hours=2)
    Attempt.objects.bulk_create([Attempt(kind="register", client="10.0.0.1", at=old) for _ in range(3)])

    # when
    check_rate("register", "10.0.0.1", "3/hour")

    # then
    assert Attempt.objects.filter(kind="register", client="10.0.0.1").count() == 1


def test_refused_attempts_count_too(db):
    for _ in range(2):
        check_rate("register", "10.0.0.1", "2/hour")
    for _ in range(3):
        with pytest.raises(TooManyRequests):
            check_rate("register", "10.0.0.1", "2/hour")
    assert Attempt.objects.filter(kind="register", client="10.0.0.1").count() == 5

