"""The Celery application. Tasks live beside the code they drive (``<package>/tasks.py``)."""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import setup_logging
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.base")

app = Celery("diary")
app.config_from_object("django.conf:settings", namespace="CELERY")

app.autodiscover_tasks(
    ["diary.outbox", "diary.sync", "diary.alerts", "diary.patterns", "diary.notifications", "diary", "reminders"]
)

app.conf.beat_schedule = {
    "outbox-sweep": {"task": "diary.outbox.tasks.outbox_sweep", "schedule": 60.0},
    "alerts-ladder": {"task": "diary.alerts.tasks.alerts_ladder", "schedule": 60.0},
    "alerts-ongoing": {"task": "diary.alerts.tasks.alerts_ongoing", "schedule": 300.0},
    "alerts-sweep": {"task": "diary.alerts.tasks.alerts_sweep", "schedule": crontab(hour=4, minute=7)},
    "insights-due": {"task": "diary.patterns.tasks.insights_due", "schedule": 30.0},
    "insights-nightly": {"task": "diary.patterns.tasks.insights_nightly", "schedule": crontab(hour=2, minute=23)},
    "reminders-dispatch": {"task": "reminders.tasks.dispatch_reminders", "schedule": 60.0},
    "notifications-push-sweep": {"task": "diary.notifications.tasks.push_sweep", "schedule": 60.0},
    "notifications-prune": {
        "task": "diary.notifications.tasks.prune_notifications",
        "schedule": crontab(hour=3, minute=41),
    },
    "sync-purge-tombstones": {"task": "diary.sync.tasks.sync_purge_tombstones", "schedule": crontab(hour=3, minute=17)},
}

# Beat's jobs (the reminder dispatcher, the sweepers) have a queue of their own, which every worker
# consumes beside the default one (a worker started without -Q consumes every queue named here). On
# one shared FIFO they waited behind every per-write wake-up: four busy clients queued minutes of
# outbox tasks, and a reminder due meanwhile reached the inbox only when that backlog had drained.
# Red-flag evaluation and alert pushes (settings.URGENT_QUEUE) have one too, for the same reason. On
# Redis a worker always looks at alerts first, then beat's jobs, then the rest (backend/broker.py).
PERIODIC_QUEUE = "periodic"
URGENT_QUEUE = "alerts"  # settings.URGENT_QUEUE, which publishers read (this module loads before settings)
app.conf.task_queues = tuple(
    Queue(name, Exchange(name), routing_key=name)
    for name in (URGENT_QUEUE, PERIODIC_QUEUE, app.conf.task_default_queue)
)
for _entry in app.conf.beat_schedule.values():
    _entry.setdefault("options", {})["queue"] = PERIODIC_QUEUE


@setup_logging.connect
def _use_django_logging(**kwargs: object) -> None:
    """Worker and beat log through Django's LOGGING (JSON lines, the same filters) instead of
    Celery's own handlers."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
