"""The visit report in Debian's Chromium (issue 17): a clinician signs in and lands on the triage list,
clicks the patient, reads the summary block's numbers and downloads the PDF; the person makes a doctor
link, a fresh browser context with no account opens the report and its PDF, the person revokes it and
the same page is a 404; the API docs render with nothing from another origin. Screenshots and every PDF page (pdftoppm) are kept in
``var/test-artefacts/visit/`` (gitignored)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from diary.accounts.services import user_make_clinician
from diary.reports.models import ReportLink, ReportLinkView
from diary.sharing.services import share_invite, share_redeem
from tests.conftest import PASSWORD, client_for, episode_body, make_user, run_outbox
from tests.e2e.harness import ensure_node_modules

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
E2E = Path(__file__).resolve().parent
ARTEFACTS = E2E.parents[1] / "var" / "test-artefacts" / "visit"
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def walk(base: str, **env: str) -> dict[str, Any]:
    ensure_node_modules()
    node = shutil.which("node")
    assert node is not None and Path("/usr/bin/chromium").exists(), "the test command installs Debian's chromium"
    done = subprocess.run([node, str(E2E / "visit.mjs")], env={**os.environ, "BASE": base, "OUT": str(ARTEFACTS), **env},
                          capture_output=True, text=True, timeout=180, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def pdf_pages(pdf: Path, stem: str) -> tuple[str, int]:
    """Its text, and every page rendered to PNG beside it (the artefact a person looks at)."""
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    for old in ARTEFACTS.glob(f"{stem}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(ARTEFACTS / stem)], check=True)
    return " ".join(text.split()), len(list(ARTEFACTS.glob(f"{stem}-*.png")))


def test_the_visit_report_walk_in_chromium(live_server: Any) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    person = make_user("visit-patient@example.com", display_name="Pat Visit")
    api = client_for(person)
    now = timezone.now()
    # Six weeks of a diary: pains 2..9, one of 9 (a red flag), and one long episode.
    for i, (ago, pain, minutes) in enumerate([(40, 3, 2), (33, 4, 1), (26, 2, 3), (19, 5, 2), (12, 6, 45), (8, 4, 1),
                                              (5, 9, 6), (3, 5, 2), (1, 4, 1)]):  # fmt: skip
        started = (now - dt.timedelta(days=ago)).replace(hour=20, minute=10 + i)
        body = episode_body(pain=pain, duration_s=minutes * 60, started_at=started.isoformat(), notes="private words")
        assert api.post("/api/v1/episodes", body, format="json").status_code == 201
    run_outbox()
    clinician = user_make_clinician(user=make_user("visit-doc@example.com"))
    share, code = share_invite(patient=person, data={"scopes": ["episodes", "alerts", "insights"]})
    share_redeem(clinician=clinician, code=code)

    seen = walk(live_server.url, EMAIL=clinician.email, PASSWORD=PASSWORD, PERSON_EMAIL=person.email,
                PERSON_PASSWORD=PASSWORD, PATIENT_NAME="Pat Visit")  # fmt: skip
    doc, link = seen["clinician"], seen["link"]

    # 1. The clinician: sign-in -> second factor -> the triage list -> the patient -> the summary -> PDF.
    assert doc["afterSignIn"] == "/clinician/2fa/" and doc["landed"] == "/clinician/"
    assert re.fullmatch(r"\w{3} \d{1,2} \w{3} \d{4}, \d\d:\d\d", doc["lastEntry"]), doc["lastEntry"]  # local, not ISO
    assert doc["patientPath"] == f"/clinician/patients/{share.uid}/" and doc["back"] >= 1
    numbers = doc["summary"]
    assert numbers["pain-median"] == "4" and numbers["pain-worst"] == "9"  # pains 3 4 2 5 6 4 9 5 4
    assert numbers["longest"] == "45 minutes", numbers
    assert numbers["rate-now"] and numbers["trend"] and "not a diagnosis" in numbers["disclaimer"]
    assert any("Pain 9 out of 10" in f for f in numbers["redFlags"]), numbers["redFlags"]
    text, pages = pdf_pages(Path(doc["pdf"]), "clinician-report-page")
    assert "Pat Visit" in text and "This is not a diagnosis" in text and "private words" not in text
    assert 1 <= pages <= 2 and not CODE.search(text)

    # 2. The doctor link: made, opened with no account, its PDF, revoked, refused.
    assert link["madeStatus"] == 201 and link["status"] == 200
    assert link["headers"] == {"robots": "noindex, nofollow, noarchive", "referrer": "no-referrer"}
    assert link["title"] == "Pat Visit" and link["charts"] >= 4
    assert link["summary"]["pain-worst"] == "9" and link["summary"]["pain-median"] == "4"
    assert set(link["hrefs"]) == {"report.pdf"}, link["hrefs"]  # nothing else to follow
    assert link["pdfStatus"] == 200 and link["pdfType"] == "application/pdf"
    text, pages = pdf_pages(Path(link["pdf"]), "doctor-link-report-page")
    assert "Pat Visit" in text and "This is not a diagnosis" in text and "private words" not in text
    assert 1 <= pages <= 2 and not CODE.search(text)
    assert link["revokeStatus"] == 200 and link["afterRevoke"] == 404
    assert "Pat Visit" not in link["afterRevokeText"] and "expired or been withdrawn" in link["afterRevokeText"]
    assert link["listed"]["view_count"] == 2 and {v["what"] for v in link["listed"]["views"]} == {"page", "pdf"}
    assert ReportLinkView.objects.filter(link__patient=person).count() == 2
    assert ReportLink.objects.get(patient=person).revoked_at is not None
    # 3. The API docs (issue 17 item 4): Swagger UI from this server only, no CSP or script error.
    assert seen["docs"]["title"].startswith("Spasm diary API") and seen["docs"]["operations"] > 50
    assert seen["docs"]["elsewhere"] == [] and seen["docs"]["problems"] == [], seen["docs"]
    for name in ("1-triage", "2-patient", "3-doctor-link", "4-after-revoke", "5-api-docs"):
        assert (ARTEFACTS / f"{name}.png").stat().st_size > 5_000, name
