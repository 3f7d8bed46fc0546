from django.urls import path

from accounts import views

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/", views.create_token, name="create_token"),
    path("profile/tokens/<int:token_id>/revoke/", views.revoke_token, name="revoke_token"),
    path("people/", views.people, name="people"),
    path("people/<int:user_id>/avatar/<str:size>/", views.avatar, name="avatar"),
    path("manage/", views.manage, name="manage"),
    path("manage/invitations/", views.invite, name="invite"),
    path("manage/invitations/<int:invitation_id>/revoke/", views.revoke_invitation, name="revoke_invitation"),
    path("manage/people/<int:user_id>/role/", views.change_role, name="change_role"),
    path("manage/people/<int:user_id>/active/", views.set_active, name="set_active"),
    path("invitations/<str:token>/", views.accept_invitation, name="accept_invitation"),
]
