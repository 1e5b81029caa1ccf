from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "clientbase.backoffice"
    label = "backoffice"
    verbose_name = "Back office"
