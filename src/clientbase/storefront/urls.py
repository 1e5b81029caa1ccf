"""The shop's URLs, at the site's root."""

from django.urls import path

from clientbase.storefront import views

app_name = "storefront"

urlpatterns = [
    path("", views.home, name="home"),
    path("products/", views.product_list, name="product_list"),
    path("products/<str:ident>/", views.product_detail, name="product_detail"),
    path("market/", views.choose_storefront, name="choose_storefront"),
]
