from django.apps import AppConfig


class PricingConfig(AppConfig):
    name = "clientbase.pricing"
    label = "pricing"
    verbose_name = "Pricing"

    def ready(self) -> None:
        from clientbase.pricing import signals  # noqa: F401
