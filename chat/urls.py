from django.urls import path

from chat import views

app_name = "chat"

urlpatterns = [
    path("", views.index, name="index"),
    path("search/", views.search, name="search"),
    path("new/group/", views.new_group, name="new-group"),
    path("new/channel/", views.new_channel, name="new-channel"),
    path("direct/<int:user_id>/", views.direct, name="direct"),
    path("<int:pk>/", views.conversation, name="conversation"),
    path("<int:pk>/sidebar/", views.sidebar, name="sidebar"),
    path("<int:pk>/messages/", views.messages, name="messages"),
    path("<int:pk>/read/", views.read, name="read"),
    path("<int:pk>/join/", views.join, name="join"),
    path("<int:pk>/leave/", views.leave, name="leave"),
    path("<int:pk>/mute/", views.mute, name="mute"),
    path("<int:pk>/members/", views.add_members, name="add-members"),
    path("messages/<int:pk>/thread/", views.thread, name="thread"),
    path("messages/<int:pk>/edit/", views.edit, name="edit"),
    path("messages/<int:pk>/delete/", views.delete, name="delete"),
    path("messages/<int:pk>/react/", views.react, name="react"),
    path("messages/<int:pk>/file/", views.attachment, name="attachment"),
    path("messages/<int:pk>/thumbnail/", views.thumbnail, name="thumbnail"),
    path("system/", views.system_messages, name="system-messages"),
    path("system/<int:pk>/dismiss/", views.dismiss_system_message, name="dismiss-system-message"),
    path("system/<int:pk>/expire/", views.expire_system_message, name="expire-system-message"),
    path("banners/", views.banners, name="banners"),
]
