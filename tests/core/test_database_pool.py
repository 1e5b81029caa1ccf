"""DATABASE_POOL: psycopg's connection pool through Django's OPTIONS["pool"]."""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from clientbase.settings import database_pool
from tests.core.test_cli import free_port

POSTGRES = "django.db.backends.postgresql"


@pytest.mark.parametrize("value, size", [("", None), ("0", None), ("off", None), ("on", 4), ("true", 4),
                                         ("6", 6), (" 2 ", 2)])
def test_database_pool_is_read_as_a_size_or_on_or_off(value, size):
    pool = database_pool(value, POSTGRES)
    assert (pool and pool["max_size"]) == size
    if pool:
        assert pool["min_size"] == size


@pytest.mark.parametrize("value", ["many", "-1", "2.5"])
def test_a_database_pool_that_is_not_a_size_is_refused(value):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_POOL"):
        database_pool(value, POSTGRES)


def test_a_database_pool_on_sqlite_is_refused():
    with pytest.raises(ImproperlyConfigured, match="PostgreSQL"):
        database_pool("on", "django.db.backends.sqlite3")


def _backends(dsn: str, name: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                            "AND pid <> pg_backend_pid()", [name]).fetchone()[0]


def test_serve_answers_through_a_pool_of_kept_connections_on_postgresql(django_db_setup, django_db_blocker,
                                                                          tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_POOL is PostgreSQL's")
    with django_db_blocker.unblock():
        params = connection.get_connection_params()
        name = connection.settings_dict["NAME"]
    user, host, port_db = params.get("user", "postgres"), params.get("host", "127.0.0.1"), params.get("port", 5432)
    password = f":{params['password']}" if params.get("password") else ""
    url = f"postgres://{user}{password}@{host}:{port_db}/{name}"
    dsn = f"postgres://{user}{password}@{host}:{port_db}/postgres"
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "DATABASE_POOL": "3", "CLIENTBASE_HOME": str(tmp_path),
           "CONN_MAX_AGE": "600"}  # ignored with a pool
    env.pop("TEST_DATABASE_NAME", None)
    before = _backends(dsn, name)
    proc = subprocess.Popen(
        [sys.executable, "-m", "clientbase.cli", "serve", "--port", str(port), "--workers", "1",
         "--no-jobs-worker"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # given serve on the pool, once it has printed its URL
        for line in proc.stdout:
            if "is serving on" in line:
                break
        else:
            pytest.fail(f"serve ended ({proc.wait()}) before serving")
        # when the API answers a request that reads the database
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/store/products", timeout=60) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        assert status < 500
        # then the worker has opened its pool, 3 connections, and keeps them
        # (without a pool, one request would have opened one)
        deadline = time.monotonic() + 30
        while _backends(dsn, name) - before < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _backends(dsn, name) - before >= 3
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
