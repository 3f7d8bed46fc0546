from django.urls import path

from updates import views

app_name = "updates"

urlpatterns = [
    path("", views.feed, name="feed"),
    path("drafts/", views.drafts, name="drafts"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/publish/", views.publish, name="publish"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/like/", views.like, name="like"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:pk>/remind/", views.remind, name="remind"),
    path("<int:pk>/comments/", views.comment, name="comment"),
    path("<int:pk>/comments/<int:comment_pk>/delete/", views.delete_comment, name="delete-comment"),
    path("<int:pk>/attachments/<int:file_pk>/", views.attachment, name="attachment"),
    path("<int:pk>/media/<int:file_pk>/", views.media, name="media"),
    path("<int:pk>/media/<int:file_pk>/thumbnail/", views.thumbnail, name="thumbnail"),
]
