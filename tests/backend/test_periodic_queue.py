"""Beat's jobs never wait behind a backlog of per-write wake-ups, nor behind long batch runs (backend/celery.py).

Found by the embedded soak (bench/embedded_soak.py) on PostgreSQL: with one queue, four busy clients
queued minutes of outbox wake-ups ahead of the reminder dispatcher, so due reminders reached the inbox
minutes late. The soak itself checks the effect; this pins the routing it rests on. Insights runs and
the nightly jobs have a queue of their own (``batch``, issue 18 item 5), taken last.
"""

from __future__ import annotations

from django.conf import settings

from backend.celery import BATCH_JOBS, BATCH_QUEUE, PERIODIC_QUEUE, URGENT_QUEUE, app


def test_beats_short_jobs_go_to_the_periodic_queue_and_insights_and_nightly_work_to_batch() -> None:
    schedule = app.conf.beat_schedule
    assert set(BATCH_JOBS) < set(schedule), "a batch job that beat no longer schedules"
    queues = {name: entry["options"]["queue"] for name, entry in schedule.items()}
    assert queues == {name: BATCH_QUEUE if name in BATCH_JOBS else PERIODIC_QUEUE for name in schedule}
    assert queues["reminders-dispatch"] == PERIODIC_QUEUE and queues["insights-due"] == BATCH_QUEUE
    assert app.amqp.router.route({}, "diary.patterns.tasks.insights_chunk")["queue"].name == BATCH_QUEUE


def test_a_worker_started_without_queues_consumes_all_four() -> None:
    # What `celery -A backend worker` (the test stacks, bench/alerts.py) listens to when no -Q is given;
    # compose and dev.py run split them between an alerts worker and a general one.
    assert set(app.amqp.queues.consume_from) == {app.conf.task_default_queue, PERIODIC_QUEUE, URGENT_QUEUE, BATCH_QUEUE}
    assert settings.URGENT_QUEUE == URGENT_QUEUE  # what the outbox and the alert pushes publish to


def test_wake_ups_stay_on_the_default_queue() -> None:
    route = app.amqp.router.route({}, "diary.outbox.tasks.outbox_deliver")
    assert route["queue"].name == app.conf.task_default_queue
