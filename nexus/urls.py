from django.contrib import admin
from django.urls import include, path

from nexus import health
from nexus.api import api
from nexus.views import home

urlpatterns = [
    path("health/", health.health, name="health"),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", api.urls),
    path("django-admin/", admin.site.urls),
    path("activities/", include("activities.urls")),
    path("projects/", include("projects.urls")),
    path("chat/", include("chat.urls")),
    path("", home, name="home"),
    path("", include("accounts.urls")),
]
