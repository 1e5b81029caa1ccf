"""Settings for clientbase, read from the environment.

CLIENTBASE_HOME  where the embedded defaults keep their files (the SQLite
               database, the generated secret key, collected static files);
               created with mode 0700 when missing. Default: `var/` of the
               source checkout when clientbase runs from one (an editable
               install, as `scripts/demo` makes), otherwise the per-user data
               directory `$XDG_DATA_HOME/clientbase` (`~/.local/share/clientbase`).
               Never the working directory: `scripts/demo` and `clientbase`
               typed by hand, from anywhere, use the same data.
DATABASE_URL   default: a SQLite file `clientbase.sqlite3` in CLIENTBASE_HOME
CONN_MAX_AGE   seconds a database connection is kept for the next request (default 60)
DATABASE_POOL  PostgreSQL only: a pool of this many connections per server
               process (psycopg's pool; `on` = 4, about one per request thread);
               CONN_MAX_AGE is then 0. Default: off. With PgBouncer in front
               instead, leave it off (docs/scaling.md, "Connection pooling").
DATABASE_PREPARED  PostgreSQL only: on (the default) binds query parameters on
               the server and lets psycopg prepare a statement from its 6th run
               on a connection, so that PostgreSQL stops planning the hot
               queries anew on every request (and may keep one generic plan);
               `off` for PgBouncer older than 1.21 in transaction pooling, or
               without `max_prepared_statements` (docs/scaling.md, "Prepared
               statements"). SQLite is left as it is.
SECRET_KEY     default: generated on first start and kept in
               `CLIENTBASE_HOME/.clientbase-secret-key` (mode 0600); delete that
               file and restart to rotate it (sessions and signed cookies end)
DEBUG          default: off
ALLOWED_HOSTS  comma-separated; default: localhost names
CACHE_URL      e.g. redis://127.0.0.1:6379/1; default: in-process memory. With a
               shared cache, token lookups, visibility scopes, effective groups
               and resolved prices are cached under versioned entries
               (clientbase.core.caching, docs/scaling.md); without one they
               are read from the database on every request
DATABASE_REPLICA_URLS  comma-separated URLs of PostgreSQL read replicas (streaming
               standbys of DATABASE_URL), aliases `replica_1`, `replica_2`, ...:
               reads while serving a request go to one of them, except what must
               be read on the primary (clientbase.core.routing; docs/scaling.md).
               Needs CACHE_URL (a client that wrote is pinned to the primary by a
               key in the shared cache). Default: none, everything on DATABASE_URL.
REPLICA_PIN_SECONDS  how long a client that wrote reads the primary, and the
               largest lag a replica may have and still be read (default 10)
REPLICA_CHECK_SECONDS  how often each process checks a replica's lag (default 1)
EMAIL_HOST     an SMTP server for the shop's mail (verification links, password
               resets), with EMAIL_PORT (587), EMAIL_HOST_USER,
               EMAIL_HOST_PASSWORD, EMAIL_USE_TLS (on) or EMAIL_USE_SSL;
               default: none, each message is written as a file in
               CLIENTBASE_HOME/mail. DEFAULT_FROM_EMAIL: the sender.
STOREFRONT_MARKET  the key of the market the storefront shows prices in until a
               visitor chooses another; default: the first active market by key
STOREFRONT_NAME    the shop's name in the storefront's header; default "clientbase shop"
TASKS_BACKEND  where background jobs (large back-office imports) wait: `db` (the
               default: a table in the database, worked by the worker that
               `clientbase serve` starts), `rq` (Redis through RQ, worked by
               `clientbase worker` processes; REDIS_URL, else CACHE_URL, names
               the server) or `immediate` (run at once, in the request)
IMPORT_DIR     where uploaded import files and their errors files wait; default
               CLIENTBASE_HOME/imports (shared storage when workers run elsewhere)
IMPORT_MAX_BYTES   the largest upload (default 200 MB)
IMPORT_BACKGROUND_ROWS  files with more data rows run as a background job (default 2000)
HTTPS          1 when the site is served over HTTPS only: secure cookies, SSL
               redirect and HSTS (one year) default on; see the README's
               "Production" for the proxy header and the other HSTS switches
LOG_FORMAT     `json` (the default: one JSON object a line on stderr, with the
               request id) or `text`; LOG_LEVEL (WARNING) for everything but
               the request log; LOG_REQUESTS (on): one line per request
METRICS        1 turns on Prometheus metrics at /metrics (default off: 404);
               METRICS_TOKEN, when set, must come as `Authorization: Bearer
               <token>`; METRICS_ALLOWED_NETWORKS, comma-separated addresses
               or networks (e.g. 10.0.0.0/8), limits who may scrape
GRACEFUL_TIMEOUT  seconds `serve` lets requests in flight finish after
               SIGTERM before it stops its workers anyway (default 10)
"""

import os
import secrets
import tempfile
import tomllib
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY_FILE = ".clientbase-secret-key"


def _source_checkout() -> Path | None:
    """The repository root when this file is src/clientbase/settings.py of a
    clientbase checkout; None when clientbase is installed (site-packages)."""
    root = BASE_DIR.parents[1]
    try:
        with open(root / "pyproject.toml", "rb") as f:
            name = tomllib.load(f).get("project", {}).get("name")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return root if name == "clientbase" else None


def _default_home() -> Path:
    if checkout := _source_checkout():
        return checkout / "var"  # ignored by git, like .venv beside it
    data_home = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec says to ignore a relative XDG_DATA_HOME.
    base = Path(data_home) if os.path.isabs(data_home) else Path.home() / ".local" / "share"
    return base / "clientbase"


WORK_DIR = Path(os.environ.get("CLIENTBASE_HOME") or _default_home()).expanduser().absolute()


def _ensure_home() -> Path:
    """WORK_DIR, created (mode 0700: it holds the secret key and the data) if
    missing. Called only by the defaults that keep files there, so a deployment
    with SECRET_KEY and DATABASE_URL set never needs a writable home."""
    try:
        WORK_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"Cannot create CLIENTBASE_HOME {WORK_DIR} ({exc.strerror}); set CLIENTBASE_HOME "
            "to a writable directory, or set SECRET_KEY and DATABASE_URL.") from exc
    return WORK_DIR


# How a switch in the environment is written, in lower case.
ON_WORDS = {"1", "true", "yes", "on"}
OFF_WORDS = {"0", "false", "no", "off"}


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ON_WORDS


def database_pool(value: str, engine: str) -> dict | None:
    """Django's OPTIONS["pool"] for DATABASE_POOL's `value`: None (no pool)
    for "", 0 or off; the pool's size for a number; 4 connections for on,
    true or yes. ImproperlyConfigured for another value, or for a database
    other than PostgreSQL."""
    value = value.strip().lower()
    if value == "" or value in OFF_WORDS:
        return None
    size = 4 if value in ON_WORDS - {"1"} else int(value) if value.isdigit() else None
    if size is None:
        raise ImproperlyConfigured(f"DATABASE_POOL={value!r}: a number of connections, on or off.")
    if engine != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_POOL needs PostgreSQL (psycopg's pool).")
    # Kept open at its full size: a pool that shrinks reconnects under the next burst.
    return {"min_size": size, "max_size": size, "timeout": 10}


# psycopg's own default: a statement is prepared on its 6th run on a connection.
PREPARE_THRESHOLD = 5


def database_prepared(value: str, engine: str) -> dict:
    """Django's OPTIONS for DATABASE_PREPARED's `value` ("" is the default):
    on PostgreSQL, unless off (0, off, false, no), parameters are bound on
    the server (psycopg's `Cursor`, not the `ClientCursor` Django takes by
    default) and psycopg prepares each statement from its 6th run on a
    connection, so that PostgreSQL stops planning it anew every time (and
    may keep a generic plan). {} (Django's defaults: nothing prepared) when
    off, and for any other database. ImproperlyConfigured for a value that
    is neither on nor off."""
    value = value.strip().lower()
    if value not in {"", *ON_WORDS, *OFF_WORDS}:
        raise ImproperlyConfigured(f"DATABASE_PREPARED={value!r}: on or off.")
    if value in OFF_WORDS or engine != "django.db.backends.postgresql":
        return {}
    return {"server_side_binding": True, "prepare_threshold": PREPARE_THRESHOLD}


def read_or_create_secret_key(path: Path) -> str:
    """The key kept in `path`, generated there (mode 0600) if the file is missing.

    The key is written to a private temporary file first and then hard-linked
    into place: the link either creates `path` whole or fails because it exists,
    so processes starting together all end up with the one key that won, and
    nobody ever reads a half-written file.
    """
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        # mkstemp creates the file with mode 0600, and the link keeps that mode.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(50) + "\n")
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process got there first: use its key
        finally:
            os.unlink(tmp)
        key = path.read_text().strip()
    if not key:
        raise ImproperlyConfigured(f"{path} is empty; delete it and restart to generate a new key.")
    return key


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    # The embedded default keeps a generated key in the home directory so that
    # sessions and signed cookies survive a restart. It is never committed:
    # a key that ships with the code would sign everyone's sessions alike.
    return read_or_create_secret_key(_ensure_home() / SECRET_KEY_FILE)


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DEBUG")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.simple_history",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "simple_history",
    "axes",
    "ninja",
    "clientbase.core",
    "clientbase.customers",
    "clientbase.catalog",
    "clientbase.pricing",
    "clientbase.marketing",
    "clientbase.shopping",
    "clientbase.transfer",
    "django_tasks",
    "django_tasks_db",
    "clientbase.backoffice",
    "clientbase.storefront",
    "clientbase.cli",
]

MIDDLEWARE = [
    # First: the request id, the request's log line and metrics (clientbase.ops).
    "clientbase.ops.middleware.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, which also keeps sessions logged in before AccountBackend.
    "clientbase.customers.authentication.AuthenticationMiddleware",
    # Django's, without its request <-> storage reference cycle.
    "clientbase.ops.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "clientbase.storefront.personalization.VisitorCookieMiddleware",
]

ROOT_URLCONF = "clientbase.urls"
WSGI_APPLICATION = "clientbase.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{_ensure_home() / 'clientbase.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while one writer commits; IMMEDIATE makes a
    # writing transaction take the lock up front instead of failing midway.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20,
         "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
# Connection pooling (docs/scaling.md, "Connection pooling"): psycopg's pool,
# one per process, through Django's OPTIONS["pool"]. A pooled connection goes
# back to the pool after each request, so CONN_MAX_AGE must be 0.
if pool := database_pool(os.environ.get("DATABASE_POOL", ""), DATABASES["default"]["ENGINE"]):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = pool
if test_name := os.environ.get("TEST_DATABASE_NAME"):
    # Lets parallel test runs on one PostgreSQL server keep apart.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = test_name



def replica_databases(urls: str, primary: dict) -> dict[str, dict]:
    """The DATABASES entries (`replica_1`, ...) for DATABASE_REPLICA_URLS.

    A replica is a streaming standby of the primary: the same databases, so a
    test run reads the primary's test database through it (TEST MIRROR) and
    creates nothing there."""
    replicas = {}
    for number, url in enumerate((u.strip() for u in urls.split(",") if u.strip()), start=1):
        replica = dj_database_url.parse(url, conn_max_age=primary.get("CONN_MAX_AGE", 0))
        if replica["ENGINE"] != "django.db.backends.postgresql" or primary["ENGINE"] != replica["ENGINE"]:
            raise ImproperlyConfigured("DATABASE_REPLICA_URLS: read replicas need PostgreSQL, "
                                       "for DATABASE_URL and every replica.")
        # A replica that does not answer is skipped (core.routing) after this, not waited for.
        replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
        replica["TEST"] = {"MIRROR": "default"}
        replicas[f"replica_{number}"] = replica
    return replicas


# Read replicas (clientbase.core.routing): off unless DATABASE_REPLICA_URLS is set.
DATABASES.update(replica_databases(os.environ.get("DATABASE_REPLICA_URLS", ""), DATABASES["default"]))
DATABASE_REPLICAS = [alias for alias in DATABASES if alias.startswith("replica_")]
# Prepared statements (DATABASE_PREPARED) on the primary and on each replica alike.
for _database in DATABASES.values():
    _database.setdefault("OPTIONS", {}).update(
        database_prepared(os.environ.get("DATABASE_PREPARED", ""), _database["ENGINE"]))
REPLICA_PIN_SECONDS = float(os.environ.get("REPLICA_PIN_SECONDS", "10"))
REPLICA_CHECK_SECONDS = float(os.environ.get("REPLICA_CHECK_SECONDS", "1"))
DATABASE_ROUTERS = ["clientbase.core.routing.ReadReplicaRouter"]
if DATABASE_REPLICAS and not os.environ.get("CACHE_URL"):
    raise ImproperlyConfigured("DATABASE_REPLICA_URLS needs CACHE_URL: a client that wrote reads the "
                               "primary for a while, and every app process must know it.")
# Installed always (without replicas both answer "the primary" at once), so
# that tests can turn replicas on; outermost but for static files, so that
# the session saved on the way out counts as the request's write.
MIDDLEWARE.insert(MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1,
                  "clientbase.core.routing.ReadReplicaMiddleware")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "customers.Account"

if cache_url := os.environ.get("CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": cache_url,
            "KEY_PREFIX": "clientbase",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, whose session account is read as a token's
    # (customers.services.principals). Its path: authentication.BACKEND.
    "clientbase.customers.authentication.AccountBackend",
]

# Login throttling: lock an e-mail + address pair after 5 failures for 15
# minutes; the e-mail as the account lookup reads it (any spelling of one
# address is one count), and a locked-out attempt answers as a wrong password
# does. The policy: clientbase.customers.throttling.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
# Attempts during a lock are refused without counting, so a customer who keeps
# trying is let in again 15 minutes after the failure that set the lock.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "clientbase.customers.throttling.login_key"
AXES_CLIENT_IP_CALLABLE = "clientbase.customers.throttling.client_address"
# How many proxies in front append the address they saw to X-Forwarded-For
# (0: clients connect directly, REMOTE_ADDR is theirs).
TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
AXES_LOCKOUT_CALLABLE = "clientbase.customers.throttling.failed_login_answer"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = _env_bool("AXES_ENABLED", True)

# Attempts limited per client address (customers.throttling.check_rate):
# public registrations, so that nobody enumerates e-mails at scale, and
# password-reset requests, so that nobody floods an inbox.
REGISTRATION_RATE = os.environ.get("REGISTRATION_RATE", "10/hour")
PASSWORD_RESET_RATE = os.environ.get("PASSWORD_RESET_RATE", "5/hour")

# Shopping: anonymous carts are kept this many days after their last change;
# a line holds at most CART_MAX_QUANTITY; at log-in the anonymous cart joins
# the account's saved cart by CART_MERGE_POLICY: add (the quantities), larger
# (keep the larger quantity) or replace (the saved cart becomes the anonymous
# one, when that has lines).
CART_TTL_DAYS = int(os.environ.get("CART_TTL_DAYS", "30"))
CART_MAX_QUANTITY = int(os.environ.get("CART_MAX_QUANTITY", "999"))
CART_MERGE_POLICY = os.environ.get("CART_MERGE_POLICY", "add")
# The cookie that carries an anonymous visitor's cart id, signed (the
# storefront and /api/v1/me read it alike: clientbase.shopping.cookie).
CART_COOKIE_NAME = os.environ.get("CART_COOKIE_NAME", "").strip() or "cart"
# How long a link that proves an e-mail address stays valid.
EMAIL_VERIFICATION_DAYS = int(os.environ.get("EMAIL_VERIFICATION_DAYS", "7"))

# Background jobs: Django's Tasks API through the django-tasks backport.
TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "db").strip().lower() or "db"
_TASK_BACKENDS = {"db": "django_tasks_db.DatabaseBackend", "rq": "django_tasks_rq.RQBackend",
                  "immediate": "django_tasks.backends.immediate.ImmediateBackend"}
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(f"TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)}, not {TASKS_BACKEND!r}.")
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND], "QUEUES": ["default"]}}
RQ_QUEUES = {"default": {"URL": os.environ.get("REDIS_URL") or cache_url or "redis://127.0.0.1:6379/0",
                         "DEFAULT_TIMEOUT": 24 * 3600}}
RQ_SHOW_ADMIN_LINK = False  # the back office lists import jobs itself
if TASKS_BACKEND == "rq":
    # Only then: its `rqworker` command (which `clientbase worker` runs), and
    # a dashboard model without a table that counting every model would trip on.
    INSTALLED_APPS.insert(INSTALLED_APPS.index("clientbase.backoffice"), "django_rq")
# Back-office imports (clientbase.transfer.jobs).
IMPORT_DIR = Path(os.environ.get("IMPORT_DIR") or WORK_DIR / "imports")
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(200 * 1024 * 1024)))
IMPORT_BACKGROUND_ROWS = int(os.environ.get("IMPORT_BACKGROUND_ROWS", "2000"))

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", WORK_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# `serve` collects static files first; finders (uncompressed, short cache)
# only stand in while developing.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/admin/login/"

# The storefront (clientbase.storefront, clientbase.pricing.listing).
STOREFRONT_MARKET = os.environ.get("STOREFRONT_MARKET", "").strip()
STOREFRONT_NAME = os.environ.get("STOREFRONT_NAME", "").strip() or "clientbase shop"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# HTTPS=1: the site is served over HTTPS only (by clientbase's proxy). It turns
# on what Django's deployment checklist asks for; without it (scripts/demo on
# http://127.0.0.1) none of it is on, since each would break plain HTTP.
HTTPS = _env_bool("HTTPS")
SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES", HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if HTTPS else "0"))
# Both promise that every subdomain is HTTPS too (preload: for good, in the
# browsers' built-in lists), so they are only ever turned on by hand.
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD")
# Behind a proxy that ends TLS: the header it sets to "https" (and strips from
# what clients send), e.g. X-Forwarded-Proto; without it, SECURE_SSL_REDIRECT
# would redirect requests the proxy already received over HTTPS, forever.
if proxy_ssl_header := os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip():
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + proxy_ssl_header.upper().replace("-", "_"), "https")

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "clientbase <noreply@localhost>")
if EMAIL_HOST := os.environ.get("EMAIL_HOST", "").strip():
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_SSL = _env_bool("EMAIL_USE_SSL")
    EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
    EMAIL_TIMEOUT = 10
else:
    # The embedded default: nothing is sent; each message is a file to read.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = WORK_DIR / "mail"

# Operations (clientbase.ops, docs/scaling.md "Operations"): logs, metrics, shutdown.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json").strip().lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "clientbase.core.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler",  # stderr
                             "formatter": "text" if LOG_FORMAT == "text" else "json"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {"clientbase.requests": {"level": "INFO" if _env_bool("LOG_REQUESTS", True) else "WARNING"}},
}
METRICS = _env_bool("METRICS")
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "").strip()
METRICS_ALLOWED_NETWORKS = [n.strip() for n in os.environ.get("METRICS_ALLOWED_NETWORKS", "").split(",")
                            if n.strip()]
# Probes and scrapers ask the instance itself, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
GRACEFUL_TIMEOUT = int(os.environ.get("GRACEFUL_TIMEOUT", "10"))

from clientbase.backoffice.unfold_settings import UNFOLD  # noqa: E402,F401
