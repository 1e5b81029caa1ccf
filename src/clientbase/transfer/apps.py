from django.apps import AppConfig


class TransferConfig(AppConfig):
    name = "clientbase.transfer"
    label = "transfer"
    verbose_name = "Data transfer"
