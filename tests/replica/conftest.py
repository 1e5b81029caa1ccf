"""Read replicas in tests: a mirror alias of the test database (for the
router's rules, on either database) and a real streaming standby of the
PostgreSQL server (for what a lagging replica would show).

The standby: when the suite runs on PostgreSQL with CI=true (or
REPLICA_TESTS=1), the first test process (pytest-xdist worker) to reach
these tests starts a hot standby of 127.0.0.1:5432 with `pg_basebackup` into
a temporary directory, on a free port, as the `postgres` OS user; the other
processes use the same one, and the last to finish this package stops and
removes it. It replicates the whole cluster, so every worker's test database
(test_..._gw0, _gw1) is there too and the replica alias reads it by the same
name. The primary
must accept replication connections from 127.0.0.1: when its pg_hba.conf has
no such line, the fixture appends `host replication all 127.0.0.1/32 trust`
and reloads the server (a test machine's trust set-up, like the rest of its
pg_hba.conf). Under CI=true, a standby that cannot start fails the run;
elsewhere the real-replica tests are skipped.
"""

import fcntl
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connections
from django.db.utils import load_backend
from django.test.utils import override_settings

from clientbase.core import routing
from clientbase.settings import replica_databases

ALIAS = "replica_1"
REPLICATION_LINE = "host replication all 127.0.0.1/32 trust"
PRIMARY_FILE = "clientbase-primary.json"  # in the standby's directory: where its slot is


@contextmanager
def database_alias(alias: str, settings_dict: dict):
    """A connection named `alias` for the block (this thread's), and the
    router sending reads there. It is set as a connection, not added to
    DATABASES: Django's test guard lets such a dynamically created
    connection be, where it refuses aliases the test did not declare."""
    configured = connections.configure_settings({"default": connections.settings["default"],
                                                  alias: settings_dict})[alias]
    connections[alias] = load_backend(configured["ENGINE"]).DatabaseWrapper(configured, alias)
    routing.health.reset()
    try:
        # Lag checks at every choice: a test knows when the replica caught up.
        with override_settings(DATABASE_REPLICAS=[alias], REPLICA_CHECK_SECONDS=0):
            yield alias
    finally:
        connections[alias].close()
        delattr(connections._connections, alias)
        routing.health.reset()


@pytest.fixture
def mirror_replica(transactional_db):
    """A second connection to the test database standing in for a replica
    (no lag), with the router on; committed data, as a replica would see."""
    primary = connections["default"].settings_dict
    mirror = {key: value for key, value in primary.items() if key != "TEST"}
    mirror["TEST"] = {"MIRROR": "default"}
    with database_alias(ALIAS, mirror):
        yield ALIAS


# --- A real streaming standby --------------------------------------------------------


def _wanted() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("REPLICA_TESTS") == "1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(*command: str, timeout: float = 300) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=timeout, check=True)


def _bindir(cursor) -> Path:
    """The directory of the server's own programs (a standby runs the same major version)."""
    if configured := os.environ.get("PG_BINDIR"):
        return Path(configured)
    cursor.execute("SHOW server_version_num")
    debian = Path(f"/usr/lib/postgresql/{int(cursor.fetchone()[0]) // 10000}/bin")
    if debian.is_dir():
        return debian
    found = shutil.which("pg_ctl")
    if not found:
        raise RuntimeError("pg_ctl is not on PATH; set PG_BINDIR")
    return Path(found).parent


def _allow_replication(cursor) -> None:
    cursor.execute("SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database) "
                   "AND (type = 'local' OR address = '127.0.0.1' OR address = 'all')")
    if cursor.fetchone()[0]:
        return
    cursor.execute("SHOW hba_file")
    hba = Path(cursor.fetchone()[0])
    with hba.open("a") as f:
        f.write(f"\n# clientbase tests/replica: a streaming standby of this server\n{REPLICATION_LINE}\n")
    cursor.execute("SELECT pg_reload_conf()")
    time.sleep(0.5)  # the postmaster rereads pg_hba.conf on SIGHUP, asynchronously


def _standby_settings(cursor, port: int, data: Path) -> str:
    """postgresql.conf for the standby: a hot standby needs at least the
    primary's values of these (PostgreSQL refuses to start otherwise)."""
    lines = [f"port = {port}", "listen_addresses = '127.0.0.1'", f"unix_socket_directories = '{data}'",
             "hot_standby = on", "hot_standby_feedback = on", "shared_buffers = 32MB",
             "fsync = off", "max_standby_streaming_delay = 30s"]
    for name in ("max_connections", "max_worker_processes", "max_wal_senders",
                 "max_prepared_transactions", "max_locks_per_transaction"):
        cursor.execute(f"SHOW {name}")
        lines.append(f"{name} = {cursor.fetchone()[0]}")
    return "\n".join(lines) + "\n"


def _start_standby(primary: dict) -> tuple[int, Path, Path]:
    """Base-backup the primary and start it as a hot standby; answers (port, data dir, bindir)."""
    import psycopg

    host, port = primary.get("HOST") or "127.0.0.1", int(primary.get("PORT") or 5432)
    user = primary.get("USER") or "postgres"
    with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as conn:
        with conn.cursor() as cursor:
            bindir = _bindir(cursor)
            _allow_replication(cursor)
            standby_port = _free_port()
            data = Path(tempfile.mkdtemp(prefix="clientbase-replica-"))
            conf = _standby_settings(cursor, standby_port, data)
    primary_info = {"host": host, "port": port, "user": user}
    slot = _slot_name(data)
    try:
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
        data.chmod(0o700)
        for attempt in range(3):
            _drop_slot(primary_info, slot)  # one a failed attempt created
            try:
                # A throwaway copy: no manifest to checksum, no fsync of its files.
                _as_postgres(str(bindir / "pg_basebackup"), "-h", host, "-p", str(port), "-U", user,
                             "-D", str(data), "-X", "stream", "-c", "fast", "-R", "--no-manifest",
                             "--no-sync", "-C", "-S", slot, timeout=1200)
                (data / PRIMARY_FILE).write_text(json.dumps(primary_info))
                break
            except subprocess.CalledProcessError:
                # On a shared server another test run may end every backend
                # (pg_terminate_backend) midway; pg_basebackup empties the
                # directory on failure, so a new attempt starts clean.
                if attempt == 2:
                    raise
        (data / "postgresql.conf").write_text(conf)
        (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        if os.geteuid() == 0:
            for name in ("postgresql.conf", "pg_hba.conf"):
                shutil.chown(data / name, "postgres", "postgres")
        _as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"),
                     "-w", "-t", "600", "start")
    except BaseException:
        _stop_standby(data, bindir)  # whatever got that far: a half-started server, the copy
        _drop_slot(primary_info, slot)
        raise
    return standby_port, data, bindir


def _slot_name(data: Path) -> str:
    """The standby's replication slot on the primary. It keeps the WAL the
    standby has not received: without one, a busy primary recycled segments
    between the base backup and the standby's start ("requested WAL segment
    ... has already been removed") and the standby never caught up."""
    return "clientbase_tests_" + data.name.rsplit("-", 1)[-1]


def _drop_slot(primary_info: dict, slot: str) -> None:
    """Drop the slot if it is there, once no standby streams from it (a stopped
    standby's sender may take a moment to go): a slot left behind would keep
    the shared server's WAL for ever."""
    import psycopg

    with psycopg.connect(**primary_info, dbname="postgres", autocommit=True) as conn:
        deadline = time.monotonic() + 60
        while conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", [slot]).fetchone():
            conn.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                         "WHERE slot_name = %s AND NOT active", [slot])
            if time.monotonic() > deadline:
                raise RuntimeError(f"replication slot {slot} is still in use; drop it by hand")
            time.sleep(0.2)


def _stop_standby(data: Path, bindir: Path) -> None:
    try:
        if (data / "postmaster.pid").exists():
            _as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop", timeout=60)
        if (data / PRIMARY_FILE).exists():
            _drop_slot(json.loads((data / PRIMARY_FILE).read_text()), _slot_name(data))
    finally:
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def _standby_register(directory: Path):
    """The shared standby's record ({port, data, bindir, users}) under a file
    lock, for the block to read and change: saved on leaving, removed when empty."""
    record = directory / "clientbase-standby.json"
    with (directory / "clientbase-standby.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(record.read_text()) if record.exists() else {}
        yield state
        if state:
            record.write_text(json.dumps(state))
        else:
            record.unlink(missing_ok=True)


@pytest.fixture(scope="package")
def streaming_cluster(django_db_setup, tmp_path_factory, worker_id):
    """The port of a hot standby of the test server, while this package's tests run.

    One standby serves every test process of the run: a base backup copies
    the whole cluster (with whatever other databases the server holds) and the
    standby then replays all of the server's writes, so a second one doubled
    both costs. The first process to need it starts it; the last to finish
    stops it (a record under a file lock in the run's shared temporary
    directory counts who uses it). A process alone (no xdist) has its own."""
    if connections["default"].vendor != "postgresql":
        pytest.skip("a streaming replica needs PostgreSQL")
    if not _wanted():
        pytest.skip("set REPLICA_TESTS=1 (CI=true does) to start a streaming replica")
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    with _standby_register(shared) as standby:
        if not standby:
            try:
                port, data, bindir = _start_standby(connections["default"].settings_dict)
            except (OSError, RuntimeError, subprocess.SubprocessError) as error:
                detail = getattr(error, "stderr", "") or error
                pytest.fail(f"the streaming replica did not start: {detail}")
            standby.update(port=port, data=str(data), bindir=str(bindir), users=[])
        standby["users"].append(worker_id)
    try:
        yield standby["port"]
    finally:
        with _standby_register(shared) as standby:
            standby["users"].remove(worker_id)
            if not standby["users"]:
                _stop_standby(Path(standby["data"]), Path(standby["bindir"]))
                standby.clear()


def wait_for_replay(alias: str = ALIAS, timeout: float = 30) -> None:
    """Until the replica has replayed everything the primary has written
    (and the router's lag check has seen it: a check before and one after,
    since other databases on a busy server move the WAL position on)."""
    routing.health.usable(alias)
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        target = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    while True:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"{alias} did not replay up to {target} in {timeout} s")
        time.sleep(0.02)


# The pins live in the shared cache in production (CACHE_URL is required with
# replicas): the real-replica tests keep them in the real Redis, database 10.
REDIS_PIN_CACHE = {"default": {"BACKEND": "django_redis.cache.RedisCache",
                               "LOCATION": os.environ.get("REPLICA_TESTS_REDIS", "redis://127.0.0.1:6379/10"),
                               "KEY_PREFIX": "clientbase-replica-tests"}}


@pytest.fixture
def streaming_replica(streaming_cluster, transactional_db):
    """`replica_1`: the standby, configured as DATABASE_REPLICA_URLS would,
    reading this worker's test database; the pins in Redis."""
    primary = connections["default"].settings_dict
    url = f"postgres://{primary.get('USER') or 'postgres'}@127.0.0.1:{streaming_cluster}/postgres"
    replica = replica_databases(url, primary)[ALIAS]
    replica["NAME"] = primary["NAME"]  # what TEST MIRROR does: the test database, through the standby
    # A window wider than the default: on a loaded test machine, waiting for
    # the replay can itself take seconds, after which the replica must still
    # count as caught up. (A wider window only pins longer.)
    with override_settings(CACHES=REDIS_PIN_CACHE, REPLICA_PIN_SECONDS=60), database_alias(ALIAS, replica):
        from django.core.cache import cache
        try:
            cache.set("replica-tests:ping", 1, timeout=5)
        except Exception as error:  # redis' own errors: the shared cache is part of the set-up
            pytest.fail(f"Redis for the replica pins does not answer: {error}")
        wait_for_replay(ALIAS, timeout=120)  # the test database's tables, created before the standby
        yield ALIAS
