"""Clinician web pages: session login, the TOTP second factor (enrol, verify, no replay), triage, redeem."""

from __future__ import annotations

from typing import Any

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


def _diary(owner: User) -> None:
    from django.utils import timezone

    from tests.conftest import client_for, episode_body, run_outbox

    api = client_for(owner)
    for pain in (3, 9):
        api.post("/api/v1/episodes", episode_body(pain=pain, notes="private words",
                                                 started_at=timezone.now().isoformat()), format="json")  # fmt: skip
    run_outbox()  # the red flags (pain 9)


def test_the_patient_page_shows_charts_and_episodes_within_the_share(owner: User, clinician: User) -> None:
    from diary.sharing.models import AccessLog
    from diary.sharing.services import share_redeem

    _diary(owner)
    share, code = share_invite(patient=owner, data={"scopes": ["episodes", "alerts"]})
    share_redeem(clinician=clinician, code=code)
    client = past_second_factor(clinician)
    r = client.get(f"/clinician/patients/{share.uid}/")
    assert r.status_code == 200
    page = r.content.decode()
    assert page.count("<svg") >= 4 and 'data-testid="episode-count">2<' in page
    assert "private words" not in page  # no notes scope
    assert AccessLog.objects.filter(patient=owner, what="page").count() == 1
    only_cramps = client.get(f"/clinician/patients/{share.uid}/?kind=twitch").content.decode()
    assert 'data-testid="episode-count">0<' in only_cramps


@pytest.mark.parametrize("page", ["", "report.pdf"])
@pytest.mark.parametrize("case", ["revoked", "expired", "not theirs", "no episodes scope"])
def test_the_patient_page_is_refused_outside_the_share(owner: User, clinician: User, case: str, page: str) -> None:
    import datetime as dt

    from django.utils import timezone

    from diary.accounts.services import user_make_clinician
    from diary.sharing.models import AccessLog
    from diary.sharing.services import share_redeem, share_revoke
    from tests.conftest import make_user

    scopes = ["alerts"] if case == "no episodes scope" else ["episodes", "alerts"]
    share, code = share_invite(patient=owner, data={"scopes": scopes})
    holder = user_make_clinician(user=make_user("holder@example.com")) if case == "not theirs" else clinician
    share_redeem(clinician=holder, code=code)
    if case == "revoked":
        share_revoke(patient=owner, uid=share.uid)
    if case == "expired":
        Share.objects.filter(pk=share.pk).update(ends_at=timezone.now() - dt.timedelta(minutes=1))
    client = past_second_factor(clinician)
    r = client.get(f"/clinician/patients/{share.uid}/{page}")
    assert r.status_code == 404
    assert not AccessLog.objects.filter(patient=owner).exists()


def test_the_pdf_renders_with_the_patients_numbers_and_no_notes(owner: User, clinician: User, tmp_path: Any) -> None:
    """pdftoppm renders its pages; pdftotext finds the numbers; notes stay out without the scope."""
    import subprocess

    from diary.sharing.models import AccessLog
    from diary.sharing.services import share_redeem

    _diary(owner)
    share, code = share_invite(patient=owner, data={"scopes": ["episodes", "alerts"]})
    share_redeem(clinician=clinician, code=code)
    client = past_second_factor(clinician)
    r = client.get(f"/clinician/patients/{share.uid}/report.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(r.content)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert 1 <= len(pages) <= 2
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert (
        "too few complete days yet for a weekly rate. 2 episodes so far" in " ".join(text.split())
        and "Pain 9 out of 10 (threshold 8)" in text
    )
    assert "private words" not in text
    assert AccessLog.objects.filter(patient=owner, what="pdf").count() == 1
    assert client.get(f"/clinician/patients/{share.uid}/report.pdf").status_code == 200
    from diary.sharing.services import share_revoke

    share_revoke(patient=owner, uid=share.uid)
    assert client.get(f"/clinician/patients/{share.uid}/report.pdf").status_code == 404
