"""`clientbase demo`: load the demo data (idempotent)."""

from importlib import import_module

from django.core.management.base import BaseCommand
from django.db import transaction

from clientbase.customers.demo import login_lines
from clientbase.pricing.demo import price_lines

# Each domain's demo loader, in dependency order ("module:function"); each is
# an upsert that returns a summary with `lines()`. Customers come first: the
# price grid refers to their groups and contacts.
LOADERS = [
    "clientbase.customers.demo:load_demo",
    "clientbase.pricing.demo:load_catalog_demo",
    "clientbase.marketing.demo:load_marketing_demo",
]


@transaction.atomic
def load_all() -> list[str]:
    """Load every domain's demo data; returns the summary lines to print."""
    lines: list[str] = []
    for spec in LOADERS:
        module, name = spec.split(":")
        lines += getattr(import_module(module), name)().lines()
    return lines


class Command(BaseCommand):
    help = ("Load the demo data: Administration > EU Headquarters > EU Management, "
            "US Headquarters > US Sales, Customers > Gold/Silver/Bronze, 33 contacts, "
            "the demo catalog and prices, marketing (banners, a Gold campaign, a coupon), "
            "and the demo logins. Running it again changes nothing.")

    def handle(self, *args, **options) -> None:
        lines = load_all()
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        for line in lines + login_lines() + price_lines():
            self.stdout.write(f"  {line}")
