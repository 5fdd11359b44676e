"""Structured logs carry no personal health data (issue 8): drive the API with marked health data in
every free-text place, through success, bad input, sync rejections, red-flag alerts, clinician
exports and a database outage, with every logger at DEBUG, and look for the marks in every line."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from backend.logs import Formatter
from diary.accounts.services import user_make_clinician
from diary.sharing.services import share_invite, share_redeem
from tests.conftest import PASSWORD, client_for, episode_body, make_user, run_outbox
from tests.diary.sync.helpers import changes, pull, push, raw_episode

MARK = "Zq7731marker"  # planted in notes, custom codes, contact names, emails and query strings


@contextmanager
def captured(level: int = logging.DEBUG) -> Iterator[list[str]]:
    """What the configured console handler (settings.LOGGING: JSON formatter, request filter) writes
    while inside, with the root logger at ``level``: the very lines production would ship."""
    root = logging.getLogger()
    (console,) = [h for h in root.handlers if isinstance(h.formatter, Formatter)]
    assert isinstance(console, logging.StreamHandler)
    stream = io.StringIO()
    saved_stream, saved_level = console.setStream(stream), root.level
    root.setLevel(level)
    lines: list[str] = []
    try:
        yield lines
    finally:
        console.setStream(saved_stream)
        root.setLevel(saved_level)
        lines.extend(stream.getvalue().splitlines())


def _drive_everything() -> dict[str, Any]:
    person = make_user(f"{MARK.lower()}@example.com")
    api = client_for(person)
    api.raise_request_exception = False
    contact = {"emergency_contact_name": f"Ann {MARK}", "emergency_contact_email": f"ann.{MARK.lower()}@example.com"}
    assert api.patch("/api/v1/me", contact, format="json").status_code == 200

    # Writes that succeed, with health data in every free-text place.
    ok = api.post("/api/v1/episodes/", episode_body(notes=f"{MARK} calf at night"), format="json")
    assert ok.status_code == 201
    urgent = episode_body(notes=f"{MARK} chest tight", symptoms=["breathing_difficulty"], pain=9)
    assert api.post("/api/v1/episodes/", urgent, format="json").status_code == 201
    checkin = {"date": "2026-01-05", "notes": f"{MARK} slept badly", "medications": [f"custom:{MARK}"]}
    assert api.post("/api/v1/checkins/", checkin, format="json").status_code in (200, 201)

    # Bad input that echoes the values back in the 400 (to the person, never to the log).
    assert api.post("/api/v1/episodes/", episode_body(notes=MARK * 300, pain=99), format="json").status_code == 400
    bad_json = api.generic("POST", "/api/v1/episodes/", f'{{"notes": "{MARK}"', content_type="application/json")
    assert bad_json.status_code == 400
    assert api.get(f"/api/v1/episodes/?kind={MARK}&body_location={MARK}").status_code == 400

    # Sync: one good record and one rejected by id, with health data in both.
    last = pull(api, None)["timestamp"]
    good, bad = raw_episode("lg-good", notes=f"{MARK} synced"), raw_episode("lg-bad", pain=MARK)
    assert push(api, last, changes(episodes={"created": [good, bad]}))["rejected"]

    # The outbox: alert evaluation, the urgent alert's notification and emails to the clinician.
    clinician = user_make_clinician(user=make_user(f"dr.{MARK.lower()}@example.com"))
    share, code = share_invite(patient=person, data={"scopes": ["episodes", "checkins", "notes", "alerts"]})
    share_redeem(clinician=clinician, code=code)
    while run_outbox():
        pass
    doc = client_for(clinician)
    for path in ("export/episodes.csv", "export/checkins.csv", "export/fhir", "episodes"):
        assert doc.get(f"/api/v1/clinician/patients/{share.uid}/{path}").status_code == 200

    # Auth: a failed login and a password reset for an address that carries the mark.
    anon = Client()
    anon.post(
        "/api/v1/auth/token", {"email": person.email, "password": f"wrong {MARK}"}, content_type="application/json"
    )
    anon.post("/api/v1/auth/password/reset", {"email": person.email}, content_type="application/json")
    while run_outbox():
        pass

    # A database outage: the 503 is logged with the path, never the query string. (A valid query: the
    # signed-in account needs no database once this process has read it, so an invalid one answers 400.)
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        down = api.get(f"/api/v1/episodes/?kind=cramp&note={MARK}")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert down.status_code == 503
    return {"person": person, "outbox_mail": len(mail.outbox), "password": PASSWORD}


@pytest.mark.django_db(transaction=True)
def test_no_personal_health_data_reaches_the_logs() -> None:
    with captured() as lines:
        facts = _drive_everything()

    assert facts["outbox_mail"] >= 1  # the alert and reset emails were really sent (they carry data; logs don't)
    leaks = [line for line in lines if MARK.lower() in line.lower() or facts["password"] in line]
    assert leaks == [], leaks[:5]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert not any("request" in r for r in records)  # Django's request objects are reduced to method and path
    # The scenario really was logged: an access line per request, Django's 4xx/5xx warnings, the 503.
    assert sum(r["logger"] == "backend.access" for r in records) >= 15
    statuses = {r.get("status_code") for r in records if r["logger"] == "django.request"}
    assert {400, 503} <= statuses, statuses


@pytest.mark.django_db
def test_the_access_log_names_the_view_status_time_and_person_never_the_query() -> None:
    person = make_user()
    api = client_for(person)
    with captured(logging.INFO) as all_lines:
        r = api.get("/api/v1/episodes/?kind=cramp", HTTP_X_REQUEST_ID="app-1234")
        missing = api.get("/api/v1/no-such-thing?q=1")
    assert r["X-Request-ID"] == "app-1234" and len(missing["X-Request-ID"]) == 32
    first, second = (r for r in map(json.loads, all_lines) if r["logger"] == "backend.access")
    assert first["message"] == "request"
    assert (first["method"], first["view"], first["status"], first["user_id"]) == ("GET", "episodes", 200, person.pk)
    assert first["request_id"] == "app-1234" and first["duration_ms"] >= 0
    assert dt.datetime.fromisoformat(first["time"]).utcoffset() == dt.timedelta(0)
    assert "cramp" not in json.dumps(first)
    assert (second["view"], second["path"], second["status"]) == (None, "/api/v1/no-such-thing", 404)
