from celery import shared_task


@shared_task(name="machines.tasks.escalate_unclaimed_incidents")
def escalate_unclaimed_incidents() -> int:
    from machines.services import escalate_unclaimed

    return escalate_unclaimed()
