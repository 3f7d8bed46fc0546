from django.urls import path

from activities import views

app_name = "activities"

urlpatterns = [
    path("", views.activity_list, name="list"),
    path("board/", views.board, name="board"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/status/", views.change_status, name="status"),
    path("<int:pk>/priority/", views.change_priority, name="priority"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/comments/", views.comment, name="comment"),
    path("tags/", views.tags, name="tags"),
    path("tags/<int:pk>/edit/", views.edit_tag, name="edit_tag"),
    path("tags/<int:pk>/delete/", views.delete_tag, name="delete_tag"),
]
