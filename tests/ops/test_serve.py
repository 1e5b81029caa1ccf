"""`clientbase serve` as operators run it: a graceful stop on SIGTERM, and
metrics that add up every worker process."""

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.core.test_cli import free_port
from tests.ops.urls import SLOW_BODY_BYTES

ROOT = Path(__file__).resolve().parents[2]
GRACEFUL_TIMEOUT = 30


@pytest.fixture
def serve(tmp_path):
    """start(*args, **env) → `clientbase serve --workers 2 *args` in a
    subprocess on an empty SQLite home, with the test-only routes of
    tests/ops/urls.py; answers its base URL and process (whose `lines` queue
    holds what it prints after the banner, then None)."""
    procs = []

    def start(*args, **extra_env):
        port = free_port()
        env = {k: v for k, v in os.environ.items()
               if k not in {"DATABASE_URL", "TEST_DATABASE_NAME", "STATIC_ROOT", "DEBUG"}}
        env.update(CLIENTBASE_HOME=str(tmp_path), DJANGO_SETTINGS_MODULE="tests.ops.site",
                   PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]),
                   SLOW_DIR=str(tmp_path), GRACEFUL_TIMEOUT=str(GRACEFUL_TIMEOUT), TMPDIR=str(tmp_path))
        env.update(extra_env)
        proc = subprocess.Popen(
            [sys.executable, "-m", "clientbase.cli", "serve", "--port", str(port), "--workers", "2", *args],
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(proc)
        lines: queue.Queue = queue.Queue()

        def read() -> None:
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        proc.lines = lines  # what it prints from now on, then None
        output = []
        while True:  # serve prints its URL once the socket is bound
            line = lines.get(timeout=180)
            assert line is not None, "serve ended before serving:\n" + "".join(output)
            output.append(line)
            if "clientbase is serving on" in line:
                return f"http://127.0.0.1:{port}", proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def get(url: str, timeout: float = 60, **headers):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as resp:
        return resp.status, resp.read()


def wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.05)


class SlowRequest:
    """GET /test-slow?name=… in a thread, held in the view until released."""

    def __init__(self, base: str, folder: Path, name: str):
        self.folder, self.name, self.answer = folder, name, {}
        self.thread = threading.Thread(target=self._run, args=(f"{base}/test-slow?name={name}",))
        self.thread.start()
        wait_for((folder / f"{name}.started").exists)
        self.worker_pid = int((folder / f"{name}.started").read_text())

    def _run(self, url: str) -> None:
        try:
            self.answer["status"], self.answer["body"] = get(url)
        except Exception as exc:  # noqa: BLE001 - the test reads it
            self.answer["error"] = exc

    def release(self) -> dict:
        (self.folder / f"{self.name}.release").write_text("go")
        self.thread.join(timeout=60)
        return self.answer


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sigterm_lets_a_request_in_flight_finish_refuses_new_connections_and_exits_0(serve, tmp_path):
    # given: a request in flight
    base, proc = serve()
    slow = SlowRequest(base, tmp_path, "first")
    # when
    proc.send_signal(signal.SIGTERM)
    # then: new connections are refused while that request is still running
    wait_for(lambda: refuses_connections(int(base.rsplit(":", 1)[1])))
    assert slow.thread.is_alive() and not slow.answer, slow.answer
    # and once it is done, it arrives whole
    answer = slow.release()
    assert answer.get("error") is None
    assert answer["status"] == 200 and answer["body"] == b"x" * SLOW_BODY_BYTES
    # and serve exits 0 within the graceful timeout
    assert proc.wait(timeout=GRACEFUL_TIMEOUT + 5) == 0


def test_sigterm_as_soon_as_serve_listens_stops_every_worker_without_killing_one(serve, tmp_path):
    # given: serve has just said it serves; its second worker may still be
    # starting, before it has set up its own signal handling (a SIGTERM then
    # once went unheard, and serve waited out its timeout and killed it)
    base, proc = serve(GRACEFUL_TIMEOUT="600")
    # when
    proc.send_signal(signal.SIGTERM)
    # then: serve exits 0 long before the kill timeout, and no worker was killed
    assert proc.wait(timeout=120) == 0
    output = "".join(iter(proc.lines.get, None))
    assert "refused to gracefully stop" not in output, output


def samples(text: str) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_add_up_every_worker_and_their_directory_goes_when_serve_ends(serve, tmp_path):
    # given: two workers, metrics on, and requests on fresh connections
    # until both workers have answered some (the kernel spreads connections
    # over the workers' sockets; a worker binds its socket once it has loaded
    # the application, the second maybe seconds after the first)
    base, proc = serve(METRICS="1")
    answered_by: list[str] = []
    deadline = time.monotonic() + 60
    while len(set(answered_by)) < 2:
        assert time.monotonic() < deadline, f"one worker answered all {len(answered_by)} requests"
        status, body = get(f"{base}/test-pid")
        assert status == 200
        answered_by.append(body.decode())
    # when: one worker is scraped
    status, body = get(f"{base}/metrics")
    # then: it counts every request, its own and the other worker's
    assert status == 200
    pid_route = ("clientbase_http_requests_total", (("method", "GET"), ("route", "test-pid"), ("status", "200")))
    assert samples(body.decode()).get(pid_route) == len(answered_by)
    metric_dirs = list(tmp_path.glob("clientbase-metrics-*"))
    assert len(metric_dirs) == 1 and any(metric_dirs[0].glob("*.db"))
    # and the directory is removed when serve stops
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=GRACEFUL_TIMEOUT + 5) == 0
    assert not metric_dirs[0].exists()
