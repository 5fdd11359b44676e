"""Alert writes: evaluate the rules after a diary write, open / raise / resolve alerts, acknowledge.

Runs in the outbox handler's transaction, so the alert, its inbox notification, its pending pushes
and the clinicians' email intent commit together or not at all: nothing lost, nothing doubled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from diary.accounts.models import User
from diary.alerts import texts
from diary.alerts.catalogue import SEVERITY_RANK, URGENT, Thresholds
from diary.alerts.days import is_backlog
from diary.alerts.evaluation import Finding, episode_findings, window_findings_as_of
from diary.alerts.happened import alert_happened
from diary.alerts.models import Alert
from diary.alerts.selectors import live_episode_facts, window_facts
from diary.alerts.tables import ALERTS
from diary.alerts.thresholds import effective_thresholds
from diary.notifications.inbox import notification_notify
from diary.outbox.routes import ALERT_CLINICIANS
from diary.outbox.services import outbox_enqueue
from diary.sync.sequence import sequence_lock
from diary.sync.writes import server_rows_create, server_rows_touch

LADDER_EVERY = dt.timedelta(minutes=15)
LADDER_MAX_REPEATS = 4
CONTACT_AFTER = dt.timedelta(minutes=15)
WINDOW_DEDUPE = dt.timedelta(days=7)
_SYNCED = ["rule", "severity", "title", "guidance", "status", "opened_at", "acknowledged_at"]


def alerts_evaluate(*, user_id: int, episode_uids: Iterable[str] = (), now: dt.datetime | None = None) -> list[Alert]:
    """Re-evaluate the named episodes and the person's window rules; returns the alerts that opened
    (or rose in severity). Idempotent: the same episode evaluated twice opens nothing twice."""
    now = now or timezone.now()
    uids = list(dict.fromkeys(episode_uids))
    # No savepoint when nested: the outbox handler's own block already rolls back on an error.
    with transaction.atomic(savepoint=False):
        sequence_lock(user_id=user_id)  # lock order: the sequence row first
        user = User.objects.get(pk=user_id)
        if user.is_clinician:
            return []
        thresholds, version = effective_thresholds(user_id)
        fresh: list[dict[str, Any]] = []
        raised: list[Alert] = []
        touched: list[Alert] = []
        if uids:
            live = live_episode_facts(user_id=user_id, uids=uids)
            existing = {
                (a.episode_uid, a.rule): a
                for a in Alert.objects.select_for_update().filter(user_id=user_id, episode_uid__in=uids)
            }
            for uid in uids:
                episode = live.get(uid)
                if episode is not None and is_backlog(episode.started_at, episode.tz, now):
                    continue  # before the last 7 local days (an offline backlog): history, not an emergency
                findings = episode_findings(episode, thresholds, now) if episode else []
                for f in findings:
                    alert = existing.get((uid, f.rule))
                    if alert is None:
                        fresh.append(_row(f, version, now))
                    elif alert.status == "resolved" or SEVERITY_RANK[f.severity] > SEVERITY_RANK[alert.severity]:
                        _apply(alert, f, version, now, reopen=alert.status == "resolved")
                        raised.append(alert)
                    elif alert.evidence != f.evidence:
                        alert.evidence, alert.numbers = f.evidence, dict(f.numbers)
                        alert.save(update_fields=["evidence", "numbers"])  # no new alert, no new stamp
                fired = {f.rule for f in findings}
                for (episode_uid, rule), alert in existing.items():
                    if episode_uid == uid and rule not in fired and alert.status != "resolved":
                        _resolve(alert, now)  # the edit (or delete) removed the cause
                        touched.append(alert)
        window = _window(user, thresholds, now)
        recent = _recent_rules(user_id, [f.rule for f in window], now) if window else set()
        fresh += [_row(f, version, now) for f in window if f.rule not in recent]
        made = server_rows_create(table=ALERTS, user_id=user_id, rows=fresh) if fresh else []
        server_rows_touch(table=ALERTS, user_id=user_id, rows=raised + touched, fields=_SYNCED + _LADDER + _WHY)
        news: list[Alert] = [*made, *raised]  # type: ignore[list-item]
        for alert in news:
            _escalate_start(alert, user, now)
    return news


_LADDER = ["next_repeat_at", "repeats", "contact_due_at", "contact_notified_at", "resolved_at"]
_WHY = ["ruleset_version", "evidence", "numbers"]


def _row(f: Finding, version: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "rule": f.rule, "severity": f.severity, "title": f.title[:200], "guidance": f.guidance,
        "episode_uid": f.episode_uid, "status": "open", "opened_at": now, "ruleset_version": version,
        "evidence": f.evidence, "numbers": dict(f.numbers),
    }  # fmt: skip


def _apply(alert: Alert, f: Finding, version: str, now: dt.datetime, *, reopen: bool) -> None:
    alert.severity, alert.title, alert.guidance = f.severity, f.title[:200], f.guidance
    alert.evidence, alert.numbers, alert.ruleset_version = f.evidence, dict(f.numbers), version
    if reopen:
        alert.status, alert.opened_at, alert.resolved_at, alert.acknowledged_at = "open", now, None, None
        alert.repeats = 0


def _resolve(alert: Alert, now: dt.datetime) -> None:
    alert.status, alert.resolved_at = "resolved", now
    alert.next_repeat_at = alert.contact_due_at = None


def _recent_rules(user_id: int, rules: list[str], now: dt.datetime) -> set[str]:
    """Window rules: at most one alert per rule per rolling 7 days. Of ``rules``, those that already
    have one (one query for all of them, not one per rule)."""
    return set(
        Alert.objects.filter(
            user_id=user_id, rule__in=rules, episode_uid__isnull=True, opened_at__gt=now - WINDOW_DEDUPE
        ).values_list("rule", flat=True)
    )


def _window(user: User, thresholds: Thresholds, now: dt.datetime) -> list[Finding]:
    facts = window_facts(user, thresholds, now)
    return window_findings_as_of(
        facts.episodes, facts.checkins, thresholds, facts.todays, diary_start=facts.diary_start
    )


def _escalate_start(alert: Alert, user: User, now: dt.datetime) -> None:
    """The first rung: the person at once (inbox + push); high and urgent: the sharing clinicians;
    urgent: repeats every 15 minutes and, if named, the emergency contact after 15 minutes."""

    happened = alert_happened(alert, reader_tz=user.current_timezone)
    body = texts.notification_body(alert.guidance, alert.evidence, happened)
    notification_notify(user=user, kind="alert", title=alert.title, body=body, alert_id=alert.uid, push_here=True)
    if alert.severity in ("high", URGENT):
        outbox_enqueue(user_id=user.pk, topic=ALERT_CLINICIANS, payloads=[{"alert": alert.uid}])
    if alert.severity == URGENT:
        alert.next_repeat_at = now + LADDER_EVERY
        alert.contact_due_at = now + CONTACT_AFTER if user.emergency_contact_email else None
        Alert.objects.filter(pk=alert.pk).update(
            next_repeat_at=alert.next_repeat_at, contact_due_at=alert.contact_due_at
        )


def alert_acknowledge(*, patient: User, uid: str, by: User) -> Alert:
    """Open -> acknowledged, by the person or a sharing clinician; stops the ladder. Idempotent."""
    with transaction.atomic():
        sequence_lock(user_id=patient.pk)
        alert = Alert.objects.select_for_update().filter(user_id=patient.pk, uid=uid, deleted_at__isnull=True).first()
        if alert is None:
            raise Http404
        if alert.status == "open":
            alert.status, alert.acknowledged_at, alert.acknowledged_by = "acknowledged", timezone.now(), by
            alert.next_repeat_at = alert.contact_due_at = None
            server_rows_touch(
                table=ALERTS, user_id=patient.pk, rows=[alert],
                fields=["status", "acknowledged_at", "acknowledged_by", "next_repeat_at", "contact_due_at"],
            )  # fmt: skip
    return alert
