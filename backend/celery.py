"""The Celery application. Tasks live beside the code they drive (``<package>/tasks.py``)."""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import setup_logging, task_postrun, task_prerun
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.base")

app = Celery("diary")
app.config_from_object("django.conf:settings", namespace="CELERY")

app.autodiscover_tasks(
    ["diary.outbox", "diary.sync", "diary.alerts", "diary.patterns", "diary.notifications", "diary", "reminders"]
)

BEAT_SCHEDULE = {
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

# Four queues, so that each kind of work waits only behind its own kind:
#
# - ``alerts`` (settings.URGENT_QUEUE): red-flag evaluation, urgent pushes and the emergency-contact
#   email. A worker of its own consumes only this queue (docker-compose.yml ``worker-alerts``,
#   ``scripts/dev.py run``), so an alert never waits behind a busy general worker.
# - ``periodic``: beat's short jobs (the reminder dispatcher, the sweepers). On one shared FIFO they
#   waited behind every per-write wake-up: four busy clients queued minutes of outbox tasks, and a
#   reminder due meanwhile reached the inbox only when that backlog had drained.
# - ``celery`` (the default): the other per-write wake-ups (insights requests, reminders that follow
#   the diary, clinician mail) and non-urgent pushes.
# - ``batch``: long runs nobody waits for: insights refreshes and the nightly fan-out, the nightly
#   sweeps and purges.
#
# The general worker consumes periodic, celery and batch; a worker started without -Q consumes all four
# (the test stacks, bench/alerts.py). On Redis a worker always looks at them in the order above
# (backend/broker.py), so a free general worker takes beat's jobs before a backlog of batch work.
PERIODIC_QUEUE = "periodic"
URGENT_QUEUE = "alerts"  # settings.URGENT_QUEUE, which publishers read (this module loads before settings)
BATCH_QUEUE = "batch"
DEFAULT_QUEUE = "celery"  # Celery's default name, set explicitly: reading app.conf here would load the settings
GENERAL_QUEUES = (PERIODIC_QUEUE, DEFAULT_QUEUE, BATCH_QUEUE)  # what the general worker consumes
app.conf.task_queues = tuple(Queue(name, Exchange(name), routing_key=name) for name in (URGENT_QUEUE, *GENERAL_QUEUES))
BATCH_JOBS = ("insights-due", "insights-nightly", "alerts-sweep", "notifications-prune", "sync-purge-tombstones")
for _name, _entry in BEAT_SCHEDULE.items():
    _entry.setdefault("options", {})["queue"] = BATCH_QUEUE if _name in BATCH_JOBS else PERIODIC_QUEUE
# Only assignments to app.conf at import: reading it would configure Celery, and with it Django's
# settings, from whatever DJANGO_SETTINGS_MODULE says at that moment (the default above, for a script
# that imports anything under ``backend`` before setting its environment, as bench/load.py does).
app.conf.task_default_queue = DEFAULT_QUEUE
app.conf.beat_schedule = BEAT_SCHEDULE
# The nightly fan-out's chunks (each runs insights for 100 people).
app.conf.task_routes = {"diary.patterns.tasks.insights_chunk": {"queue": BATCH_QUEUE}}


@setup_logging.connect
def _use_django_logging(**kwargs: object) -> None:
    """Worker and beat log through Django's LOGGING (JSON lines, the same filters) instead of
    Celery's own handlers."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@task_prerun.connect
@task_postrun.connect
def _connections_as_after_a_request(**kwargs: object) -> None:
    """Before and after each task, what Django does around a request (``close_old_connections``): a
    connection that had errors and no longer answers, that was left inside a transaction, or that is
    older than CONN_MAX_AGE is closed; any other is kept for the next task, and checked first if it
    sat idle (backend/postgresql). With CONN_MAX_AGE 0 (SQLite, ``dev.py run``) every task closes it,
    as the fixup did."""
    from django.db import close_old_connections

    close_old_connections()
