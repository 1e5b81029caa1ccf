"""`clientbase createtoken EMAIL [--name N]`: print a new personal API token."""

from django.core.management.base import BaseCommand

from clientbase.cli.actors import active_account
from clientbase.customers.services.accounts import issue_token


class Command(BaseCommand):
    help = ("Create a personal API token for the account with this e-mail and print it. "
            "Only its hash is stored: the token cannot be shown again.")

    def add_arguments(self, parser):
        parser.add_argument("email", help="E-mail address of the account.")
        parser.add_argument("--name", default="", help="A label for the token, e.g. 'CI import'.")

    def handle(self, *args, email: str, name: str, **options) -> None:
        account = active_account(email, inactive="; a token would not work")
        _, raw = issue_token(account, actor=None, name=name or "createtoken")
        self.stdout.write(raw)
