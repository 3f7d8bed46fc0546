from django.apps import AppConfig
from django.db.models.signals import post_save


class MachinesConfig(AppConfig):
    name = "machines"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from activities.models import Activity
        from activities.origins import register_origin_provider
        from machines.origins import incident_origins

        # An incident's activity shows its machine and incident; activities offer the extension point, machines fill it.
        register_origin_provider("machines.incident", incident_origins)

        # Resolving an incident's activity closes the incident (DESIGN.md, the event path, step 5). Activities
        # know nothing of machines, so machines listen.
        post_save.connect(_activity_saved, sender=Activity, dispatch_uid="machines-activity-closed")


def _activity_saved(sender, instance, update_fields=None, **kwargs):
    if update_fields is not None and "status" not in update_fields:
        return
    from activities.models import CLOSED_STATUSES

    if instance.status in CLOSED_STATUSES:
        from machines.services import activity_closed

        activity_closed(instance)
