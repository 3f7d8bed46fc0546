from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save

ACTIVITY_TOPIC = "activity"


class ActivitiesConfig(AppConfig):
    name = "activities"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from accounts.models import User
        from activities.models import Activity, Tag
        from nexus.realtime import register_topic

        # A page showing an activity's timeline follows it; its new entries go only to such pages.
        register_topic(ACTIVITY_TOPIC, _may_follow_activity)

        # The cached directory (filter pickers, list rows) names tags, people and projects: any save or delete of
        # one (services, admin, sign-ups, role or name changes) forgets them.
        for model in (Tag, User, Activity.projects.rel.related_model):
            post_save.connect(_forget_directory, sender=model, dispatch_uid=f"activity-directory-{model.__name__}")
            post_delete.connect(_forget_directory, sender=model, dispatch_uid=f"activity-directory-{model.__name__}")


def _forget_directory(sender, instance, update_fields=None, **kwargs):
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # Every login saves this; the directory does not hold it.
    from activities.selectors import DIRECTORY
    from nexus.caching import forget

    if instance.organization_id is not None:
        forget(instance.organization_id, DIRECTORY)


def _may_follow_activity(user, pk: int) -> bool:
    from activities.models import Activity
    from nexus.permissions import Action, can

    if not can(user, Action.VIEW_ACTIVITIES):
        return False
    return Activity.objects.filter(pk=pk, organization_id=user.organization_id).exists()
