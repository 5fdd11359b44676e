"""Acceptance A of the clinician review: Debian's Chromium, driven by playwright-core, against the live
server. A clinician signs in, passes the TOTP second factor, redeems a code, opens the patient, sees the
charts with the right numbers, downloads the PDF; after the person revokes, the same page is refused.
Screenshots and the PDF are kept in ``var/test-artefacts/browser/``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from diary.accounts.models import User
from diary.accounts.services import user_make_clinician
from diary.sharing.models import Share
from diary.sharing.services import share_invite, share_revoke
from tests.conftest import PASSWORD, client_for, episode_body, make_user, run_outbox
from tests.e2e.harness import ensure_node_modules

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
E2E = Path(__file__).resolve().parent
ARTEFACTS = E2E.parents[1] / "var" / "test-artefacts" / "browser"


def browse(base: str, clinician: User, **env: str) -> dict[str, Any]:
    ensure_node_modules()
    node = shutil.which("node")
    assert node is not None and Path("/usr/bin/chromium").exists(), "the test command installs Debian's chromium"
    done = subprocess.run(
        [node, str(E2E / "browser.mjs")],
        env={**os.environ, "BASE": base, "EMAIL": clinician.email, "PASSWORD": PASSWORD, "OUT": str(ARTEFACTS), **env},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_clinician_reviews_a_shared_diary_in_chromium(live_server: Any) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    person = make_user("browser-patient@example.com", display_name="Pat Browser")
    api = client_for(person)
    now = timezone.now()
    for pain, where in ((3, "calf"), (9, "calf"), (5, "foot")):
        body = episode_body(pain=pain, body_location=where, started_at=now.isoformat(), notes="private words")
        assert api.post("/api/v1/episodes", body, format="json").status_code == 201
    body = episode_body(kind="spasm", subtype="skeletal", body_location="chest", side=None, pain=4,
                        symptoms=["breathing_difficulty"], started_at=now.isoformat())  # fmt: skip
    assert api.post("/api/v1/episodes", body, format="json").status_code == 201
    run_outbox()  # the pain-9 and the difficulty-breathing red flags
    clinician = user_make_clinician(user=make_user("browser-doc@example.com"))
    share, code = share_invite(patient=person, data={"scopes": ["episodes", "alerts"]})

    seen = browse(live_server.url, clinician, CODE=code)
    assert seen["signedIn"] and seen["patient"] == share.uid
    assert seen["episodeCount"] == "4" and seen["charts"] >= 4 and seen["episodeRows"] == 4
    assert seen["summary"]["pain-median"] == "4.5" and seen["summary"]["pain-worst"] == "9"  # pains 3, 9, 5, 4
    assert len(seen["redFlags"]) == len(set(seen["redFlags"])) == 3  # open: pain 9, breathing, lingering pain
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", seen["pageText"])  # words, never a code
    assert {"calf", "foot"} <= set(seen["chartTexts"]) and "2" in seen["chartTexts"]  # calf: 2 episodes
    assert any("Pain 9 out of 10 (threshold 8)" in a for a in seen["alerts"])
    assert any(
        a.startswith("Urgent: Difficulty breathing. Difficulty breathing with a spasm in the chest.")
        for a in seen["alerts"]
    )
    assert not any(re.search(r"\b[a-z]+_[a-z_]+\b", a) for a in seen["alerts"])  # words, never a code
    assert len(seen["alerts"]) == len(set(seen["alerts"]))
    pdf = Path(seen["pdf"])
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "4 episodes so far" in text and "private words" not in text
    assert "This is not a diagnosis" in text and not re.search(r"\b[a-z]+_[a-z_]+\b", text)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(ARTEFACTS / "report-page")], check=True)
    assert list(ARTEFACTS.glob("report-page*.png"))

    share_revoke(patient=person, uid=share.uid)
    assert Share.objects.get(pk=share.pk).revoked_at is not None
    again = browse(live_server.url, clinician, PATIENT=share.uid, SECRET=seen["secret"])
    assert again["signedIn"] and again["status"] == 404  # signed in and past TOTP, and still refused
    assert (ARTEFACTS / "patient.png").exists() and (ARTEFACTS / "after-revoke.png").exists()
