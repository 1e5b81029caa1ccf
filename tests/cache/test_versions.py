"""core.caching on the real Redis: entries carry the versions they were read
under, a bump waits for the commit, and a value loaded while a write
commits is never served."""

import pytest
from django.db import transaction

from clientbase.core import caching

pytestmark = pytest.mark.django_db(transaction=True)


def counting(value):
    calls = []

    def load():
        calls.append(1)
        return value

    return load, calls


def test_an_entry_is_served_until_its_version_is_bumped(redis_cache):
    load, calls = counting("first")
    assert caching.cached("thing", ["thing:1"], load) == "first"
    assert caching.cached("thing", ["thing:1"], load) == "first"
    assert len(calls) == 1
    # when
    caching.bump("thing:1")
    # then
    assert caching.cached("thing", ["thing:1"], lambda: "second") == "second"


def test_a_bump_of_another_name_leaves_the_entry_alone(redis_cache):
    load, calls = counting("kept")
    caching.cached("thing", ["thing:1"], load)
    caching.bump("thing:2")
    assert caching.cached("thing", ["thing:1"], load) == "kept"
    assert len(calls) == 1


def test_a_rolled_back_change_bumps_nothing(redis_cache):
    before = caching.versions(["thing:1"])
    with transaction.atomic():
        caching.bump("thing:1")
        transaction.set_rollback(True)
    assert caching.versions(["thing:1"]) == before


def test_a_bump_waits_for_the_commit(redis_cache):
    before = caching.versions(["thing:1"])
    with transaction.atomic():
        caching.bump("thing:1")
        assert caching.versions(["thing:1"]) == before
    assert caching.versions(["thing:1"]) != before


def test_a_value_loaded_while_a_write_commits_is_never_served(redis_cache):
    # given a reader whose load reads the old data while a writer commits and bumps
    def stale_load():
        caching.bump_now("thing:1")  # the writer's commit, between the reader's version read and its store
        return "old"

    assert caching.cached("thing", ["thing:1"], stale_load) == "old"
    # then the next reader does not get what the first one stored
    assert caching.cached("thing", ["thing:1"], lambda: "new") == "new"


def test_nothing_is_cached_inside_a_transaction(redis_cache):
    load, calls = counting("value")
    with transaction.atomic():
        caching.cached("thing", ["thing:1"], load)
        caching.cached("thing", ["thing:1"], load)
    assert len(calls) == 2
    assert not redis_cache.keys("*c:thing*")


def test_an_evicted_version_makes_its_entries_stale(redis_cache):
    caching.cached("thing", ["thing:1"], lambda: "old")
    for key in redis_cache.keys("*v:thing:1"):
        redis_cache.delete(key)
    assert caching.cached("thing", ["thing:1"], lambda: "new") == "new"


def test_without_a_shared_cache_every_lookup_loads(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    load, calls = counting("value")
    caching.cached("thing", ["thing:1"], load)
    caching.cached("thing", ["thing:1"], load)
    assert len(calls) == 2
