"""`--as EMAIL`: the account a command acts as (None: the system)."""

from django.core.management.base import CommandError
from django.db import DatabaseError

from clientbase.customers.models import Account

AS_HELP = ("Act as the account with this e-mail: its permissions and the organizations it may "
           "see or manage apply. Default: the system, which may do anything (like `clientbase demo`).")


def acting_account(email: str | None) -> Account | None:
    """The active account with `email`, or None (the system) without one.
    CommandError when there is no such active account."""
    if not email:
        return None
    try:
        account = Account.objects.filter(email__iexact=email.strip()).first()
    except DatabaseError as exc:
        raise CommandError(f"Cannot read accounts ({exc}); run `clientbase migrate` first?") from exc
    if account is None:
        raise CommandError(f"No account with the e-mail {email}.")
    if not account.is_active:
        raise CommandError(f"The account {account.email} is inactive.")
    return account
