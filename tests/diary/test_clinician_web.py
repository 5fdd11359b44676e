"""Clinician web pages: session login, the TOTP second factor (enrol, verify, no replay), triage, redeem."""

from __future__ import annotations

import pyotp
import pytest
from django.test import Client

from diary.accounts.models import TotpDevice, User
from diary.sharing.models import Share
from diary.sharing.services import share_invite
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    return client


def current_code(user: User) -> str:
    return pyotp.TOTP(TotpDevice.objects.get(user=user).secret).now()


def past_second_factor(user: User) -> Client:
    client = signed_in(user)
    client.get("/clinician/2fa/")  # enrols: shows the key
    r = client.post("/clinician/2fa/?next=/clinician/", {"code": current_code(user)})
    assert r.status_code == 302 and r["Location"] == "/clinician/"
    return client


def test_pages_need_the_second_factor_and_enrolment_confirms_it(clinician: User) -> None:
    client = signed_in(clinician)
    r = client.get("/clinician/")
    assert r.status_code == 302 and r["Location"].startswith("/clinician/2fa/")
    page = client.get("/clinician/2fa/").content.decode()
    device = TotpDevice.objects.get(user=clinician)
    assert device.secret in page and device.confirmed_at is None
    assert client.post("/clinician/2fa/", {"code": "000000"}).status_code == 200  # wrong: shown again
    client.post("/clinician/2fa/", {"code": pyotp.TOTP(device.secret).now()})
    device.refresh_from_db()
    assert device.confirmed_at is not None
    assert client.get("/clinician/").status_code == 200


def test_a_code_works_once(clinician: User) -> None:
    client = past_second_factor(clinician)
    code = current_code(clinician)
    other_session = signed_in(clinician)
    r = other_session.post("/clinician/2fa/", {"code": code})
    assert r.status_code == 200 and b"did not match" in r.content  # replayed
    assert client.get("/clinician/").status_code == 200


def test_an_open_redirect_is_refused(clinician: User) -> None:
    client = signed_in(clinician)
    client.get("/clinician/2fa/")
    r = client.post("/clinician/2fa/?next=https://evil.example/", {"code": current_code(clinician)})
    assert r["Location"] == "/clinician/"


def test_people_cannot_use_clinician_pages(owner: User) -> None:
    assert signed_in(owner).get("/clinician/2fa/").status_code == 403
    assert Client().get("/clinician/").status_code == 302  # to the sign-in page


def test_redeem_on_the_page_then_the_patient_is_listed(owner: User, clinician: User) -> None:
    owner.display_name = "Pat Example"
    owner.save()
    _, code = share_invite(patient=owner, data={"scopes": ["episodes", "alerts"]})
    client = past_second_factor(clinician)
    bad = client.post("/clinician/redeem/", {"code": "AAAA-BBBB-CCCC"})
    assert bad.status_code == 200 and b"not valid" in bad.content
    r = client.post("/clinician/redeem/", {"code": code.lower()})
    assert r.status_code == 302
    assert Share.objects.get(patient=owner).clinician_id == clinician.pk
    assert b"Pat Example" in client.get("/clinician/").content
