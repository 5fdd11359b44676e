"""The person's complete export (issue 17, item 5): a zip with every record they own and nothing of
anybody else; and every export answers a client that asks for its own media type."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from fhir.resources.R4B.bundle import Bundle
from rest_framework.test import APIClient

from diary.accounts.models import User
from diary.alerts.models import ThresholdChange
from diary.checkins.models import CheckIn
from diary.episodes.models import Episode
from diary.notifications.models import Device, Notification, SentMail
from diary.reports.models import ReportLink
from diary.reports.personal_export import NOT_EXPORTED, SECTIONS
from tests.conftest import assert_error, client_for, episode_body, run_outbox
from tests.diary.test_exports import CLINICIAN, full_diary, shared

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/me/export"
SECRETS = ("fcm-token-of-owner", "p256dh-secret-of-owner")


def _owner_columns() -> dict[type[models.Model], str]:
    """Every model with a column naming the person a row belongs to (not the clinician who acted)."""
    found: dict[type[models.Model], str] = {}
    for model in apps.get_models():
        for f in model._meta.get_fields():
            owns = f.concrete and f.is_relation and f.related_model is User and f.name in ("user", "patient")
            if owns and (f.many_to_one or f.one_to_one):
                found[model] = f.attname  # type: ignore[union-attr]
    return found


def _unzip(response: Any) -> dict[str, bytes]:
    assert response.status_code == 200, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/zip" and response["Cache-Control"] == "no-store"
    assert 'filename="spasm-diary-' in response["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _everything(person: User, clinician: User, mark: str) -> str:
    """full_diary, plus the rows it does not make (an email sent, a threshold change, Web Push keys, a
    doctor link opened once); returns the link's token."""
    full_diary(person, clinician)
    client_for(person).post("/api/v1/episodes", episode_body(notes=f"{mark} episode words"), format="json")
    SentMail.objects.create(key=f"alert.contact:{mark}:abc", user=person, message_id=f"<{mark}@x>")
    ThresholdChange.objects.create(patient=person, clinician=clinician, name="pain_high", old_value=8, new_value=7,
                                   revision=1)  # fmt: skip
    Device.objects.filter(user=person).update(keys={"p256dh": "p256dh-secret-of-owner", "auth": "auth-secret"})
    run_outbox()  # the pain-9 episode's alert
    made = client_for(person).post("/api/v1/me/report-links", {"days": 3}, format="json").json()
    token = made["url"].split("/r/", 1)[1].rstrip("/")
    assert Client().get(f"/r/{token}/").status_code == 200  # a doctor opened it once
    return token


def test_every_record_of_mine_is_in_the_zip_and_no_secret(owner: User, clinician: User) -> None:
    token = _everything(owner, clinician, "mine")
    files = _unzip(client_for(owner).get(EXPORT))
    assert set(files) == {"README.txt", "diary.json", "episodes.csv", "checkins.csv", "diary.fhir.json"}
    data = json.loads(files["diary.json"])
    exported = {table: name for name, (table, _read) in SECTIONS.items()}
    for model, column in _owner_columns().items():
        table = model._meta.db_table
        rows = model._default_manager.filter(**{column: owner.pk})
        if any(f.name == "deleted_at" for f in model._meta.concrete_fields):
            rows = rows.filter(deleted_at__isnull=True)  # deleted records are gone for the person too
        if table in NOT_EXPORTED:
            continue
        count = rows.count()
        assert count > 0, f"the test diary has no row in {table}: fill it so the round trip is checked"
        assert table in exported, f"{table} holds rows of a person but is neither exported nor in NOT_EXPORTED"
        assert len(data[exported[table]]) == count, (table, len(data[exported[table]]), count)

    assert data["profile"]["email"] == owner.email and "password" not in data["profile"]
    assert {e["id"] for e in data["episodes"]} == set(Episode.objects.filter(user=owner).values_list("uid", flat=True))
    assert any(e.get("notes") == "mine episode words" for e in data["episodes"])  # their own notes are theirs
    assert data["access_log"] and data["access_log"][0]["clinician"] == "doc@example.com"
    episodes = list(csv.DictReader(io.StringIO(files["episodes.csv"].decode())))
    assert {r["id"] for r in episodes} == {e["id"] for e in data["episodes"]}
    assert len(list(csv.DictReader(io.StringIO(files["checkins.csv"].decode())))) == len(data["checkins"]) == 2
    bundle = Bundle.model_validate_json(files["diary.fhir.json"])
    observations = [e for e in bundle.entry or [] if type(e.resource).__name__ == "Observation"]
    assert len(observations) > len(episodes)
    blob = b"".join(files.values())
    for secret in (*SECRETS, b"auth-secret", owner.password.encode(), token):
        assert (secret.encode() if isinstance(secret, str) else secret) not in blob, secret
    assert all("token" not in d and "keys" not in d for d in data["devices"])


def test_nothing_of_anybody_else_is_in_my_zip(owner: User, other: User, clinician: User) -> None:
    _everything(owner, clinician, "mine")
    Device.objects.filter(user=owner).update(uid="dev-owner", token="another-fcm-token")  # tokens are unique
    _everything(other, clinician, "theirs")  # the same clinician reads both
    CheckIn.objects.filter(user=other).update(notes="theirs check-in words")
    theirs: list[str] = [other.email, "theirs episode words", "theirs"]
    for model in (Episode, Notification):  # (a check-in's id is its date: the same for both)
        mine = set(model.objects.filter(user=owner).values_list("uid", flat=True))
        theirs += [uid for uid in model.objects.filter(user=other).values_list("uid", flat=True) if uid not in mine]
    theirs += list(other.shares_given.values_list("uid", flat=True))
    theirs += list(ReportLink.objects.filter(patient=other).values_list("uid", flat=True))
    files = _unzip(client_for(owner).get(EXPORT))
    for name, body in files.items():
        for value in theirs:
            assert value.encode() not in body, (name, value)
    data = json.loads(files["diary.json"])
    assert len(data["shares"]) == 1 and len(data["access_log"]) == 1


def test_the_export_is_for_the_person_only(clinician: User) -> None:
    assert_error(client_for(clinician).get(EXPORT), 403)
    assert_error(APIClient().get(EXPORT), 401)


MINE = [
    ("/api/v1/me/export", "application/zip"),
    ("/api/v1/me/export/episodes.csv", "text/csv"),
    ("/api/v1/me/export/checkins.csv", "text/csv"),
    ("/api/v1/me/export/fhir", "application/fhir+json"),
]


@pytest.mark.parametrize(("path", "media"), MINE)
@pytest.mark.parametrize("accept", ["own", "*/*", "own;q=0.9, */*;q=0.1", "none"])
def test_my_exports_answer_a_client_that_asks_for_their_media_type(
    owner: User, path: str, media: str, accept: str
) -> None:
    api = client_for(owner)
    r = api.get(path) if accept == "none" else api.get(path, HTTP_ACCEPT=accept.replace("own", media))
    assert r.status_code == 200, (r.status_code, r.content[:200])
    assert r["Content-Type"].split(";")[0] == media


@pytest.mark.parametrize(("path", "scopes", "what"), CLINICIAN)
def test_clinician_exports_answer_their_own_media_type(
    owner: User, clinician: User, path: str, scopes: set[str], what: str
) -> None:
    pid = shared(owner, clinician, ["episodes", "checkins"])
    media = "application/fhir+json" if path.endswith("fhir") else "text/csv"
    r = client_for(clinician).get(path.format(pid=pid), HTTP_ACCEPT=media)
    assert r.status_code == 200 and r["Content-Type"].split(";")[0] == media


@pytest.mark.parametrize(("path", "media"), MINE)
def test_errors_stay_json_when_a_file_was_asked_for(path: str, media: str) -> None:
    r = APIClient().get(path, HTTP_ACCEPT=media)
    assert_error(r, 401)
    assert r["Content-Type"].startswith("application/json")


def test_a_media_type_the_export_cannot_give_is_406(owner: User) -> None:
    r = client_for(owner).get("/api/v1/me/export/episodes.csv", HTTP_ACCEPT="image/png")
    assert_error(r, 406)


def test_the_export_takes_a_few_queries_whatever_the_size(
    owner: User, clinician: User, django_assert_max_num_queries: Any
) -> None:
    _everything(owner, clinician, "mine")
    api = client_for(owner)
    api.get(EXPORT)  # warm: the token's user, the throttle
    with django_assert_max_num_queries(40):
        assert api.get(EXPORT).status_code == 200
