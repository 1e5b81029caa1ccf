from django.apps import AppConfig


class ShoppingConfig(AppConfig):
    name = "clientbase.shopping"
    label = "shopping"
    verbose_name = "Shopping"
