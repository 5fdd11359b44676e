"""What the run left behind: the database read back after the load, and the wait for the work to drain.

``db_state`` reads the people's rows and the queues' counters straight from PostgreSQL (not through
the app, which is what is being checked); ``await_recovery`` polls it until everything the run
started has been done, or the time is up.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import psycopg

from tests.support.faults.model import BEAT_PERIOD_S, LEASE_S, SWEEP_AFTER_S, Person, Run, Write
from tests.support.pushservers import WebPushService


@dataclass
class DbState:
    outbox_pending: int
    outbox_next_s: float | None  # seconds until the last pending intent may be swept again
    outbox_failed_tries: int  # handler runs that raised
    pushes_pending: int
    pushes_next_s: float | None
    pushes_failed: int
    pushes_leased: int  # claimed by a worker that may have died mid-send (the lease runs LEASE_S)
    outbox_late: int  # intents processed only after their wake-up was lost (re-sent by the sweeper)
    pushes_reclaimed: int  # pushes claimed more than once (a lost send, or a lease that ran out)
    alert_pushes_late: int  # alert pushes sent well after the alert (their wake-up or worker was lost)
    episodes: dict[tuple[int, str], list[dict[str, Any]]]
    checkins: dict[tuple[int, str], list[dict[str, Any]]]
    reminders: dict[tuple[int, str], list[dict[str, Any]]]
    reminder_notifications: dict[tuple[int, str], list[dict[str, Any]]]  # by (user, reminder uid)
    alerts: list[dict[str, Any]]
    alert_notifications: dict[tuple[int, str], list[str]]  # (user, alert uid) -> notification uids
    notifications: list[dict[str, Any]]  # every live inbox row of the people


def _rows(conn: psycopg.Connection[Any], sql: str, *params: Any) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params)
    names = [c.name for c in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _by(rows: list[dict[str, Any]], *keys: str) -> dict[tuple[int, str], list[dict[str, Any]]]:
    out: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[(row[keys[0]], row[keys[1]])].append(row)
    return out


def db_state(run: Run) -> DbState:
    users = [p.user_id for p in run.people]
    with psycopg.connect(run.pg.url, connect_timeout=5) as conn:
        outbox = _rows(conn, """SELECT count(*) FILTER (WHERE processed_at IS NULL) AS pending,
                                       EXTRACT(EPOCH FROM max(available_at) FILTER (WHERE processed_at IS NULL) - now())
                                           AS next_s,
                                       count(*) FILTER (WHERE last_error <> '') AS failed,
                                       count(*) FILTER (WHERE processed_at - created_at > make_interval(secs => %s))
                                           AS late
                                FROM diary_outbox_event""", SWEEP_AFTER_S)[0]  # fmt: skip
        pushes = _rows(conn, """SELECT count(*) FILTER (WHERE d.status = 'pending') AS pending,
                                       EXTRACT(EPOCH FROM max(d.next_attempt_at) FILTER (WHERE d.status = 'pending') - now())
                                           AS next_s,
                                       count(*) FILTER (WHERE d.status = 'failed') AS failed,
                                       count(*) FILTER (WHERE d.status = 'pending' AND d.attempts > 0 AND d.last_error = '')
                                           AS leased,
                                       count(*) FILTER (WHERE d.attempts > 1) AS reclaimed,
                                       count(*) FILTER (WHERE n.kind = 'alert'
                                                        AND d.sent_at - n.scheduled_for > make_interval(secs => %s))
                                           AS late_alerts
                                FROM reminders_push_delivery d
                                JOIN reminders_notification n ON n.id = d.notification_id""", SWEEP_AFTER_S)[0]  # fmt: skip
        episodes = _rows(conn, """SELECT user_id, uid, kind, body_location, started_at, tz, duration_s, pain, symptoms,
                                         notes, deleted_at FROM diary_episode WHERE user_id = ANY(%s)""", users)  # fmt: skip
        checkins = _rows(conn, """SELECT user_id, uid, water_ml, stress, notes, deleted_at FROM diary_checkin
                                  WHERE user_id = ANY(%s)""", users)  # fmt: skip
        reminders = _rows(conn, """SELECT user_id, uid, kind, label, schedule, fire_at, next_fire_at, deleted_at
                                   FROM reminders_rule WHERE user_id = ANY(%s)""", users)  # fmt: skip
        notes = _rows(conn, """SELECT user_id, uid, kind, reminder_id, alert_id, scheduled_for
                               FROM reminders_notification WHERE user_id = ANY(%s) AND deleted_at IS NULL""", users)  # fmt: skip
        alerts = _rows(conn, """SELECT user_id, uid, rule, severity, episode_uid, status FROM diary_alert
                                WHERE user_id = ANY(%s)""", users)  # fmt: skip
    alert_notes: dict[tuple[int, str], list[str]] = defaultdict(list)
    for n in notes:
        if n["kind"] == "alert" and n["alert_id"]:
            alert_notes[(n["user_id"], n["alert_id"])].append(n["uid"])
    return DbState(
        outbox_pending=outbox["pending"], outbox_next_s=_float(outbox["next_s"]), outbox_failed_tries=outbox["failed"],
        pushes_pending=pushes["pending"], pushes_next_s=_float(pushes["next_s"]), pushes_failed=pushes["failed"],
        pushes_leased=pushes["leased"], outbox_late=outbox["late"], pushes_reclaimed=pushes["reclaimed"],
        alert_pushes_late=pushes["late_alerts"], episodes=_by(episodes, "user_id", "uid"), checkins=_by(checkins, "user_id", "uid"),
        reminders=_by(reminders, "user_id", "uid"),
        reminder_notifications=_by([n for n in notes if n["kind"] == "reminder"], "user_id", "reminder_id"),
        alerts=alerts, alert_notifications=alert_notes, notifications=notes,
    )  # fmt: skip


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def due_reminders(run: Run) -> list[tuple[Person, Write, dt.datetime]]:
    """Accepted timers that the server scheduled (next_fire_at in the accepted answer) and whose time has come."""
    now = dt.datetime.now(dt.UTC)
    people = {p.index: p for p in run.people}
    out = []
    for w in run.writes:
        if w.kind != "reminder" or not w.accepted or not w.answer.get("next_fire_at"):
            continue
        fire_at = dt.datetime.fromisoformat(w.content["fire_at"].replace("Z", "+00:00"))
        if fire_at <= now:
            out.append((people[w.person], w, fire_at))
    return out


def red_flag_episodes(run: Run) -> list[tuple[Person, Write]]:
    people = {p.index: p for p in run.people}
    return [(people[w.person], w) for w in run.writes
            if w.kind == "episode" and w.accepted and "breathing_difficulty" in w.content["symptoms"]]  # fmt: skip


def expected_notifications(state: DbState) -> dict[str, tuple[int, str]]:
    """Notification uid -> (user, kind): every inbox row of the people (due reminders, alerts, and the
    suggestions the server makes on its own), each of which must reach the person's push endpoint."""
    return {n["uid"]: (n["user_id"], n["kind"]) for n in state.notifications}


def pushed(service: WebPushService, run: Run) -> Counter[tuple[int, str]]:
    """(user id, notification id) -> how many pushes arrived at that person's subscription."""
    by_sub = {p.subscription.id: p.user_id for p in run.people if p.subscription is not None}
    with service.lock:
        received = list(service.received)
    return Counter((by_sub.get(r.subscription_id, -1), str(r.payload.get("notification_id"))) for r in received)


def settled(run: Run, state: DbState, service: WebPushService) -> bool:
    if state.outbox_pending or state.pushes_pending:
        return False
    if any(not state.reminder_notifications.get((p.user_id, w.key)) for p, w, _ in due_reminders(run)):
        return False
    alerted = {(a["user_id"], a["episode_uid"]) for a in state.alerts if a["rule"] == "breathing_difficulty"}
    if any((p.user_id, w.key) not in alerted for p, w in red_flag_episodes(run)):
        return False
    arrived = pushed(service, run)
    return all(arrived[(user, uid)] for uid, (user, _) in expected_notifications(state).items())


def await_recovery(run: Run, service: WebPushService) -> tuple[bool, float, str]:
    """Poll until the work has drained (see ``settled``) or the time is up. The bound is ``recovery_s`` after
    the load, pushed out (to at most LEASE_S + two beat periods) while pending work cannot be swept before it:
    a push a killed worker had claimed comes back only when its lease runs out."""
    start = time.monotonic()
    hard = start + max(run.config.recovery_s, LEASE_S + 2 * BEAT_PERIOD_S)
    deadline = start + run.config.recovery_s
    why = ""
    while True:
        try:
            state = db_state(run)
        except psycopg.Error as exc:
            state, why = None, f"database: {exc}"
        if state is not None:
            if settled(run, state, service):
                return True, time.monotonic() - start, ""
            waits = [s for s in (state.outbox_next_s, state.pushes_next_s) if s is not None]
            if waits:
                deadline = min(hard, max(deadline, time.monotonic() + max(waits) + BEAT_PERIOD_S + 20))
            why = (f"outbox pending {state.outbox_pending}, pushes pending {state.pushes_pending} "
                   f"(leased {state.pushes_leased})")  # fmt: skip
        if time.monotonic() >= deadline:
            return False, time.monotonic() - start, why
        time.sleep(2.0)
