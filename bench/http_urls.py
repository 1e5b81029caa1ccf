"""The bench's URLconf (bench/http_settings.py): the product's URLs, and the
bare views of bench/http_views.py under /bare/."""

from django.urls import include, path

from bench import http_views

urlpatterns = [
    path("bare/contacts/<str:ident>", http_views.contact_detail),
    path("bare/contacts", http_views.contact_page),
    path("bare/prices/resolve", http_views.price_resolve),
    path("bare/store/products", http_views.store_products),
    path("", include("clientbase.urls")),
]
