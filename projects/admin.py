from django.contrib import admin

from projects.models import Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "status", "manager", "start_date", "end_date", "updated_at"]
    list_filter = ["organization", "status"]
    search_fields = ["name", "description"]
    date_hierarchy = "start_date"
    raw_id_fields = ["manager", "team_members", "activities"]
    list_select_related = ["organization", "manager"]
