"""The person's visit report and doctor links (issue 17, item 1): the PDF for any doctor, and a
read-only link that opens that report (page and PDF) and nothing else, until it expires or is revoked,
logging every view, stored only as a hash, never indexed, throttled, and never in a log line."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from diary.accounts.models import User
from diary.reports.link_web import ReportLinkThrottle
from diary.reports.models import ReportLink, ReportLinkView
from tests.backend.test_logging import captured
from tests.conftest import assert_error, client_for, episode_body, make_user

pytestmark = pytest.mark.django_db

NOTE = "private words about my calf"
LINKS = "/api/v1/me/report-links"


def diary(person: User, *, note: str = NOTE, days_ago: tuple[int, ...] = (2, 5, 9)) -> None:
    api = client_for(person)
    for i, ago in enumerate(days_ago):
        started = timezone.now() - dt.timedelta(days=ago)
        body = episode_body(started_at=started.isoformat(), pain=4 + i, notes=note)
        assert api.post("/api/v1/episodes", body, format="json").status_code == 201


def pdf_text(body: bytes, tmp_path: Path, name: str = "report.pdf") -> tuple[str, int]:
    path = tmp_path / name
    path.write_bytes(body)
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    return text, pages


def make_link(person: User, **body: Any) -> tuple[str, dict[str, Any]]:
    r = client_for(person).post(LINKS, body, format="json")
    assert r.status_code == 201, r.content
    made = r.json()
    return made["url"].split("/r/", 1)[1].rstrip("/"), made


# ---- the person's PDF ----


def test_my_report_pdf_is_the_shared_report_titled_for_me(owner: User, tmp_path: Path) -> None:
    owner.display_name = "Pat Example"
    owner.save()
    diary(owner)
    diary(owner, days_ago=(120,), note="an old episode note")  # before the default 90 days
    api = client_for(owner)
    r = api.get("/api/v1/me/report.pdf", HTTP_ACCEPT="application/pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r["Cache-Control"] == "no-store"
    text, pages = pdf_text(r.content, tmp_path)
    assert "Report for your doctor" in text and "Pat Example" in text
    assert "This is not a diagnosis" in text and "Summary" in text
    assert NOTE not in text  # notes only when asked
    assert 1 <= pages <= 2
    days = re.search(r"Diary days (\d+ \w+ \d{4}) to (\d+ \w+ \d{4})", " ".join(text.split()))
    assert days is not None
    today = timezone.now().astimezone(ZoneInfo(owner.timezone)).date()
    first, last = (dt.datetime.strptime(days.group(i), "%d %b %Y").date() for i in (1, 2))
    assert (first, last) == (today - dt.timedelta(days=89), today)  # the last 90 days by default

    noted = api.get("/api/v1/me/report.pdf?notes=1")
    assert NOTE in " ".join(pdf_text(noted.content, tmp_path, "noted.pdf")[0].split())
    old_from = (timezone.now() - dt.timedelta(days=130)).date().isoformat()
    wide = api.get(f"/api/v1/me/report.pdf?from={old_from}&notes=true")
    assert "an old episode note" in " ".join(pdf_text(wide.content, tmp_path, "wide.pdf")[0].split())


@pytest.mark.parametrize(
    ("query", "field"),
    [("from=yesterday", "from"), ("to=2026-13-01", "to"), ("from=2026-03-02&to=2026-03-01", "to"),
     ("notes=maybe", "notes"), ("colour=red", "colour"), ("from=1990-01-01&to=2026-01-01", "from")],
)  # fmt: skip
def test_a_bad_period_is_a_400_naming_the_field(owner: User, query: str, field: str) -> None:
    assert_error(client_for(owner).get(f"/api/v1/me/report.pdf?{query}"), 400, field)


def test_the_report_pdf_is_for_the_person_only(clinician: User) -> None:
    assert_error(client_for(clinician).get("/api/v1/me/report.pdf"), 403)
    assert_error(Client().get("/api/v1/me/report.pdf", HTTP_ACCEPT="application/pdf"), 401)


# ---- making, listing and revoking links ----


@pytest.mark.postgresql  # reads the stored row back with row_to_json
def test_a_link_is_shown_once_and_only_its_hash_is_kept(owner: User) -> None:
    token, made = make_link(owner, days=30, notes=True)
    assert made["url"] == f"http://testserver/r/{token}/" or made["url"].endswith(f"/r/{token}/")
    assert len(token) >= 43  # token_urlsafe(32): 256 bits
    link = ReportLink.objects.get(uid=made["id"])
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    with connection.cursor() as cursor:  # the token itself is in no column of any row
        cursor.execute("SELECT row_to_json(t)::text FROM diary_report_link t")
        assert all(token not in row for (row,) in cursor.fetchall())
    assert abs((link.expires_at - timezone.now()) - dt.timedelta(days=30)) < dt.timedelta(minutes=1)
    listed = client_for(owner).get(LINKS).json()
    assert [x["id"] for x in listed] == [made["id"]] and "url" not in listed[0]
    assert listed[0]["notes"] is True and listed[0]["last_days"] == 90 and listed[0]["view_count"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [({"days": 31}, "days"), ({"days": 0}, "days"), ({"days": "7 days"}, "days"), ({"notes": "yes please"}, "notes"),
     ({"from": "2026-02-30"}, "from"), ({"last_days": 30, "from": "2026-01-01"}, "last_days"),
     ({"token": "mine"}, "token"), ({"days": True}, "days")],
)  # fmt: skip
def test_bad_link_requests_are_400_and_write_nothing(owner: User, body: dict[str, Any], field: str) -> None:
    assert_error(client_for(owner).post(LINKS, body, format="json"), 400, field)
    assert not ReportLink.objects.exists()


def test_links_are_the_persons_own(owner: User, other: User, clinician: User) -> None:
    _, made = make_link(owner)
    assert client_for(other).get(LINKS).json() == []
    assert_error(client_for(other).delete(f"{LINKS}/{made['id']}"), 404)
    assert ReportLink.objects.get(uid=made["id"]).revoked_at is None
    assert_error(client_for(clinician).post(LINKS, {}, format="json"), 403)
    assert_error(Client().get(LINKS), 401)


# ---- opening a link ----


def test_a_link_opens_the_report_and_its_pdf_for_anyone_and_logs_each_view(owner: User, tmp_path: Path) -> None:
    owner.display_name = "Pat Example"
    owner.save()
    diary(owner)
    token, made = make_link(owner)
    doctor = Client()  # no account
    page = doctor.get(f"/r/{token}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Pat Example" in html and 'data-testid="summary"' in html and html.count("<svg") >= 4
    assert '<meta name="robots" content="noindex' in html and NOTE not in html
    assert page["X-Robots-Tag"].startswith("noindex") and page["Referrer-Policy"] == "no-referrer"
    assert page["Cache-Control"] == "no-store" and "script-src 'self'" in page["Content-Security-Policy"]
    assert not page.cookies  # no session, no CSRF cookie: nothing that could be reused elsewhere
    pdf = doctor.get(f"/r/{token}/report.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["X-Robots-Tag"].startswith("noindex") and pdf["Cache-Control"] == "no-store"
    text, pages = pdf_text(pdf.content, tmp_path)
    assert "Pat Example" in text and "This is not a diagnosis" in text and 1 <= pages <= 2
    views = ReportLinkView.objects.filter(link__uid=made["id"]).order_by("at")
    assert [v.what for v in views] == ["page", "pdf"]
    listed = client_for(owner).get(LINKS).json()[0]
    assert listed["view_count"] == 2 and [v["what"] for v in listed["views"]] == ["pdf", "page"]


def test_notes_are_in_a_link_only_when_the_person_chose_them(owner: User) -> None:
    diary(owner)
    plain, _ = make_link(owner)
    noted, _ = make_link(owner, notes=True)
    assert NOTE not in Client().get(f"/r/{plain}/").content.decode()
    assert NOTE in Client().get(f"/r/{noted}/").content.decode()


def test_a_revoked_link_is_refused_at_once(owner: User) -> None:
    diary(owner)
    token, made = make_link(owner)
    doctor = Client()
    assert doctor.get(f"/r/{token}/").status_code == 200
    r = client_for(owner).delete(f"{LINKS}/{made['id']}")
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    for path in (f"/r/{token}/", f"/r/{token}/report.pdf"):
        refused = doctor.get(path)
        assert refused.status_code == 404 and refused["X-Robots-Tag"].startswith("noindex")
        assert "Pat" not in refused.content.decode() and "summary" not in refused.content.decode()
    assert ReportLinkView.objects.count() == 1  # a refused request is no view


def test_a_link_expires(owner: User) -> None:
    diary(owner)
    token, made = make_link(owner, days=1)
    assert Client().get(f"/r/{token}/").status_code == 200
    # Time travel through the database: the link was made 25 hours ago.
    ReportLink.objects.filter(uid=made["id"]).update(
        created_at=timezone.now() - dt.timedelta(hours=25), expires_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert Client().get(f"/r/{token}/").status_code == 404
    assert Client().get(f"/r/{token}/report.pdf").status_code == 404
    assert_error(client_for(owner).post(LINKS, {"days": 31}, format="json"), 400, "days")  # never beyond 30


def test_a_rolling_link_shows_the_days_up_to_the_day_it_is_opened(owner: User) -> None:
    token, _ = make_link(owner, last_days=14, notes=True)
    diary(owner, days_ago=(1,), note="logged after the link was made")
    diary(owner, days_ago=(20,), note="older than the fourteen days")
    html = Client().get(f"/r/{token}/").content.decode()
    assert "logged after the link was made" in html and "older than the fourteen days" not in html


def test_a_link_reaches_nothing_else(owner: User, other: User) -> None:
    owner.display_name = "Pat Example"
    owner.save()
    other.display_name = "Olive Other"
    other.save()
    diary(owner)
    diary(other, note="the other person's words")
    token, _ = make_link(owner, notes=True)
    other_token, _ = make_link(other)
    doctor = Client()
    html = doctor.get(f"/r/{token}/").content.decode()
    assert "Olive Other" not in html and "the other person's words" not in html
    # The page links to its PDF and nowhere else (no header, no home, no sign-in, no other report).
    hrefs = set(re.findall(r'(?:href|src|action)="([^"]*)"', html))
    assert hrefs <= {"report.pdf"}, hrefs
    assert "<form" in html and 'method="get"' in html  # only the page's own filter, submitting to itself
    # Its token is no credential anywhere else: not for the API, not for another page.
    for path in ("/api/v1/me", "/api/v1/episodes", "/api/v1/me/report.pdf", "/api/v1/me/export", LINKS):
        assert_error(doctor.get(path, HTTP_AUTHORIZATION=f"Bearer {token}"), 401)
    for path in (f"/r/{token}/export", f"/r/{token}/report.csv", f"/r/{token}/../", f"/r/{token}", "/clinician/"):
        assert doctor.get(path).status_code in (301, 302, 404), path  # (no slash: to the page; /clinician/: sign in)
    assert doctor.get("/clinician/").status_code == 302 and ReportLinkView.objects.count() == 1
    # Another person's link opens only theirs, and a near-miss token opens nothing.
    assert "Olive Other" in doctor.get(f"/r/{other_token}/").content.decode()
    near = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert doctor.get(f"/r/{near}/").status_code == 404
    assert doctor.get(f"/r/{token}x/").status_code == 404


def test_links_are_throttled_per_address_valid_or_not(owner: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        ReportLinkThrottle, "THROTTLE_RATES", {**ReportLinkThrottle.THROTTLE_RATES, "report_link": "3/min"}
    )
    diary(owner)
    token, _ = make_link(owner)
    doctor = Client()
    assert doctor.get("/r/guessing-a-token-here/").status_code == 404  # guesses count too
    assert doctor.get(f"/r/{token}/").status_code == 200
    assert doctor.get(f"/r/{token}/").status_code == 200
    r = doctor.get(f"/r/{token}/")
    assert r.status_code == 429 and int(r["Retry-After"]) >= 1 and r["X-Robots-Tag"].startswith("noindex")
    assert Client(REMOTE_ADDR="198.51.100.7").get(f"/r/{token}/").status_code == 200  # another address
    assert ReportLinkView.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_links_token_never_reaches_a_log_line() -> None:
    person = make_user("logged@example.com")
    diary(person)
    with captured() as lines:
        token, made = make_link(person)
        assert Client().get(f"/r/{token}/").status_code == 200
        client_for(person).delete(f"{LINKS}/{made['id']}")
        assert Client().get(f"/r/{token}/").status_code == 404  # Django warns "Not Found: <path>"
        assert Client().get(f"/r/{token}/report.pdf").status_code == 404
    assert lines and not [line for line in lines if token in line]
    assert any("/r/<token>" in line for line in lines)  # the 404 warnings were logged, redacted
