"""Login throttling (django-axes), keyed as the account lookup reads an e-mail.

The policy (OWASP ASVS V6), set in settings (AXES_*) and told in the README:

- failures are counted per (e-mail as `canonical_email` reads it, client
  address): every spelling of one address (`LOCKME@example.com`,
  ` lockme@example.com`) shares one count, as it shares one account;
- after AXES_FAILURE_LIMIT (5) failures that pair is refused, the right
  password included, for the cool-off: 15 minutes after the failure that
  set the lock (attempts during the lock are refused without counting, so
  they do not make it longer);
  a customer at another address is not affected, so nobody locks a real
  customer out for longer than minutes;
- an e-mail nobody has is counted and locked exactly like an existing one,
  and a locked-out attempt answers what a wrong password answers (the door's
  own failed-login answer, in about the same time), so neither the message,
  the timing nor the lock tells whether an e-mail exists.
"""

from django.contrib.auth.hashers import make_password

from clientbase.customers.models.accounts import canonical_email


def login_key(request, credentials: dict | None) -> str | None:
    """The e-mail a login attempt is counted under (AXES_USERNAME_CALLABLE):
    the address as the account lookup reads it; None when the attempt names
    none. Doors pass it as `username` (Django's forms) or `email`."""
    credentials = credentials or {}
    email = credentials.get("username") or credentials.get("email")
    return canonical_email(email) if email else None


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
