"""The person's complete export: one zip with everything they own, so they can leave with their data.

``diary.json`` holds every record of theirs, one section per table, each row as the API renders it
(notes included: it is their own data); ``episodes.csv`` and ``checkins.csv`` are the CSV exports and
``diary.fhir.json`` the FHIR bundle. Secrets never leave: no password hash, no push token or Web Push
keys, no authenticator key, no sign-in tokens, no sharing code or doctor link (only that they exist).

``SECTIONS`` names the table behind each section and ``NOT_EXPORTED`` every other table with a row of
the person and why it stays: the test walks every table that references a user and fails when a new
one is in neither, so a new kind of record cannot be left out silently.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from diary.accounts.models import User
from diary.accounts.serializers import MeSerializer
from diary.alerts.api import alert_to_rest
from diary.alerts.happened import episode_times, happened
from diary.alerts.models import Alert, ThresholdChange, ThresholdOverride
from diary.checkins.models import CheckIn, WaterIntake
from diary.checkins.render import checkin_to_rest
from diary.checkins.water_api import water_to_rest
from diary.episodes.models import Episode
from diary.episodes.render import episode_to_rest
from diary.notifications.models import Device, Notification, SentMail
from diary.notifications.render import device_to_rest, notification_to_rest
from diary.patterns.models import InsightSnapshot
from diary.reports.csv_export import checkins_csv, episodes_csv
from diary.reports.fhir_export import bundle_json, diary_bundle
from diary.reports.models import ReportLink, ReportLinkView
from diary.sharing.api import share_to_rest
from diary.sharing.models import AccessLog, Share
from reminders.models import ReminderRule
from reminders.render import reminder_to_rest

FORMAT_VERSION = 1

# Tables with rows of a person that the export leaves out, and why (db_table -> reason).
NOT_EXPORTED = {
    "django_admin_log": "staff actions in the admin site, not diary data",
    "token_blacklist_outstandingtoken": "sign-in tokens: secrets",  # nosec B105  (why a table is left out)
    "accounts_totp_device": "the authenticator key: a secret",
    "diary_sync_state": "a counter the sync protocol keeps",
    "diary_outbox_event": "pending background work about records that are exported",
    "diary_insights_due": "when the next pattern analysis is due",
}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _live(model: Any, user: User) -> Any:
    return model.objects.filter(user_id=user.pk, deleted_at__isnull=True)


def _episodes(user: User) -> list[dict[str, Any]]:
    return [episode_to_rest(e) for e in _live(Episode, user).order_by("started_at", "id")]


def _checkins(user: User) -> list[dict[str, Any]]:
    return [checkin_to_rest(c) for c in _live(CheckIn, user).order_by("date")]


def _water(user: User) -> list[dict[str, Any]]:
    rows = WaterIntake.objects.filter(user_id=user.pk).order_by("logged_at", "id")
    return [water_to_rest(w, user.current_timezone) for w in rows]


def _reminders(user: User) -> list[dict[str, Any]]:
    return [reminder_to_rest(r) for r in _live(ReminderRule, user).order_by("id")]


def _notifications(user: User) -> list[dict[str, Any]]:
    return [notification_to_rest(n) for n in _live(Notification, user).order_by("scheduled_for", "id")]


def _alerts(user: User) -> list[dict[str, Any]]:
    alerts = list(_live(Alert, user).order_by("opened_at", "id"))
    times = episode_times(user_id=user.pk, uids=[a.episode_uid for a in alerts])
    return [alert_to_rest(a, happened(a, times, reader_tz=user.current_timezone)) for a in alerts]


def _thresholds(user: User) -> list[dict[str, Any]]:
    rows = ThresholdOverride.objects.filter(patient_id=user.pk).select_related("clinician").order_by("name")
    return [{"name": t.name, "value": t.value, "set_by": t.clinician.email if t.clinician else None,
             "updated_at": _iso(t.updated_at)} for t in rows]  # fmt: skip


def _threshold_changes(user: User) -> list[dict[str, Any]]:
    rows = ThresholdChange.objects.filter(patient_id=user.pk).select_related("clinician").order_by("changed_at", "id")
    return [{"name": c.name, "old_value": c.old_value, "new_value": c.new_value, "revision": c.revision,
             "changed_by": c.clinician.email if c.clinician else None, "changed_at": _iso(c.changed_at)}
            for c in rows]  # fmt: skip


def _shares(user: User) -> list[dict[str, Any]]:
    rows = Share.objects.filter(patient_id=user.pk).select_related("clinician").order_by("created_at", "id")
    return [share_to_rest(s) for s in rows]


def _access_log(user: User) -> list[dict[str, Any]]:
    rows = AccessLog.objects.filter(patient_id=user.pk).select_related("clinician", "share").order_by("at", "pk")
    return [{"at": _iso(r.at), "clinician": r.clinician.email if r.clinician else None,
             "share_id": r.share.uid if r.share else None, "what": r.what} for r in rows]  # fmt: skip


def _insights(user: User) -> list[dict[str, Any]]:
    rows = InsightSnapshot.objects.filter(user_id=user.pk).order_by("computed_at", "id")
    return [{"computed_at": _iso(s.computed_at), "window_start": _iso(s.window_start),
             "window_end": _iso(s.window_end), "report": s.report} for s in rows]  # fmt: skip


def _devices(user: User) -> list[dict[str, Any]]:
    return [device_to_rest(d) for d in Device.objects.filter(user_id=user.pk).order_by("created_at", "id")]


def _emails(user: User) -> list[dict[str, Any]]:
    rows = SentMail.objects.filter(user_id=user.pk).order_by("sent_at", "id")
    return [{"about": m.key.split(":", 2)[0], "status": m.status, "sent_at": _iso(m.sent_at)} for m in rows]


def _report_links(user: User) -> list[dict[str, Any]]:
    rows = ReportLink.objects.filter(patient_id=user.pk).order_by("created_at", "pk")
    return [{"id": x.uid, "from": _iso(x.period_start), "to": _iso(x.period_end), "last_days": x.last_days,
             "notes": x.notes, "created_at": _iso(x.created_at), "expires_at": _iso(x.expires_at),
             "revoked_at": _iso(x.revoked_at)} for x in rows]  # fmt: skip


def _report_link_views(user: User) -> list[dict[str, Any]]:
    rows = ReportLinkView.objects.filter(patient_id=user.pk).select_related("link").order_by("at", "pk")
    return [{"link_id": v.link.uid, "what": v.what, "at": _iso(v.at)} for v in rows]


# section -> (the table its rows come from, how to read them)
SECTIONS: dict[str, tuple[str, Callable[[User], list[dict[str, Any]]]]] = {
    "episodes": ("diary_episode", _episodes),
    "checkins": ("diary_checkin", _checkins),
    "water": ("diary_water_intake", _water),
    "reminders": ("reminders_rule", _reminders),
    "notifications": ("reminders_notification", _notifications),
    "alerts": ("diary_alert", _alerts),
    "thresholds": ("diary_alert_threshold", _thresholds),
    "threshold_changes": ("diary_alert_threshold_change", _threshold_changes),
    "shares": ("diary_share", _shares),
    "access_log": ("diary_share_access_log", _access_log),
    "report_links": ("diary_report_link", _report_links),
    "report_link_views": ("diary_report_link_view", _report_link_views),
    "insights": ("diary_insight_snapshot", _insights),
    "devices": ("reminders_device", _devices),
    "emails": ("notifications_sentmail", _emails),
}


def personal_export(user: User) -> dict[str, Any]:
    """Every record of ``user`` as plain JSON-ready data."""
    body: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "profile": dict(MeSerializer(user).data),
    }
    for name, (_table, read) in SECTIONS.items():
        body[name] = read(user)
    return body


_README = """Your spasm diary export ({when}).

diary.json       every record of yours: profile and settings, episodes, check-ins, water, reminders,
                 notifications, alerts, thresholds your clinicians set, shares, who read your diary
                 (access log), doctor links and their views, pattern analyses, devices (without their
                 push tokens) and emails sent.
episodes.csv     your episodes, one row each (opens in a spreadsheet).
checkins.csv     your daily check-ins, one row each.
diary.fhir.json  your diary as a FHIR R4 Bundle, for health record systems.

Times are UTC unless a field says otherwise; local days are in the zone the entry was made in.
"""


def personal_export_zip(user: User) -> bytes:
    """The zip: diary.json, the CSVs, the FHIR bundle and a README."""
    data = personal_export(user)
    episodes = list(_live(Episode, user).order_by("started_at", "id"))
    checkins = list(_live(CheckIn, user).order_by("date"))
    bundle = diary_bundle(patient_key=f"user:{user.pk}", episodes=episodes, checkins=checkins, notes=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _README.format(when=data["exported_at"]))
        archive.writestr("diary.json", json.dumps(data, ensure_ascii=False, indent=1, default=str))
        archive.writestr("episodes.csv", episodes_csv(episodes, notes=True))
        archive.writestr("checkins.csv", checkins_csv(checkins, notes=True))
        archive.writestr("diary.fhir.json", bundle_json(bundle))
    return buffer.getvalue()
