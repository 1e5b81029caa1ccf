"""`clientbase purge`: delete what the shop no longer needs — anonymous carts
unchanged for CART_TTL_DAYS, counted registration and password-reset
attempts older than a day, and the uploaded and errors files of back-office
imports that ended a week ago; and it marks failed the imports whose worker
died while they ran. Safe to run at any time; run it daily (cron, a
systemd timer)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from clientbase.customers.throttling import purge_attempts
from clientbase.shopping.services.carts import purge_expired_carts
from clientbase.transfer.jobs import fail_jobs_whose_worker_died, purge_import_files


class Command(BaseCommand):
    help = ("Delete expired anonymous carts and old counted attempts (registrations, password resets). "
            "Run it daily.")

    def handle(self, *args, **options) -> None:
        try:
            carts = purge_expired_carts()
            attempts = purge_attempts()
            dead = fail_jobs_whose_worker_died()
            imports = purge_import_files()
        except DatabaseError as exc:
            raise CommandError(f"Cannot purge ({exc}); run `clientbase migrate` first?") from exc
        self.stdout.write(f"Deleted {carts} expired anonymous cart(s) and {attempts} old attempt(s).")
        self.stdout.write(f"Removed the files of {imports} old import(s).")
        if dead:
            self.stdout.write(f"Marked {dead} import(s) failed: their worker had stopped.")
