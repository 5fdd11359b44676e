"""Beat's jobs never wait behind a backlog of per-write wake-ups (backend/celery.py).

Found by the embedded soak (bench/embedded_soak.py) on PostgreSQL: with one queue, four busy clients
queued minutes of outbox wake-ups ahead of the reminder dispatcher, so due reminders reached the inbox
minutes late. The soak itself checks the effect; this pins the routing it rests on.
"""

from __future__ import annotations

from django.conf import settings

from backend.celery import PERIODIC_QUEUE, URGENT_QUEUE, app


def test_every_beat_job_goes_to_the_periodic_queue() -> None:
    schedule = app.conf.beat_schedule
    assert schedule and all(entry["options"]["queue"] == PERIODIC_QUEUE for entry in schedule.values()), schedule


def test_a_worker_started_without_queues_consumes_all_three() -> None:
    # What `celery -A backend worker` (compose, dev.py run, the test stacks) listens to when no -Q is given.
    assert set(app.amqp.queues.consume_from) == {app.conf.task_default_queue, PERIODIC_QUEUE, URGENT_QUEUE}
    assert settings.URGENT_QUEUE == URGENT_QUEUE  # what the outbox and the alert pushes publish to


def test_wake_ups_stay_on_the_default_queue() -> None:
    route = app.amqp.router.route({}, "diary.outbox.tasks.outbox_deliver")
    assert route["queue"].name == app.conf.task_default_queue
