from django.contrib import admin
from django.urls import include, path

from clientbase.api.main import api
from clientbase.ops import views as ops

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    # For load balancers and Prometheus (clientbase.ops); before the shop's catch-alls.
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics, name="metrics"),
    # The shop: home, search, products (clientbase.storefront).
    path("", include("clientbase.storefront.urls")),
]
