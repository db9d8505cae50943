from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("triggers.urls")),
    path("", include("lessons.urls")),
    path("", include("sandbox.web.urls")),
]
