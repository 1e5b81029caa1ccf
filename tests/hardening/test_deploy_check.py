"""Issue 8, finding 8: `clientbase check --deploy` with production settings
warned (HSTS, SSL redirect, insecure cookies). The production environment
the README documents passes it without a warning; without `HTTPS=1` nothing
changes for plain-HTTP use (scripts/demo serves http://127.0.0.1)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"

# The README's "Production" environment, less what the test sets per run.
PRODUCTION = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "shop.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://shop.example.com",
    "HTTPS": "1",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "TRUSTED_PROXIES": "1",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}


def clientbase(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    # the settings this test is about come from it alone (and not from what
    # other tests of the run set: the browser tests allow async-unsafe code)
    base = {k: v for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "TEST_DATABASE_NAME", "DJANGO_SETTINGS_MODULE", "DEBUG",
                         "SECRET_KEY", "ALLOWED_HOSTS", "HTTPS", "SECURE_COOKIES",
                         "DJANGO_ALLOW_ASYNC_UNSAFE"}
            and not k.startswith("SECURE_")}
    return subprocess.run(
        [sys.executable, "-m", "clientbase.cli", *args],
        env={**base, "CLIENTBASE_HOME": str(tmp_path),
             "DATABASE_URL": f"sqlite:///{tmp_path / 'clientbase.sqlite3'}", **env},
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )


def test_the_documented_production_environment_is_in_the_readme():
    readme = README.read_text()
    for name, value in PRODUCTION.items():
        assert f"{name}={value}" in readme, name


def test_the_documented_production_environment_passes_the_deploy_check(tmp_path):
    # given the README's production environment and a long random key
    env = {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(64)}
    # when Django's deployment checklist runs, failing on any warning
    result = clientbase(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **env)
    # then it passes, with nothing to warn about
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output and "security.W" not in output, output


@pytest.mark.parametrize("https, redirect, hsts, secure_cookies", [
    ("", "False", "0", "False"),
    ("1", "True", "31536000", "True"),
])
def test_https_only_settings_follow_the_https_switch(tmp_path, https, redirect, hsts,
                                                     secure_cookies):
    env = {"HTTPS": https} if https else {}
    result = clientbase(tmp_path, "shell", "-c",
                        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, "
                        "s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)",
                        **env)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip().splitlines()[-1]  # after the shell's own banner
    assert printed.split() == [redirect, hsts, secure_cookies, secure_cookies]
