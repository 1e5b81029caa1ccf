"""`clientbase createtoken EMAIL [--name N]`: print a new personal API token."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from clientbase.customers.models import Account
from clientbase.customers.services.accounts import issue_token


class Command(BaseCommand):
    help = ("Create a personal API token for the account with this e-mail and print it. "
            "Only its hash is stored: the token cannot be shown again.")

    def add_arguments(self, parser):
        parser.add_argument("email", help="E-mail address of the account.")
        parser.add_argument("--name", default="", help="A label for the token, e.g. 'CI import'.")

    def handle(self, *args, email: str, name: str, **options) -> None:
        try:
            account = Account.objects.filter(email__iexact=email.strip()).first()
        except DatabaseError as exc:
            # Most often a database that was never migrated: say so in one line.
            raise CommandError(f"Cannot read accounts ({exc}); run `clientbase migrate` first?") from exc
        if account is None:
            raise CommandError(f"No account with the e-mail {email}.")
        if not account.is_active:
            raise CommandError(f"The account {account.email} is inactive; a token would not work.")
        _, raw = issue_token(account, actor=None, name=name or "createtoken")
        self.stdout.write(raw)
