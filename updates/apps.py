from django.apps import AppConfig

UPDATE_TOPIC = "update"


class UpdatesConfig(AppConfig):
    name = "updates"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from nexus.realtime import register_topic

        # An update's receipts block follows it: new acknowledgements go only to pages showing that block.
        register_topic(UPDATE_TOPIC, _may_follow_update)


def _may_follow_update(user, pk: int) -> bool:
    """Whoever may see the update's receipts (its author, an administrator it reached) may follow it."""
    from updates.models import Update
    from updates.services import may_manage

    update = Update.objects.filter(
        pk=pk, organization_id=user.organization_id, is_published=True, deleted_at__isnull=True
    ).first()
    return update is not None and may_manage(user, update)
