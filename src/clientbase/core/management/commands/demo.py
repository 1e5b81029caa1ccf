"""`clientbase demo`: load the demo data (idempotent)."""

from django.core.management.base import BaseCommand

from clientbase.customers.demo import load_demo, login_lines


class Command(BaseCommand):
    help = ("Load the demo data: Administration > EU Headquarters > EU Management, "
            "US Headquarters > US Sales, Customers > Gold/Silver/Bronze, 30 contacts and "
            "the demo logins. Running it again changes nothing.")

    def handle(self, *args, **options) -> None:
        summary = load_demo()
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        for line in summary.lines() + login_lines():
            self.stdout.write(f"  {line}")
