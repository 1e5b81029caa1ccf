"""The shared cache's tests run against the real Redis at 127.0.0.1:6379,
database 8 (this suite's own), emptied before and after each test. Under
CI=true a missing Redis fails the run instead of skipping.

They run outside a test transaction (`transaction=True`): entries are only
read and written outside one, and a bump waits for the commit.
"""

import os

import pytest
from django.test import Client

from clientbase.customers.services.accounts import issue_token
from tests.conftest import ApiClient
from tests.pricing.conftest import catalog, contact_in, price  # noqa: F401  (fixtures)

REDIS_URL = os.environ.get("CACHE_TEST_REDIS_URL", "redis://127.0.0.1:6379/8")
REDIS_CACHE = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL,
                           "KEY_PREFIX": "clientbase-test"}}

def _redis():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"Redis is missing at {REDIS_URL}; CI must run the shared cache's tests.")
        pytest.skip(f"no Redis at {REDIS_URL}")
    return client


@pytest.fixture
def redis_cache(settings):
    """CACHES pointed at Redis (what CACHE_URL=redis://… configures); the
    raw client, to look at what is stored."""
    client = _redis()
    client.flushdb()
    settings.CACHES = REDIS_CACHE
    yield client
    client.flushdb()


def bearer(raw: str) -> ApiClient:
    """An API client that authenticates with a token only (no session)."""
    return ApiClient(Client(HTTP_AUTHORIZATION=f"Bearer {raw}"))


@pytest.fixture
def token_of(accounts):
    """token_of("csr") → an ApiClient acting with a new token of that account."""

    def make(name: str) -> ApiClient:
        _, raw = issue_token(accounts[name], actor=None)
        api = bearer(raw)
        api.account = accounts[name]
        return api

    return make
