from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from clientbase.api.main import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
