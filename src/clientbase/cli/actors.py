"""`--as EMAIL`: the account a command acts as (None: the system)."""

from django.core.management.base import CommandError
from django.db import DatabaseError

from clientbase.customers.models import Account

AS_HELP = ("Act as the account with this e-mail: its permissions and the organizations it may "
           "see or manage apply. Default: the system, which may do anything (like `clientbase demo`).")


def acting_account(email: str | None) -> Account | None:
    """The active account with `email`, or None (the system) without one.
    CommandError when there is no such active account."""
    return active_account(email) if email else None


def active_account(email: str, *, inactive: str = "") -> Account:
    """The account with `email` (any spelling of its case); a one-line
    CommandError when the database cannot be read, there is no such account,
    or it is inactive (`inactive` adds why that matters)."""
    try:
        account = Account.objects.filter(email__iexact=email.strip()).first()
    except DatabaseError as exc:
        # Most often a database that was never migrated: say so in one line.
        raise CommandError(f"Cannot read accounts ({exc}); run `clientbase migrate` first?") from exc
    if account is None:
        raise CommandError(f"No account with the e-mail {email}.")
    if not account.is_active:
        raise CommandError(f"The account {account.email} is inactive{inactive}.")
    return account
