"""CLIENTBASE_HOME and the generated secret key (src/clientbase/settings.py)."""

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from clientbase import settings as clientbase_settings

KEY_FILE = ".clientbase-secret-key"
# What a person's shell might carry over from another run; the defaults under
# test are what clientbase does without them.
CONFIG_VARIABLES = {"CLIENTBASE_HOME", "SECRET_KEY", "DATABASE_URL", "TEST_DATABASE_NAME",
                    "STATIC_ROOT"}
PRINT_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({"home": str(settings.WORK_DIR), "key": settings.SECRET_KEY,
                  "database": str(settings.DATABASES["default"]["NAME"]),
                  "static": str(settings.STATIC_ROOT)}))
"""


def start_settings(cwd: Path, **env: str) -> dict[str, str]:
    """Load clientbase's settings in a new process started in `cwd`, the way
    `clientbase` does; returns where they put things and the secret key."""
    environ = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    environ |= {"DJANGO_SETTINGS_MODULE": "clientbase.settings", **env}
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-c", PRINT_SETTINGS], cwd=cwd, env=environ,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_default_home_is_the_same_whatever_the_working_directory(tmp_path):
    # given: CLIENTBASE_HOME unset (a SECRET_KEY keeps this test from writing a key)
    first_cwd, second_cwd = tmp_path / "one", tmp_path / "elsewhere" / "two"
    # when
    first = start_settings(first_cwd, SECRET_KEY="test-only")
    second = start_settings(second_cwd, SECRET_KEY="test-only")
    # then
    assert first == second
    home = Path(first["home"])
    assert home.is_absolute() and home.is_dir()
    assert not home.is_relative_to(first_cwd) and not home.is_relative_to(second_cwd)
    assert Path(first["database"]) == home / "clientbase.sqlite3"
    assert Path(first["static"]) == home / "staticfiles"


def test_from_a_source_checkout_the_default_home_is_its_var_directory(monkeypatch):
    # given: these tests run from the checkout they belong to
    checkout = Path(clientbase_settings.__file__).resolve().parents[2]
    assert (checkout / "pyproject.toml").is_file()
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    # when / then
    assert clientbase_settings._default_home() == checkout / "var"


@pytest.mark.parametrize(("project", "xdg_data_home", "expected"), [
    (None, "{tmp}/data", "{tmp}/data/clientbase"),
    (None, None, "{home}/.local/share/clientbase"),
    (None, "relative/data", "{home}/.local/share/clientbase"),
    ('[project]\nname = "someone-else"\n', None, "{home}/.local/share/clientbase"),
], ids=["installed-with-xdg", "installed", "relative-xdg-ignored", "another-projects-checkout"])
def test_an_installed_clientbase_keeps_its_home_in_the_users_data_directory(
        tmp_path, monkeypatch, project, xdg_data_home, expected):
    # given: settings.py at <root>/src/clientbase/settings.py, <root> not a clientbase checkout
    root = tmp_path / "root"
    (root / "src" / "clientbase").mkdir(parents=True)
    if project:
        (root / "pyproject.toml").write_text(project)
    monkeypatch.setattr(clientbase_settings, "BASE_DIR", root / "src" / "clientbase")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    if xdg_data_home:
        monkeypatch.setenv("XDG_DATA_HOME", xdg_data_home.format(tmp=tmp_path))
    else:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    # when / then
    assert clientbase_settings._default_home() == Path(
        expected.format(tmp=tmp_path, home=tmp_path / "user"))


def test_without_secret_key_a_key_is_generated_once_in_the_home_and_kept_private(tmp_path):
    # given: a home that does not exist yet, and no SECRET_KEY
    home = tmp_path / "data" / "home"
    # when
    first = start_settings(tmp_path / "cwd", CLIENTBASE_HOME=str(home))
    # then
    key_file = home / KEY_FILE
    assert len(first["key"]) >= 50 and key_file.read_text().strip() == first["key"]
    assert mode(key_file) == 0o600
    assert mode(home) == 0o700
    assert sorted(p.name for p in home.iterdir()) == [KEY_FILE]
    assert not (tmp_path / "cwd" / KEY_FILE).exists()
    # and the next start, from another directory, signs with the same key
    second = start_settings(tmp_path / "other", CLIENTBASE_HOME=str(home))
    assert second["key"] == first["key"]


def test_processes_starting_together_agree_on_one_key(tmp_path):
    # given: many starts racing for a key file that does not exist yet
    path = tmp_path / KEY_FILE
    starts = 16
    ready = threading.Barrier(starts)
    keys: list[str] = []

    def start() -> None:
        ready.wait()
        keys.append(clientbase_settings.read_or_create_secret_key(path))

    threads = [threading.Thread(target=start) for _ in range(starts)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then: one key for all, and no temporary file left behind
    assert len(keys) == starts and set(keys) == {path.read_text().strip()}
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]


def test_an_empty_key_file_is_refused_rather_than_signing_with_an_empty_key(tmp_path):
    # given
    path = tmp_path / KEY_FILE
    path.write_text("\n")
    # when / then
    with pytest.raises(ImproperlyConfigured, match="delete it and restart"):
        clientbase_settings.read_or_create_secret_key(path)


def test_the_secret_key_is_not_in_the_repository():
    # given
    checkout = Path(clientbase_settings.__file__).resolve().parents[2]
    if not (checkout / ".git").exists():
        pytest.skip("not run from a git checkout")
    # when
    tracked = subprocess.run(["git", "ls-files", f"*{KEY_FILE}*"], cwd=checkout,
                             capture_output=True, text=True, check=True).stdout
    ignored = subprocess.run(["git", "check-ignore", "--no-index", KEY_FILE, f"sub/dir/{KEY_FILE}"],
                             cwd=checkout, capture_output=True, text=True).stdout
    # then
    assert tracked == ""
    assert ignored.split() == [KEY_FILE, f"sub/dir/{KEY_FILE}"]
