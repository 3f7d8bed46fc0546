from django.contrib import admin

from activities.models import Activity, ActivityComment, ActivityPriority, ActivityStatus, Tag


class ActivityStatusInline(admin.TabularInline):
    model = ActivityStatus
    extra = 0
    fields = ["status", "changed_by", "changed_at", "notes"]
    readonly_fields = fields
    can_delete = False


class ActivityPriorityInline(admin.TabularInline):
    model = ActivityPriority
    extra = 0
    fields = ["priority", "changed_by", "changed_at", "reason"]
    readonly_fields = fields
    can_delete = False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["title", "organization", "type", "status", "priority", "assigned_to", "end_time", "created_at"]
    list_filter = ["organization", "type", "status", "priority", "tags"]
    search_fields = ["title", "description", "assigned_to__username", "created_by__username"]
    date_hierarchy = "start_time"
    raw_id_fields = ["assigned_to", "created_by"]
    filter_horizontal = ["tags"]
    readonly_fields = ["overdue_marked_at", "created_at", "updated_at"]
    list_select_related = ["organization", "assigned_to"]
    inlines = [ActivityStatusInline, ActivityPriorityInline]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "category", "color", "created_at"]
    list_filter = ["organization", "category"]
    search_fields = ["name", "description", "category"]


@admin.register(ActivityComment)
class ActivityCommentAdmin(admin.ModelAdmin):
    list_display = ["activity", "kind", "author", "created_at"]
    list_filter = ["kind", "organization"]
    search_fields = ["body", "activity__title"]
    raw_id_fields = ["activity", "author"]
    list_select_related = ["activity", "author"]


@admin.register(ActivityStatus)
class ActivityStatusAdmin(admin.ModelAdmin):
    list_display = ["activity", "status", "changed_by", "changed_at"]
    list_filter = ["status", "organization"]
    search_fields = ["activity__title", "notes"]
    raw_id_fields = ["activity", "changed_by"]
    list_select_related = ["activity", "changed_by"]


@admin.register(ActivityPriority)
class ActivityPriorityAdmin(admin.ModelAdmin):
    list_display = ["activity", "priority", "changed_by", "changed_at"]
    list_filter = ["priority", "organization"]
    search_fields = ["activity__title", "reason"]
    raw_id_fields = ["activity", "changed_by"]
    list_select_related = ["activity", "changed_by"]
