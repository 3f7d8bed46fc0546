from celery import shared_task


@shared_task(name="accounts.tasks.purge_expired_invitations")
def purge_expired_invitations() -> int:
    from accounts.services import purge_expired_invitations as purge

    return purge()
