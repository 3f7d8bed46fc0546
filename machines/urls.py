from django.urls import path

from machines import views

app_name = "machines"

urlpatterns = [
    path("", views.machine_list, name="list"),
    path("map/", views.floor_map, name="map"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/report/", views.report_fault, name="report-fault"),
    path("<int:pk>/warnings/", views.add_warning, name="add-warning"),
    path("<int:pk>/warnings/<int:warning_id>/clear/", views.clear_warning, name="clear-warning"),
    path("<int:pk>/flows/", views.add_edge, name="add-edge"),
    path("flows/<int:pk>/delete/", views.delete_edge, name="delete-edge"),
    path("faults/<int:pk>/notes/", views.add_fault_note, name="fault-note"),
    path("faults/<int:pk>/resolve/", views.resolve_fault, name="resolve-fault"),
    path("faults/<int:pk>/assign/", views.assign_fault, name="assign-fault"),
    path("photos/<int:pk>/", views.photo, {"size": "full"}, name="photo"),
    path("photos/<int:pk>/thumbnail/", views.photo, {"size": "thumbnail"}, name="photo-thumbnail"),
    path("types/", views.machine_types, name="types"),
    path("types/model-viewer-reachable/", views.model_viewer_reachable, name="model-viewer-reachable"),
    path("types/<int:pk>/edit/", views.edit_machine_type, name="edit-type"),
    path("types/<int:pk>/delete/", views.delete_machine_type, name="delete-type"),
    path("tokens/", views.integration_tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.revoke_integration_token, name="revoke-token"),
]
