"""A share's date window and scopes hold on every field a clinician can see (issue 15, item 5).

The person keeps a diary before, inside and after a share's window (the window ended two days ago, as
in the issue's measurement). Every clinician endpoint and page, found by walking the URL map rather
than by a hand-kept list, is read with the share, and the answer must carry the markers of the inside
records (unique notes, ids, body locations, alert ids) and none of the outside ones. The triage list's
fields (last entry, open alert counts) are checked against the inside records, and the triage list
writes one access-log entry per patient it shows (item 9).
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from diary.accounts.models import User
from diary.alerts.happened import alert_happened
from diary.alerts.models import Alert
from diary.checkins.models import CheckIn
from diary.core import words
from diary.episodes.models import Episode
from diary.patterns.services import insights_run
from diary.reports.patient import share_spec
from diary.reports.report import report_context
from diary.sharing.models import AccessLog, Share
from diary.sharing.services import share_invite, share_redeem
from tests.conftest import client_for, episode_body, make_user, run_outbox
from tests.diary.test_clinician_web import past_second_factor

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
ALL = ["episodes", "checkins", "notes", "insights", "alerts"]
# Per period: how many local days ago its records are, and a body location no other period uses.
PERIODS = {"before": (6, "pelvic_floor"), "inside": (3, "calf"), "after": (0, "triceps")}
WINDOW = (5, 2)  # the window: from 5 to 2 local days ago
# Clinician endpoints that show configuration, not diary records: read, but expected to show no marker.
NO_DIARY_DATA = {"clinician-thresholds", "clinician-2fa", "clinician-redeem"}


@dataclass
class Period:
    markers: set[str] = field(default_factory=set)
    episode: Episode | None = None
    alerts: set[str] = field(default_factory=set)


def _today() -> dt.date:
    return timezone.now().astimezone(BERLIN).date()


def _noon(days_ago: int) -> dt.datetime:
    """Noon Berlin time ``days_ago`` local days ago (or an hour ago for today: never in the future)."""
    if days_ago == 0:
        return timezone.now() - dt.timedelta(hours=1)
    return dt.datetime.combine(_today() - dt.timedelta(days=days_ago), dt.time(12), tzinfo=BERLIN)


def keep_diary(owner: User) -> dict[str, Period]:
    api = client_for(owner)
    periods: dict[str, Period] = {}
    for name, (days_ago, location) in PERIODS.items():
        p = periods[name] = Period()
        note = f"episode-note-{name}-7f3a"
        r = api.post(
            "/api/v1/episodes",
            episode_body(started_at=_noon(days_ago).isoformat(), body_location=location, pain=9, notes=note),
            format="json",
        )
        assert r.status_code == 201, r.content
        day = (_today() - dt.timedelta(days=days_ago)).isoformat()
        r = api.put(f"/api/v1/checkins/{day}", {"water_ml": 700, "notes": f"checkin-note-{name}-7f3a"}, format="json")
        assert r.status_code in (200, 201), r.content
        p.episode = Episode.objects.get(user=owner, notes=note)
        assert CheckIn.objects.filter(user=owner, date=day).exists()
        # (A check-in's id is its date, which timestamps also contain: its note is its marker.)
        p.markers |= {note, p.episode.uid, location, location.replace("_", " "), f"checkin-note-{name}-7f3a"}
    run_outbox()  # red flags: pain 9 on each episode raises a severe_pain alert
    insights_run(user=owner)  # the person's own whole-diary snapshot exists: a clinician must not get it
    for p in periods.values():
        assert p.episode is not None
        alerts = Alert.objects.filter(user=owner, episode_uid=p.episode.uid)
        p.alerts = {a.uid for a in alerts}
        # An alert line on the page and PDF says when its episode happened, in the patient's time.
        p.markers |= p.alerts | {alert_happened(a, reader_tz=owner.timezone) for a in alerts}
    assert periods["inside"].alerts and periods["before"].alerts and periods["after"].alerts
    # Alerts that are about no episode (window rules) were raised today: after the window.
    for a in Alert.objects.filter(user=owner, episode_uid__isnull=True):
        periods["after"].markers |= {
            a.uid,
            words.local_time(a.opened_at, owner.timezone, reader_tz=owner.timezone),
        }
    return periods


def windowed_share(owner: User, clinician: User) -> Share:
    start, end = (_today() - dt.timedelta(days=d) for d in WINDOW)
    share, code = share_invite(
        patient=owner, data={"scopes": ALL, "window_start": start.isoformat(), "window_end": end.isoformat()}
    )
    share_redeem(clinician=clinician, code=code)
    return Share.objects.get(pk=share.pk)


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def clinician_reads() -> list[str]:
    """The names of every clinician URL that takes a patient id and answers GET."""
    reads = []
    for route, p in _walk(get_resolver().url_patterns):
        if "clinician" not in route or "pid" not in p.pattern.regex.groupindex:
            continue
        view_class = getattr(p.callback, "view_class", None)
        if view_class is not None and not hasattr(view_class, "get"):
            continue  # POST only (acknowledge): no read
        if p.pattern.regex.groupindex.keys() - {"pid"}:
            continue  # needs another id (an alert's): acknowledging is a write, checked separately
        assert p.name, route
        reads.append(p.name)
    return sorted(reads)


def _text(response: Any) -> str:
    return response.content.decode("utf-8", errors="replace")


def leaks(where: str, text: str, periods: dict[str, Period], *, shows_data: bool = True) -> list[str]:
    """What is wrong with one answer: outside markers in it, or (if it shows diary data) no inside one."""
    found = [
        f"{where} shows {name}-window data: {sorted(m for m in periods[name].markers if m in text)}"
        for name in ("before", "after")
        if any(m in text for m in periods[name].markers)
    ]
    if shows_data and not any(m in text for m in periods["inside"].markers):
        found.append(f"{where} shows nothing of the window")
    return found


def test_the_url_walk_finds_every_clinician_read() -> None:
    names = set(clinician_reads())
    assert {
        "clinician-episodes", "clinician-checkins", "clinician-insights", "clinician-alerts", "clinician-thresholds",
        "clinician-export-episodes-csv", "clinician-export-checkins-csv", "clinician-export-fhir",
        "clinician-patient", "clinician-pdf",
    } <= names  # fmt: skip


def test_every_clinician_field_stays_within_the_window(owner: User, clinician: User) -> None:
    from django.urls import reverse

    periods = keep_diary(owner)
    share = windowed_share(owner, clinician)
    api, web = client_for(clinician), past_second_factor(clinician)
    walked, problems = [], []
    for name in clinician_reads():
        path = reverse(name, kwargs={"pid": share.uid})
        client = api if path.startswith("/api/") else web
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        walked.append(name)
        if name == "clinician-pdf":
            # The PDF is WeasyPrint's rendering of this HTML (the page's context): its text is checked here.
            context = report_context(share_spec(share, clinician, rows=25))
            problems += leaks("the PDF", render_to_string("reports/report_pdf.html", context), periods)
            assert r.content.startswith(b"%PDF")
            continue
        problems += leaks(path, _text(r), periods, shows_data=name not in NO_DIARY_DATA)
    assert len(walked) >= 10

    # Insights: hotspots (body locations) only of the window's episodes.
    report = api.get(f"/api/v1/clinician/patients/{share.uid}/insights").json()["report"]
    hotspots = [h["body_location"] for h in (report or {}).get("where", {}).get("hotspots", [])]
    if hotspots != ["calf"]:
        problems.append(f"insights hotspots {hotspots}")

    # The triage list: last entry, open alert counts within the window; no outside marker anywhere.
    (row,) = api.get("/api/v1/clinician/patients").json()
    inside = periods["inside"].episode
    assert inside is not None
    if dt.datetime.fromisoformat(row["last_entry"]) != inside.started_at:
        problems.append(f"triage last_entry {row['last_entry']}, the window's last is {inside.started_at}")
    open_high = Alert.objects.filter(uid__in=periods["inside"].alerts, status="open", severity="high").count()
    if not row["open_high"] == open_high >= 1:
        problems.append(f"triage open_high {row['open_high']}, the window has {open_high}")
    if report and row["trend"] != report["frequency"]["trend"]:
        problems.append(f"triage trend {row['trend']} is not the window's {report['frequency']['trend']}")
    problems += leaks("the triage list", json.dumps(row), periods, shows_data=False)
    problems += leaks("the triage page", _text(web.get("/clinician/")), periods, shows_data=False)
    assert not problems, "\n".join(problems)


def test_an_alert_outside_the_window_cannot_be_acknowledged(owner: User, clinician: User) -> None:
    periods = keep_diary(owner)
    share = windowed_share(owner, clinician)
    api = client_for(clinician)
    (outside,) = periods["after"].alerts
    r = api.post(f"/api/v1/clinician/patients/{share.uid}/alerts/{outside}/acknowledge")
    assert r.status_code == 404
    assert Alert.objects.get(uid=outside).status == "open"
    (inside,) = periods["inside"].alerts
    r = api.post(f"/api/v1/clinician/patients/{share.uid}/alerts/{inside}/acknowledge")
    assert r.status_code == 200 and r.json()["id"] == inside


def test_each_scope_hides_its_fields(owner: User, clinician: User) -> None:
    """A share without ``alerts`` shows no alert counts in triage; without ``insights`` no trend;
    without ``episodes`` no last entry (and the endpoints of a missing scope are 404)."""
    keep_diary(owner)
    share, code = share_invite(patient=owner, data={"scopes": ["checkins"]})
    share_redeem(clinician=clinician, code=code)
    api = client_for(clinician)
    (row,) = api.get("/api/v1/clinician/patients").json()
    assert (row["open_urgent"], row["open_high"], row["trend"], row["last_entry"]) == (0, 0, None, None)
    for what in ("episodes", "insights", "alerts", "export/episodes.csv"):
        assert api.get(f"/api/v1/clinician/patients/{share.uid}/{what}").status_code == 404


def test_the_triage_list_logs_one_entry_per_patient_shown(owner: User, clinician: User) -> None:
    second = make_user("second-patient@example.com")
    unshared = make_user("unshared@example.com")
    pids = set()
    for patient in (owner, second):
        share, code = share_invite(patient=patient, data={"scopes": ["episodes"]})
        share_redeem(clinician=clinician, code=code)
        pids.add(share.uid)
    rows = client_for(clinician).get("/api/v1/clinician/patients").json()
    assert {r["patient_id"] for r in rows} == pids
    entries = AccessLog.objects.filter(what="triage")
    assert sorted(e.patient_id for e in entries) == sorted([owner.pk, second.pk])
    assert all(e.clinician_id == clinician.pk for e in entries)
    assert not AccessLog.objects.filter(patient=unshared).exists()
    for patient in (owner, second):
        log = client_for(patient).get("/api/v1/shares/access-log").json()
        assert [(e["what"], e["clinician"]) for e in log] == [("triage", clinician.email)]
    past_second_factor(clinician).get("/clinician/")  # the triage page logs the same way
    assert AccessLog.objects.filter(what="triage").count() == 4
