from django.contrib import admin
from django.urls import include, path

from clientbase.api.main import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    # The shop: home, search, products (clientbase.storefront).
    path("", include("clientbase.storefront.urls")),
]
