"""The README's Quick start, as a new user runs it: a fresh clone of the
committed HEAD, `scripts/demo` (which creates .venv and installs the project),
then the API token example typed by hand in another shell.

Slow (a virtualenv and an install: half a minute with a warm pip cache,
minutes without), so it runs once per CI run, in scripts/test's SQLite pass.
It tests what is committed, not the working tree: commit before running it.
"""

import json
import os
import queue
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from clientbase.customers import demo

REPO = Path(__file__).resolve().parents[2]
KEY_FILE = ".clientbase-secret-key"
DEMO_ORGANIZATIONS = {"ADMIN", "EU-HQ", "EU-MGMT", "US-HQ", "US-SALES"}
# What the test run itself carries and a new user's shell does not: each would
# make the clone use our database, key, home or packages instead of its own.
LEAKING_VARIABLES = {
    "DATABASE_URL", "TEST_DATABASE_NAME", "SECRET_KEY", "CLIENTBASE_HOME", "STATIC_ROOT",
    "DJANGO_SETTINGS_MODULE", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DEBUG",
    "CLIENTBASE_ADMIN_PASSWORD", "HOST", "WEB_CONCURRENCY",
}
READY_TIMEOUT = 900  # seconds: creating .venv and installing from an empty pip cache

pytestmark = [
    pytest.mark.quickstart,
    pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                       reason="runs once per test run, in the SQLite pass; the demo makes "
                              "its own SQLite database whatever DATABASE_URL says"),
]


def unavailable(reason: str) -> None:
    # In CI a missing prerequisite must show as a failure: a skip there would
    # let the Quick start break unnoticed.
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the Quick start test")
    pytest.skip(reason)


def package_index_reachable() -> bool:
    index = urlsplit(os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple"))
    port = index.port or (443 if index.scheme == "https" else 80)
    try:
        socket.create_connection((index.hostname, port), timeout=10).close()
    except OSError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_user_environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LEAKING_VARIABLES}
    # Our virtualenv's bin/ would hand scripts/demo our python and packages.
    venv_bins = {str(Path(p) / "bin") for p in {sys.prefix, os.environ.get("VIRTUAL_ENV", "")}
                 if p and sys.prefix != sys.base_prefix}
    env["PATH"] = os.pathsep.join(
        d for d in env.get("PATH", "").split(os.pathsep) if d not in venv_bins)
    # A home that wrongly fell back to the user's data directory shows up here.
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    return env


def readme_line(readme: Path, pattern: str) -> str:
    """The README line that matches `pattern` — the test runs what the README says."""
    lines = [line.strip() for line in readme.read_text().splitlines() if re.search(pattern, line)]
    assert len(lines) == 1, f"expected one line matching {pattern!r} in README.md, got {lines}"
    return lines[0]


def files_named(root: Path, prefix: str) -> list[Path]:
    found = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d not in {".git", ".venv"}]
        found += [Path(directory) / f for f in files if f.startswith(prefix)]
    return sorted(found)


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def clone(tmp_path) -> Path:
    """A fresh clone of the committed HEAD, as a new user gets it."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        unavailable("git, or the git checkout of clientbase, is missing")
    if not package_index_reachable():
        unavailable("the package index (PyPI) is not reachable: scripts/demo installs from it")
    head = git("rev-parse", "HEAD", cwd=REPO).strip()
    path = tmp_path / "clientbase"
    git("clone", "--quiet", "--no-hardlinks", str(REPO), str(path), cwd=tmp_path)
    git("checkout", "--quiet", "--detach", head, cwd=path)
    return path


class Demo:
    """`scripts/demo` running in its own process group, its output collected."""

    def __init__(self, clone: Path, env: dict[str, str]):
        self.proc = subprocess.Popen(
            ["scripts/demo"], cwd=clone, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.output: list[str] = []
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)  # the output closed: the process has ended

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.1))
            except queue.Empty:
                pytest.fail(f"no {text!r} within {timeout}s:\n" + "".join(self.output))
            assert line is not None, "scripts/demo ended:\n" + "".join(self.output)
            self.output.append(line)
            if text in line:
                return

    def stop(self) -> int:
        """Ctrl-C to the whole group (scripts/demo's server and its workers)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


def get_json(url: str, token: str):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_the_readme_quick_start_and_token_example_work_on_a_fresh_clone(clone, tmp_path):
    # given: a fresh clone, without a secret key anywhere
    assert files_named(clone, KEY_FILE) == []
    readme = clone / "README.md"
    token_line = readme_line(readme, r"^\s*TOKEN=\$\(")
    api_url = readme_line(readme, r"^\s*curl .*Bearer \$TOKEN").split()[-1]
    port = free_port()
    env = new_user_environment(tmp_path)
    demo_run = Demo(clone, env | {"PORT": str(port)})
    try:
        # when: scripts/demo, until it prints the URL and the login
        demo_run.wait_for("Administrator:", timeout=READY_TIMEOUT)
        printed = "".join(demo_run.output)
        assert f"http://127.0.0.1:{port}/" in printed
        assert f"{demo.ADMIN_EMAIL} / {demo.DEFAULT_ADMIN_PASSWORD}" in printed
        # and, in another shell, the README's token line (set -e: a failing
        # command inside $(...) fails the shell instead of leaving TOKEN empty)
        shell = subprocess.run(["bash", "-c", f'set -e\n{token_line}\nprintf %s "$TOKEN"'],
                               cwd=clone, env=env, capture_output=True, text=True, timeout=120)
        assert shell.returncode == 0, shell.stderr
        token = shell.stdout
        assert re.fullmatch(r"\S+", token), f"not a token: {token!r}\n{shell.stderr}"
        # then: the README's request answers with the demo organizations
        url = api_url.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        status, body = get_json(url, token)
        assert status == 200
        assert {item["key"] for item in body["items"]} == DEMO_ORGANIZATIONS
        # and clientbase run from any other directory works on the same data
        elsewhere = subprocess.run(
            [str(clone / ".venv" / "bin" / "clientbase"), "createtoken", demo.ADMIN_EMAIL],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert elsewhere.returncode == 0, elsewhere.stderr
        assert get_json(url, elsewhere.stdout.strip())[0] == 200
    finally:
        returncode = demo_run.stop()
    assert returncode == 0, "".join(demo_run.output)
    # and the data, with its generated private key, is in var/ and nowhere else
    home = clone / "var"
    assert files_named(clone, KEY_FILE) == [home / KEY_FILE]
    assert stat.S_IMODE((home / KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert (home / "clientbase.sqlite3").is_file()
    assert not (tmp_path / "xdg-data").exists()
    assert files_named(tmp_path, KEY_FILE) == [home / KEY_FILE]
    # and nothing was written outside ignored paths
    assert git("status", "--porcelain", "--untracked-files=all", cwd=clone) == ""
