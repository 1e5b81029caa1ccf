from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "clientbase.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from clientbase.customers import signals
        from clientbase.customers.services.roles import seed_roles

        signals.connect()

        # Not limited to this app's signal: permissions of apps migrated after
        # customers (catalog, pricing…) must exist before roles receive them.
        post_migrate.connect(seed_roles, dispatch_uid="clientbase.seed_roles")
