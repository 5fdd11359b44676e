"""The clinician API: triage, scoped reads, notes only with the notes scope, the authorization matrix
over every clinician endpoint, and exactly one access-log entry per read that the person sees."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from diary.accounts.models import User
from diary.accounts.services import user_make_clinician
from diary.sharing.models import AccessLog, Share
from diary.sharing.services import share_invite, share_redeem
from tests.conftest import client_for, episode_body, make_user, run_outbox

pytestmark = pytest.mark.django_db

ALL = ["episodes", "checkins", "notes", "insights", "alerts"]
# Every clinician read endpoint, with the scope it needs.
ENDPOINTS: list[tuple[str, str, str]] = [
    ("get", "/api/v1/clinician/patients/{pid}/episodes", "episodes"),
    ("get", "/api/v1/clinician/patients/{pid}/checkins", "checkins"),
    ("get", "/api/v1/clinician/patients/{pid}/insights", "insights"),
    ("get", "/api/v1/clinician/patients/{pid}/alerts", "alerts"),
    ("get", "/api/v1/clinician/patients/{pid}/thresholds", "alerts"),
]


def shared(patient: User, clinician: User, scopes: list[str], **extra: Any) -> str:
    share, code = share_invite(patient=patient, data={"scopes": scopes, **extra})
    share_redeem(clinician=clinician, code=code)
    return share.uid


def diary(owner: User) -> None:
    api = client_for(owner)
    api.post("/api/v1/episodes", episode_body(notes="private words", pain=9), format="json")
    api.put(f"/api/v1/checkins/{timezone.now().date()}", {"water_ml": 900, "notes": "check-in words"}, format="json")
    run_outbox()


def test_triage_lists_open_urgent_and_high_first(owner: User, clinician: User) -> None:
    quiet = make_user("quiet@example.com")
    shared(quiet, clinician, ALL)
    diary(owner)  # pain 9: an open high alert
    pid = shared(owner, clinician, ALL)
    rows = client_for(clinician).get("/api/v1/clinician/patients").json()
    assert rows[0]["patient_id"] == pid and len(rows) == 2
    assert rows[0]["open_high"] == 1 and rows[0]["last_entry"] is not None
    assert rows[1]["open_high"] == 0


def test_reads_are_scoped_and_notes_need_the_notes_scope(owner: User, clinician: User) -> None:
    diary(owner)
    without = shared(owner, clinician, ["episodes", "checkins"])
    api = client_for(clinician)
    (episode,) = api.get(f"/api/v1/clinician/patients/{without}/episodes").json()
    (checkin,) = api.get(f"/api/v1/clinician/patients/{without}/checkins").json()
    assert "notes" not in episode and "notes" not in checkin and episode["pain"] == 9
    other_doc = user_make_clinician(user=make_user("doc-notes@example.com"))
    with_notes = shared(owner, other_doc, ["episodes", "notes"])
    (episode,) = client_for(other_doc).get(f"/api/v1/clinician/patients/{with_notes}/episodes").json()
    assert episode["notes"] == "private words"


def test_a_date_window_limits_what_is_seen(owner: User, clinician: User) -> None:
    api = client_for(owner)
    old = (timezone.now() - dt.timedelta(days=40)).isoformat()
    api.post("/api/v1/episodes", episode_body(started_at=old), format="json")
    api.post("/api/v1/episodes", episode_body(), format="json")
    start = (timezone.now() - dt.timedelta(days=7)).date().isoformat()
    pid = shared(owner, clinician, ["episodes"], window_start=start)
    assert len(client_for(clinician).get(f"/api/v1/clinician/patients/{pid}/episodes").json()) == 1


def _revoked(owner: User, doc: User) -> str:
    pid = shared(owner, doc, ALL)
    client_for(owner).delete(f"/api/v1/shares/{pid}")
    return pid


def _expired(owner: User, doc: User) -> str:
    pid = shared(owner, doc, ALL)
    Share.objects.filter(uid=pid).update(ends_at=timezone.now() - dt.timedelta(minutes=1))
    return pid


def _other_clinicians(owner: User, doc: User) -> str:
    stranger = user_make_clinician(user=make_user("stranger-doc@example.com"))
    return shared(owner, stranger, ALL)


CASES: dict[str, Callable[[User, User], str]] = {
    "revoked": _revoked,
    "expired": _expired,
    "not theirs": _other_clinicians,
}


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
@pytest.mark.parametrize("case", [*CASES, "lacking the scope"])
def test_the_authorization_matrix(owner: User, clinician: User, method: str, path: str, scope: str, case: str) -> None:
    diary(owner)
    if case == "lacking the scope":
        pid = shared(owner, clinician, [s for s in ALL if s != scope])
    else:
        pid = CASES[case](owner, clinician)
    before = AccessLog.objects.count()
    r = getattr(client_for(clinician), method)(path.format(pid=pid))
    assert r.status_code == 404, (case, path, r.status_code)
    assert AccessLog.objects.count() == before  # a refused read is no access


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_each_read_is_logged_once_and_the_person_sees_it(
    owner: User, clinician: User, method: str, path: str, scope: str
) -> None:
    diary(owner)
    pid = shared(owner, clinician, ALL)
    r = getattr(client_for(clinician), method)(path.format(pid=pid))
    assert r.status_code == 200
    (entry,) = AccessLog.objects.filter(patient=owner)
    assert entry.clinician_id == clinician.pk and entry.share is not None and entry.share.uid == pid
    log = client_for(owner).get("/api/v1/shares/access-log").json()
    assert [(e["clinician"], e["share_id"]) for e in log] == [(clinician.email, pid)]


def test_people_and_strangers_are_refused(owner: User, other: User) -> None:
    assert client_for(owner).get("/api/v1/clinician/patients").status_code == 403
    assert APIClient().get("/api/v1/clinician/patients").status_code == 401
    assert client_for(other).get("/api/v1/shares/access-log").json() == []
