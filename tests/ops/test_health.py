"""GET /healthz and GET /readyz, as a load balancer asks them."""

import dj_database_url
import pytest
from django.db import connections
from django.test import Client, override_settings

from clientbase.ops.readiness import reason

BROKEN_REDIS = "redis://:sekrit-pass@127.0.0.1:1/9"  # nothing listens on port 1
LIVE_REDIS = "redis://127.0.0.1:6379/9"


def test_healthz_answers_200_json_without_touching_the_database():
    # given: no database access allowed in this test (pytest-django refuses it)
    client = Client()
    # when
    response = client.get("/healthz")
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers and not response.cookies
    assert "no-cache" in response["Cache-Control"]


def test_readyz_answers_200_when_database_cache_and_queue_answer(db):
    response = Client().get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database:default": "ok", "cache": "ok", "queue": "ok"}
    assert not response.cookies


def test_readyz_answers_503_naming_a_cache_that_does_not_answer_without_its_password(db):
    # given
    broken = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": BROKEN_REDIS,
                          "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1}}}
    # when
    with override_settings(CACHES=broken):
        response = Client().get("/readyz")
    # then
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"] == "failed" and body["checks"]["database:default"] == "ok"
    assert list(body["failed"]) == ["cache"]
    assert body["failed"]["cache"].startswith("ConnectionError")
    assert "sekrit-pass" not in response.content.decode() and "Traceback" not in response.content.decode()


def test_readyz_answers_503_naming_an_rq_queue_whose_redis_does_not_answer(db):
    with override_settings(TASKS_BACKEND="rq", RQ_QUEUES={"default": {"URL": BROKEN_REDIS}}):
        response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert list(body["failed"]) == ["queue"]
    assert "sekrit-pass" not in response.content.decode()


def test_readyz_pings_the_rq_queues_redis_when_jobs_go_through_rq(db):
    with override_settings(TASKS_BACKEND="rq", RQ_QUEUES={"default": {"URL": LIVE_REDIS}}):
        response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["queue"] == "ok"


@pytest.fixture
def unreachable_replica():
    """A replica alias (as DATABASE_REPLICA_URLS names them) whose server is
    not there, with a password in its URL. Its connection is made here, as
    Django makes one (pytest-django refuses connections to configured aliases
    a test did not ask for, and there is no test database to ask for)."""
    from django.conf import settings
    from django.db.utils import load_backend

    replica = connections.configure_settings({
        "default": settings.DATABASES["default"],
        "replica_1": {**dj_database_url.parse("postgres://clientbase:sekrit-pass@127.0.0.1:1/clientbase"),
                      "OPTIONS": {"connect_timeout": 2}}})["replica_1"]
    connections["replica_1"] = load_backend(replica["ENGINE"]).DatabaseWrapper(replica, "replica_1")
    try:
        with override_settings(DATABASES={**settings.DATABASES, "replica_1": replica}):
            yield
    finally:
        connections["replica_1"].close()
        del connections["replica_1"]


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_readyz_asks_every_database_and_names_a_replica_that_does_not_answer(db, unreachable_replica):
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database:default"] == "ok"
    assert body["checks"]["database:replica_1"] == "failed"
    assert list(body["failed"]) == ["database:replica_1"]
    assert body["failed"]["database:replica_1"].startswith("OperationalError")
    assert "sekrit-pass" not in response.content.decode()


def test_a_failure_reason_is_one_line_without_the_passwords_of_urls():
    exc = RuntimeError("cannot reach redis://user:hunter2@cache.internal:6379/0\nmore detail")
    assert reason(exc) == "RuntimeError: cannot reach redis://user:***@cache.internal:6379/0"


@override_settings(SECURE_SSL_REDIRECT=True)
def test_probes_over_plain_http_are_not_redirected_when_the_site_is_https_only(db):
    client = Client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/metrics").status_code == 404  # off, but not redirected either
    # while every other page is
    assert client.get("/api/v1/markets").status_code == 301


def test_healthz_answers_head_and_refuses_post():
    client = Client()
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
