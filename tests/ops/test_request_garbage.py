"""A request is freed with its response: nothing it made is left to the
cyclic garbage collector (issue 13). Django's auth and messages middleware
tie the request into reference cycles (request.user's and request.auser's
closures, the message storage); with them, each API request left ~100
objects (its resolver match and `tried` lists, session, account) for the
collector, which pays again for every one."""

import gc
import io

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from clientbase.catalog.models import Market
from clientbase.customers.models import Contact
from clientbase.customers.services.accounts import issue_token


def environ(path: str, query: str = "", headers: dict | None = None) -> dict:
    """A GET as a WSGI server hands it over."""
    env = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "wsgi.errors": io.StringIO(), "wsgi.input": io.BytesIO(b""),
    }
    env.update(headers or {})
    return env


# One application, as a server has (building one makes cycles of its own).
APPLICATION = WSGIHandler()


def served(env: dict) -> str:
    """The status line of one request through the WSGI application, its
    answer read and closed as a server does."""
    answer = {}
    chunks = APPLICATION(env, lambda status, headers, exc_info=None: answer.update(status=status))
    try:
        b"".join(chunks)
    finally:
        chunks.close()
    return answer["status"]


def left_to_the_collector(call) -> tuple[object, list]:
    """(what `call` returned, the objects it left that only the cyclic
    collector frees)."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = call()
        gc.collect()
        return result, list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


@pytest.fixture(autouse=True)
def connection_kept():
    """As Django's test client does: a request does not close the database
    connection that holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def warm(db, connection_kept):
    """One request first, so that what the first one loads for good (views,
    caches) is not counted."""
    served(environ("/api/v1/store/products"))


def test_an_api_request_by_token_leaves_nothing_to_the_cyclic_collector(accounts, world, warm):
    # given
    contact = Contact.objects.create(first_name="Ada", last_name="Lovelace")
    contact.organizations.add(world["EU-HQ"])
    _, token = issue_token(accounts["csr"], actor=None)
    env = environ(f"/api/v1/contacts/{contact.pk}", headers={"HTTP_AUTHORIZATION": f"Bearer {token}"})
    served(env)
    # when
    status, garbage = left_to_the_collector(lambda: served(env))
    # then
    assert status.startswith("200")
    assert garbage == []


def test_an_anonymous_api_request_leaves_nothing_to_the_cyclic_collector(warm):
    # given
    Market.objects.create(key="EU", name="Europe", default_currency="EUR", currencies=["EUR"])
    # when
    status, garbage = left_to_the_collector(lambda: served(environ("/api/v1/store/products", "market=EU")))
    # then
    assert status.startswith("200")
    assert garbage == []
