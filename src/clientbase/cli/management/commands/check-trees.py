"""`clientbase check-trees`: verify every organization's and customer
group's materialized path against its parent chain; exits non-zero (1) on any
mismatch, listing them."""

from django.core.management.base import BaseCommand, CommandError

from clientbase.core.trees import path_problems
from clientbase.customers.models import CustomerGroup, Organization


class Command(BaseCommand):
    help = ("Check that every organization's and customer group's path matches its parent "
            "chain. Exits 1 and lists the mismatches when one does not.")

    def handle(self, *args, **options) -> None:
        problems = []
        for model in (Organization, CustomerGroup):
            found = path_problems(model)
            count = model._default_manager.count()
            self.stdout.write(f"{model._meta.verbose_name_plural}: {count} checked, "
                              f"{len(found)} problem(s)")
            problems += found
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} tree path problem(s) found.", returncode=1)
