from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "clientbase.core"
    label = "core"

    def ready(self) -> None:
        from clientbase.core import lookups  # noqa: F401  (registers the `prefix` lookup)
