from django.contrib import admin
from django.urls import include, path

from nexus import health, views
from nexus.api import api

urlpatterns = [
    path("health/", health.health, name="health"),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", api.urls),
    path("django-admin/", admin.site.urls),
    path("activities/", include("activities.urls")),
    path("projects/", include("projects.urls")),
    path("chat/", include("chat.urls")),
    path("updates/", include("updates.urls")),
    path("machines/", include("machines.urls")),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/bell/", views.notifications_bell, name="notifications-bell"),
    path("notifications/<int:pk>/read/", views.mark_notification_read, name="notification-read"),
    path("notifications/read/", views.mark_notifications_read, name="notifications-read"),
    path("notifications/read-all/", views.mark_all_notifications_read, name="notifications-read-all"),
    path("notifications/preferences/", views.notification_preferences, name="notification-preferences"),
    path("", views.home, name="home"),
    path("", include("accounts.urls")),
]
handler500 = "nexus.busy.server_error"
