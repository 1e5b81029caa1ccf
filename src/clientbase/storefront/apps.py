from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    name = "clientbase.storefront"
    label = "storefront"
    verbose_name = "Storefront"
