from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import ApiToken, Invitation, Organization, User, UserProfile


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "subscription_tier", "time_zone", "created_at"]
    search_fields = ["name", "slug", "corporate_id"]


@admin.register(User)
class NexusUserAdmin(UserAdmin):
    list_display = ["username", "email", "organization", "role", "is_active"]
    list_filter = ["organization", "role", "is_active"]
    fieldsets = (*UserAdmin.fieldsets, ("Nexus", {"fields": ("organization", "role")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Nexus", {"fields": ("email", "organization", "role")}))


admin.site.register(UserProfile)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    exclude = ["token_hash"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "organization", "hint", "created_at", "last_used_at", "revoked_at"]
    exclude = ["token_hash"]
