from celery import shared_task


@shared_task(name="updates.tasks.publish_due_updates")
def publish_due_updates() -> int:
    from updates.services import publish_due_updates as publish

    return publish()
