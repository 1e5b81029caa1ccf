from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "clientbase.marketing"
    label = "marketing"
    verbose_name = "Marketing"
