from celery import shared_task


@shared_task(name="activities.tasks.mark_overdue_activities")
def mark_overdue_activities() -> int:
    from activities.services import mark_overdue_activities as mark

    return mark()
