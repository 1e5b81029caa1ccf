from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "clientbase.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from clientbase.customers.services.roles import seed_roles

        post_migrate.connect(seed_roles, sender=self)
