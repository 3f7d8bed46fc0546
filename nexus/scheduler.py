"""An in-process stand-in for celery beat in embedded mode.

With no REDIS_URL there is no beat process, yet periodic jobs (overdue marks,
escalations, shift reports) must still fire. This thread reads the same
CELERY_BEAT_SCHEDULE that beat reads, asks each entry's celery schedule whether
it is due, and runs the task in-process. Every periodic task is idempotent, so
a job that runs once more after a restart does no harm.
"""

import logging
import threading
import time
from datetime import datetime

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_thread: threading.Thread | None = None


class EmbeddedScheduler:
    def __init__(self, schedule: dict, app):
        from celery.schedules import maybe_schedule

        self.app = app
        self.entries = []
        started = timezone.now()
        for name, entry in schedule.items():
            self.entries.append(
                {
                    "name": name,
                    "task": entry["task"],
                    "schedule": maybe_schedule(entry["schedule"], app=app),
                    "args": entry.get("args", ()),
                    "kwargs": entry.get("kwargs", {}),
                    "last_run_at": started,
                }
            )

    def tick(self, now: datetime | None = None) -> float:
        """Run every due entry once; return the seconds until the next one is due."""
        now = now or timezone.now()
        next_in = 60.0
        for entry in self.entries:
            due, remaining = entry["schedule"].is_due(entry["last_run_at"])
            if due:
                entry["last_run_at"] = now
                self.run(entry)
            next_in = min(next_in, max(float(remaining), 1.0))
        return next_in

    def run(self, entry: dict) -> None:
        try:
            task = self.app.tasks[entry["task"]]
            task.apply(args=entry["args"], kwargs=entry["kwargs"], throw=True)
        except Exception:
            logger.exception("Periodic job %s failed", entry["name"])

    def run_forever(self) -> None:
        from django.db import close_old_connections

        while True:
            next_in = self.tick()
            # The jobs ran in this thread; drop a connection that broke or grew old.
            close_old_connections()
            time.sleep(next_in)


def start_if_embedded() -> bool:
    """Start the scheduler thread once per process when NEXUS_EMBEDDED_SCHEDULER is on."""
    global _thread
    if not settings.NEXUS_EMBEDDED_SCHEDULER:
        return False
    with _lock:
        if _thread is not None:
            return False
        from nexus.celery import app

        app.loader.import_default_modules()
        scheduler = EmbeddedScheduler(settings.CELERY_BEAT_SCHEDULE, app)
        _thread = threading.Thread(target=scheduler.run_forever, name="nexus-scheduler", daemon=True)
        _thread.start()
    logger.info("Embedded scheduler started with %d periodic jobs", len(scheduler.entries))
    return True
