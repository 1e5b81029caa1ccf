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

from django.conf import settings
from django.contrib.auth.hashers import make_password

from clientbase.core.emails import canonical_email


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
