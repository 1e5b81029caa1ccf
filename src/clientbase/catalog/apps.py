from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "clientbase.catalog"
    label = "catalog"
    verbose_name = "Catalog"
