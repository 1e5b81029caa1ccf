"""The two checks every write makes, whichever door it came through:
`require` (permission) and `check_version` (optimistic concurrency), and the
API's reading of If-Match into a version."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from clientbase.api.common import if_match
from clientbase.catalog.models import Market
from clientbase.core.errors import Forbidden, PreconditionFailed
from clientbase.core.permissions import require
from clientbase.core.versions import check_version
from clientbase.customers.models import Role
from tests.conftest import make_account


@pytest.fixture
def manager(db):
    return make_account("catalog@example.com", Role.CATALOG_MANAGERS)


def test_the_system_may_do_anything():
    require(None, "catalog.add_market", "pricing.delete_pricerow")


def test_an_account_with_the_permission_passes(manager):
    require(manager, "catalog.add_market")


def test_an_account_without_the_permission_is_forbidden_and_told_which(db):
    shopper = make_account("shopper@example.com", Role.REGISTERED)
    with pytest.raises(Forbidden) as caught:
        require(shopper, "catalog.add_market")
    assert caught.value.code == "forbidden"
    assert caught.value.detail == "You lack the permission catalog.add_market."


def test_every_permission_named_is_needed(manager):
    with pytest.raises(Forbidden) as caught:
        require(manager, "catalog.add_market", "customers.delete_contact")
    assert caught.value.detail == "You lack the permission catalog.add_market, customers.delete_contact."


def test_an_inactive_account_is_forbidden_even_as_a_superuser(db):
    root = make_account("root@example.com", is_superuser=True, is_active=False)
    with pytest.raises(Forbidden):
        require(root, "catalog.add_market")


def test_an_anonymous_visitor_is_forbidden():
    with pytest.raises(Forbidden):
        require(AnonymousUser(), "catalog.view_market")


@pytest.fixture
def market(db):
    market = Market.objects.create(key="EU", name="Europe", currencies=["EUR"], default_currency="EUR")
    market.save()  # version 2
    return market


@pytest.mark.parametrize("expected", [None, 2, {1, 2}])
def test_the_current_version_none_or_a_set_holding_it_passes(market, expected):
    check_version(market, expected)


def test_a_stale_version_is_a_precondition_failure_naming_the_current_one(market):
    with pytest.raises(PreconditionFailed) as caught:
        check_version(market, 1)
    assert caught.value.status == 412
    assert caught.value.code == "stale_version"
    assert caught.value.detail == ("The market changed since you read it (now version 2); "
                                   "read it again and retry.")


@pytest.mark.parametrize("expected", [1, set(), {1, 3}])
def test_a_version_or_set_without_the_current_one_fails(market, expected):
    with pytest.raises(PreconditionFailed):
        check_version(market, expected)


@pytest.mark.parametrize("header, versions", [
    (None, None),
    ("*", None),
    ('"7"', {7}),
    ('W/"7"', {7}),
    (' "7" , W/"8"', {7, 8}),
    ('"seven"', set()),
    ('"-1"', set()),
    ('"\u00b2"', set()),  # a digit to Python, no version of ours: refused, never a 500
])
def test_if_match_is_read_as_the_versions_it_accepts(header, versions):
    headers = {"HTTP_IF_MATCH": header} if header is not None else {}
    assert if_match(RequestFactory().patch("/", **headers)) == versions


@pytest.mark.parametrize("header, passes", [('"2"', True), ('W/"2"', True), ("*", True),
                                            ('"1"', False), ('"abc"', False)])
def test_if_match_is_compared_with_the_object_as_the_services_do(market, header, passes):
    request = RequestFactory().patch("/", HTTP_IF_MATCH=header)
    if passes:
        check_version(market, if_match(request))
    else:
        with pytest.raises(PreconditionFailed):
            check_version(market, if_match(request))
