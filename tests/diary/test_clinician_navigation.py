"""Clinician navigation (issue 17, item 3): signing in lands on the triage list, its rows link to the
patient page, every page leads back, and the last entry reads as a local date and time."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from diary.accounts.models import User
from diary.sharing.services import share_invite, share_redeem
from tests.conftest import PASSWORD, client_for, episode_body, make_user
from tests.diary.test_clinician_web import past_second_factor

pytestmark = pytest.mark.django_db


def test_a_clinician_signing_in_lands_on_the_triage_list_and_a_person_at_home(owner: User, clinician: User) -> None:
    r = Client().post("/accounts/login/", {"username": clinician.email, "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/clinician/"
    r = Client().post("/accounts/login/", {"username": owner.email, "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/"
    # An explicit next still wins (a link from an alert email to one patient page).
    r = Client().post("/accounts/login/?next=/clinician/redeem/", {"username": clinician.email, "password": PASSWORD,
                                                                     "next": "/clinician/redeem/"})  # fmt: skip
    assert r.status_code == 302 and r["Location"] == "/clinician/redeem/"


def test_triage_rows_link_to_the_patient_page_with_the_last_entry_in_local_time(clinician: User) -> None:
    clinician.timezone = "America/New_York"
    clinician.save()
    berlin = make_user("berlin@example.com", timezone="Europe/Berlin", display_name="Bea Berlin")
    started = dt.datetime(2026, 3, 2, 19, 5, tzinfo=dt.UTC)  # 20:05 in Berlin (CET)
    body = episode_body(started_at=started.isoformat(), tz="Europe/Berlin")
    assert client_for(berlin).post("/api/v1/episodes", body, format="json").status_code == 201
    share, code = share_invite(patient=berlin, data={"scopes": ["episodes"]})
    share_redeem(clinician=clinician, code=code)
    checkins_only = make_user("checkins@example.com", display_name="Cal Checkins")
    other, other_code = share_invite(patient=checkins_only, data={"scopes": ["checkins"]})
    share_redeem(clinician=clinician, code=other_code)

    client = past_second_factor(clinician)
    page = client.get("/clinician/").content.decode()
    link = re.search(r'<a data-testid="patient-link" href="([^"]+)">Bea Berlin</a>', page)
    assert link is not None, page
    assert link.group(1) == f"/clinician/patients/{share.uid}/"
    assert client.get(link.group(1)).status_code == 200
    # The patient page needs the episodes scope: a share without it is listed, not linked to a 404.
    assert f"/clinician/patients/{other.uid}/" not in page and "Cal Checkins" in page
    assert "Mon 2 Mar 2026, 20:05 Berlin time" in page  # the patient's clock, its zone named
    assert "2026-03-02T19:05" not in page and "the patient's local time" in page


def test_the_last_entry_names_no_zone_when_the_clinician_lives_in_the_patients(clinician: User) -> None:
    patient = make_user("same@example.com", timezone="Europe/Berlin")
    body = episode_body(started_at=dt.datetime(2026, 7, 1, 6, 30, tzinfo=dt.UTC).isoformat(), tz="Europe/Berlin")
    client_for(patient).post("/api/v1/episodes", body, format="json")
    _, code = share_invite(patient=patient, data={"scopes": ["episodes"]})
    share_redeem(clinician=clinician, code=code)  # the clinician fixture lives in Europe/Berlin
    page = past_second_factor(clinician).get("/clinician/").content.decode()
    assert re.search(r'data-testid="last-entry">Wed 1 Jul 2026, 08:30<', page), page


def test_every_clinician_page_leads_back(owner: User, clinician: User) -> None:
    share, code = share_invite(patient=owner, data={"scopes": ["episodes"]})
    share_redeem(clinician=clinician, code=code)
    client = past_second_factor(clinician)
    for url in ("/clinician/", "/clinician/redeem/", f"/clinician/patients/{share.uid}/", "/clinician/2fa/", "/"):
        page = client.get(url).content.decode()
        assert 'href="/"' in page, url  # home
        assert 'data-testid="nav-patients" href="/clinician/"' in page, url  # and the patients, from anywhere
    assert 'href="/clinician/">your patients' in client.get("/").content.decode()
    person = Client()
    assert person.login(email=owner.email, password=PASSWORD)
    assert "nav-patients" not in person.get("/").content.decode()
