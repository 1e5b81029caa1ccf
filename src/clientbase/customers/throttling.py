"""Login throttling (django-axes), keyed as the account lookup reads an e-mail.

The policy (OWASP ASVS V6), set in settings (AXES_*) and told in the README:

- failures are counted per (e-mail as `canonical_email` reads it, client
  address; behind TRUSTED_PROXIES proxies, the one they forwarded): every
  spelling of one address (`LOCKME@example.com`, ` lockme@example.com`)
  shares one count, as it shares one account;
- after AXES_FAILURE_LIMIT (5) failures that pair is refused, the right
  password included, for the cool-off: 15 minutes after the failure that
  set the lock (attempts during the lock are refused without counting, so
  they do not make it longer); a customer at another address is not affected, so nobody locks a real
  customer out for longer than minutes;
- an e-mail nobody has is counted and locked exactly like an existing one,
  and a locked-out attempt answers what a wrong password answers (the door's
  own failed-login answer, in about the same time), so neither the message,
  the timing nor the lock tells whether an e-mail exists.
"""

import ipaddress
import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from clientbase.core.emails import canonical_email
from clientbase.core.errors import TooManyRequests
from clientbase.customers.models import Attempt


def login_key(request, credentials: dict | None) -> str | None:
    """The e-mail a login attempt is counted under (AXES_USERNAME_CALLABLE):
    the address as the account lookup reads it; None when the attempt names
    none. Doors pass it as `username` (Django's forms) or `email`."""
    credentials = credentials or {}
    email = credentials.get("username") or credentials.get("email")
    return canonical_email(email) if email else None


def client_address(request) -> str | None:
    """The client's address (AXES_CLIENT_IP_CALLABLE): REMOTE_ADDR, or behind
    TRUSTED_PROXIES proxies that each append the address they saw to
    X-Forwarded-For, the entry the outermost of them appended (what the
    client itself put in front is not trusted). Without it, every client
    behind a proxy would share the proxy's address, and a guesser could lock
    any customer out."""
    proxies = settings.TRUSTED_PROXIES
    if proxies > 0:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= proxies:
            try:  # stored as an IP address: never a made-up string
                return str(ipaddress.ip_address(forwarded[-proxies]))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR")


def failed_login_answer(request, response=None, credentials=None):
    """The answer to a locked-out attempt (AXES_LOCKOUT_CALLABLE): what the
    door already answered, since the lock made `authenticate` fail — the login
    form with its "wrong e-mail or password", or the API's 401. A distinct
    "locked" page would tell a guesser when to move on and how the count
    stands.

    The lock refuses before any password is checked; one hash here makes the
    refusal take as long as a wrong password does (Django's ModelBackend
    hashes once for an e-mail nobody has, for the same reason)."""
    make_password("locked-out")
    return response


# --- attempts limited per client address (not logins) ---------------------------

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)\s*$")


def parse_rate(rate: str) -> tuple[int, timedelta]:
    """"10/hour" → (10, one hour). Settings hold rates in this form."""
    match = _RATE_RE.match(rate or "")
    if not match:
        raise ValueError(f"A rate is 'N/second|minute|hour|day', not {rate!r}.")
    return int(match[1]), timedelta(seconds=_PERIODS[match[2]])


def check_rate(kind: str, client: str | None, rate: str) -> None:
    """Count one attempt of `kind` (e.g. "register") from `client` (its
    address, see client_address) and refuse it — TooManyRequests, 429 —
    when it is over `rate` ("10/hour") in the sliding window.

    Counted in the database (customers.Attempt), so that every app process
    shares one count. A refused attempt is counted too: hammering does not
    reopen the window. A client's attempts older than the window are
    deleted as it comes back, so the table stays as small as the clients
    active within the window."""
    limit, period = parse_rate(rate)
    client = client or "unknown"
    now = timezone.now()
    recent = Attempt.objects.filter(kind=kind, client=client)
    recent.filter(at__lt=now - period).delete()
    Attempt.objects.create(kind=kind, client=client, at=now)
    times = list(recent.order_by("-at").values_list("at", flat=True)[:limit + 1])
    if len(times) > limit:
        retry_after = max(1, int((times[limit - 1] + period - now).total_seconds()) + 1) if limit else \
            int(period.total_seconds())
        raise TooManyRequests(
            detail=f"Too many attempts from your address; try again in {_in_words(retry_after)}.",
            code="too_many_attempts", retry_after=retry_after)


def _in_words(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 7200:
        return f"{seconds // 60} minutes"
    return f"{seconds // 3600} hours"


def purge_attempts(older_than: timedelta = timedelta(days=1), now=None) -> int:
    """Delete counted attempts older than `older_than` (longer than any rate's
    window); returns how many went. check_rate already drops a returning
    client's old attempts; this takes those of clients that never came back."""
    deleted, _ = Attempt.objects.filter(at__lt=(now or timezone.now()) - older_than).delete()
    return deleted
