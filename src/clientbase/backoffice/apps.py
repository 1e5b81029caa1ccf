from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "clientbase.backoffice"
    label = "backoffice"
    verbose_name = "Back office"

    def ready(self) -> None:
        from django.contrib import admin

        from clientbase.backoffice.base import autocomplete_view

        # django-unfold has installed its site as admin.site by now (its app
        # comes first); the start page adds the visible counts above the apps.
        admin.site.index_template = "backoffice/index.html"
        admin.site.index_title = "Dashboard"
        admin.site.login_template = "backoffice/login.html"
        # Read when the admin's URLs are built, after this.
        admin.site.autocomplete_view = autocomplete_view(admin.site.autocomplete_view)
