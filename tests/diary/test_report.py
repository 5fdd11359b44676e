"""The report (issue 17 item 2): the clinician's page and PDF and the person's own report lead with a
summary computed right from a diary with known episodes, in words, with each red flag's episode time
once, charts whose axes start at the first entry, 1-2 A4 pages for 90 days, only what the share allows,
and nobody else's data."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
import subprocess
import zoneinfo
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from diary import vocab
from diary.accounts.models import User
from diary.alerts.models import Alert
from diary.core import words
from diary.episodes.models import Episode
from diary.reports import charts
from diary.reports import report as report_module
from diary.reports import summary as s
from diary.reports.pdf import report_pdf
from diary.reports.report import person_spec, report_context
from diary.reports.rows import Row
from diary.sharing.models import Share
from diary.sharing.services import share_invite, share_redeem
from tests.conftest import client_for, episode_body, make_user, run_outbox
from tests.diary.test_clinician_web import past_second_factor

pytestmark = pytest.mark.django_db

BERLIN = "Europe/Berlin"
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # a vocabulary code such as lower_back


def local_noon(days_ago: int, tz: str = BERLIN) -> dt.datetime:
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(tz)).date()
    day = today - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(12), tzinfo=zoneinfo.ZoneInfo(tz))


def visible(html: str) -> str:
    """The text a reader sees: no tags, no SVG markup (its text stays), no styles."""
    html = re.sub(r"(?s)<(style|script)\b.*?</\1>", " ", html)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout


def pdf_pages(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "pages.pdf"
    path.write_bytes(pdf)
    for old in tmp_path.glob("page*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(path), str(tmp_path / "page")], check=True)
    return len(list(tmp_path.glob("page*.png")))


def by_testid(html: str, name: str) -> str:
    m = re.search(rf'data-testid="{name}">(.*?)<', html)
    assert m, name
    return unescape(m.group(1)).strip()


@pytest.fixture
def known(owner: User) -> dict[int, Any]:
    """A diary with known numbers (Berlin time, local noon): in the last 28 complete days 8 episodes,
    in the 28 days before 4 (the first of them 56 days before yesterday); pains 1..10 and 4 and 6
    (median 5.5, worst 10); the longest 2 hours 5 minutes; a pain-9 episode yesterday raises a red flag."""
    owner.display_name = "Pat Known"
    owner.save()
    api = client_for(owner)
    recent = [1, 3, 5, 8, 12, 15, 20, 27]  # days ago: within the 28 days ending yesterday
    before = [29, 35, 44, 56]
    pains = iter([9, 2, 3, 4, 5, 6, 7, 8, 1, 10, 4, 6])
    made = {}
    for days_ago in recent + before:
        pain = next(pains)
        body = episode_body(
            started_at=local_noon(days_ago).isoformat(), pain=pain, body_location="lower_back", side=None,
            symptoms=["breathing_difficulty"] if days_ago == 1 else ["lingering_pain"], triggers=["poor_sleep"],
            duration_s=7500 if days_ago == 15 else 600, notes=f"private note {days_ago}",
        )  # fmt: skip
        r = api.post("/api/v1/episodes", body, format="json")
        assert r.status_code == 201, r.content
        made[days_ago] = r.json()
    run_outbox()  # the red flags of yesterday's episode (pain 9, difficulty breathing)
    # Someone else's diary, with places and words of its own: never in this report.
    other = make_user("other@example.com")
    client_for(other).post("/api/v1/episodes", episode_body(body_location="toes", notes="other person's words",
                                                            started_at=local_noon(2).isoformat()), format="json")  # fmt: skip
    return made


def clinician_page(owner: User, clinician: User, scopes: list[str]) -> tuple[Client, Share]:
    share, code = share_invite(patient=owner, data={"scopes": scopes})
    share_redeem(clinician=clinician, code=code)
    return past_second_factor(clinician), share


def test_the_summary_numbers_are_computed_right(owner: User, clinician: User, known: dict[int, Any]) -> None:
    client, share = clinician_page(owner, clinician, ["episodes", "alerts"])
    page = client.get(f"/clinician/patients/{share.uid}/").content.decode()
    assert by_testid(page, "rate-now") == "2.0 a week"  # 8 in 28 days
    assert by_testid(page, "rate-before") == "1.0 a week"  # 4 in the 28 before
    assert by_testid(page, "trend").startswith("more often than before (not tested")  # insights not shared
    assert by_testid(page, "pain-median") == "5.5" and by_testid(page, "pain-worst") == "10"
    assert by_testid(page, "longest") == "2 hours 5 minutes"
    worst = words.local_time(local_noon(35), BERLIN, reader_tz=clinician.current_timezone)
    assert f"a cramp in the lower back, {worst}" in visible(page)  # the worst episode (pain 10), 35 days ago
    assert by_testid(page, "episode-count") == "12"

    # The same numbers in the person's own report (the same context and template).
    own = report_context(person_spec(owner, start=None, end=None, notes=False))
    assert own["summary"]["frequency"]["now"] == "2.0 a week" and own["summary"]["pain"]["median"] == "5.5"
    assert own["title"] == "Report for your doctor" and own["summary"]["longest"]["length"] == "2 hours 5 minutes"


def test_pure_summary_rates_count_only_observed_days() -> None:
    first = dt.date(2026, 11, 20)
    rows = [row(first + dt.timedelta(days=d)) for d in (0, 3, 6, 9)]
    now, before = s.rates(rows, last_day=dt.date(2026, 11, 30), observed_from=first)
    assert (now.n, now.days) == (4, 11) and now.per_week == pytest.approx(4 / 11 * 7)
    assert (before.n, before.days) == (0, 0) and before.per_week is None  # nothing observed before


def row(day: dt.date, pain: int = 5) -> Any:
    at = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    return Row("u", at, at, "UTC", "cramp", "calf", None, 60, pain)


def test_words_not_codes_on_the_page_and_in_the_pdf(
    owner: User, clinician: User, known: dict[int, Any], tmp_path: Path
) -> None:
    client, share = clinician_page(owner, clinician, ["episodes", "alerts", "insights", "notes", "checkins"])
    page = visible(client.get(f"/clinician/patients/{share.uid}/").content.decode())
    assert "lower back" in page and "difficulty breathing" in page and "poor sleep" in page
    assert not CODE.findall(page), CODE.findall(page)
    text = pdf_text(client.get(f"/clinician/patients/{share.uid}/report.pdf").content, tmp_path)
    assert "lower back" in text and "This is not a diagnosis" in text
    assert not CODE.findall(text), CODE.findall(text)


def test_red_flags_show_their_episodes_local_time_once(owner: User, clinician: User, known: dict[int, Any]) -> None:
    client, share = clinician_page(owner, clinician, ["episodes", "alerts"])
    page = client.get(f"/clinician/patients/{share.uid}/").content.decode()
    flags = [visible(f) for f in re.findall(r'(?s)<li data-testid="red-flag">(.*?)</li>', page)]
    assert len(flags) == len(set(flags)) == 3  # each once
    # Severe pain and difficulty breathing are about yesterday's episode; lingering pain over 7 days has
    # no single episode, so it says when it was raised.
    assert sum("Raised on" in f for f in flags) == 1
    flags = [f for f in flags if "Raised on" not in f]
    episode_time = words.local_time(local_noon(1), BERLIN, reader_tz=clinician.current_timezone)
    assert all(f"Episode on {episode_time}" in f for f in flags), flags
    opened = Alert.objects.filter(user=owner).first()
    assert opened is not None
    raised = words.local_time(opened.opened_at, clinician.current_timezone)
    assert not any(raised in f for f in flags)  # not when the alert was raised


def test_charts_start_at_the_first_entry(owner: User, clinician: User, known: dict[int, Any]) -> None:
    ctx = report_context(person_spec(owner, start=None, end=None, notes=False))
    first = local_noon(56).date()
    monday = first - dt.timedelta(days=first.weekday())
    per_week = str(ctx["charts"]["per_week"])
    label = re.search(r'aria-label="Episodes per week: ([^"]*)"', per_week)
    assert label and label.group(1).startswith(f"{monday.day} {monday:%b} ")  # not 26 weeks back
    assert ctx["charts"]["unit"] == "week"
    assert_labels_fit(per_week)


def assert_labels_fit(svg: str) -> None:
    """Every x label inside the figure (none starts left of 0 or ends past its width), none overlapping."""
    spans = []
    for x, text in re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="middle">([^<]*)<', svg):
        half = len(text) * charts.CHAR / 2
        assert float(x) - half >= 0 and float(x) + half <= charts.WIDTH
        spans.append((float(x) - half, float(x) + half))
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans


def test_month_labels_of_five_years_fit() -> None:
    unit, starts = s.bins(dt.date(2021, 12, 6), dt.date(2026, 12, 4))
    labels = [s.bin_label(d, unit) for d in starts]
    svg = charts.episodes_over_time(labels, {"cramp": [3] * len(labels)}, names={"cramp": "cramps"}, unit=unit)
    assert_labels_fit(svg)
    assert "Dec 2021" in svg


def test_bins_are_weeks_up_to_a_year_then_months() -> None:
    unit, starts = s.bins(dt.date(2026, 9, 9), dt.date(2026, 12, 4))
    assert unit == "week" and starts[0] == dt.date(2026, 9, 7) and starts[-1] == dt.date(2026, 11, 30)
    unit, starts = s.bins(dt.date(2021, 12, 6), dt.date(2026, 12, 4))
    assert unit == "month" and starts[0] == dt.date(2021, 12, 1) and len(starts) == 61


def test_chart_labels_are_escaped() -> None:
    svg = charts.counts_bars([('"<script>alert(1)</script>"', 2)], title="triggers")
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_no_insights_or_notes_when_the_share_excludes_them(
    owner: User, clinician: User, known: dict[int, Any], tmp_path: Path
) -> None:
    client, share = clinician_page(owner, clinician, ["episodes", "alerts"])
    page = client.get(f"/clinician/patients/{share.uid}/").content.decode()
    text = pdf_text(client.get(f"/clinician/patients/{share.uid}/report.pdf").content, tmp_path)
    for shown in (visible(page), text):
        assert "private note" not in shown
        assert "Triggers the diary supports" not in shown and "What helped" not in shown
    assert 'data-testid="summary-triggers"' not in page

    wider, code = share_invite(patient=owner, data={"scopes": ["episodes", "alerts", "insights", "notes"]})
    share_redeem(clinician=clinician, code=code)
    page = client.get(f"/clinician/patients/{share.uid}/").content.decode()
    page = client.get(f"/clinician/patients/{wider.uid}/").content.decode()
    assert "private note 1" in page and 'data-testid="summary-triggers"' in page and "What helped" in page


def test_nobody_elses_data(owner: User, clinician: User, known: dict[int, Any], tmp_path: Path) -> None:
    client, share = clinician_page(owner, clinician, ["episodes", "alerts", "insights", "notes", "checkins"])
    page = visible(client.get(f"/clinician/patients/{share.uid}/").content.decode())
    text = pdf_text(client.get(f"/clinician/patients/{share.uid}/report.pdf").content, tmp_path)
    own = pdf_text(report_pdf(report_context(person_spec(owner, start=None, end=None, notes=True))), tmp_path)
    for shown in (page, text, own):
        assert "toes" not in shown and "other person's words" not in shown
    assert "private note 1" in own  # the person's own notes, asked for


NOTE = "a fairly long note about what happened before the cramp started, and after"


def ninety_days_of_episodes(owner: User, rnd: random.Random, prefix: str, *, tags: int, notes: str | None) -> None:
    """270 episodes over the last 90 days, every field filled from ``rnd`` (``tags`` symptoms and
    triggers each: more tags make rows that wrap)."""
    now = timezone.now()
    Episode.objects.bulk_create(
        Episode(
            user=owner, uid=f"{prefix}{i}", seq=2 + i, kind=rnd.choice(vocab.EPISODE_KINDS),
            body_location=rnd.choice(vocab.BODY_LOCATIONS), side=rnd.choice(["left", "right", None]),
            started_at=now - dt.timedelta(minutes=rnd.randrange(90 * 24 * 60)), tz=BERLIN,
            duration_s=rnd.randrange(5, 3600), pain=rnd.randrange(11), symptoms=rnd.sample(vocab.SYMPTOMS, tags),
            triggers=rnd.sample(vocab.TRIGGERS, tags), relief=rnd.sample(vocab.RELIEF, 1),
            relief_score=rnd.randrange(11), notes=notes, created_at=now, updated_at=now,
        )
        for i in range(270)
    )  # fmt: skip


def test_ninety_days_fit_on_one_or_two_a4_pages(owner: User, clinician: User, tmp_path: Path) -> None:
    """About three episodes a day for 90 days, every field filled, notes shared: still 1-2 pages."""
    ninety_days_of_episodes(owner, random.Random(17), "e", tags=2, notes=NOTE)
    client, share = clinician_page(owner, clinician, ["episodes", "checkins", "insights", "alerts", "notes"])
    pdf = client.get(f"/clinician/patients/{share.uid}/report.pdf").content
    assert 1 <= pdf_pages(pdf, tmp_path) <= 2
    own = report_pdf(report_context(person_spec(owner, start=None, end=None, notes=True)))
    assert 1 <= pdf_pages(own, tmp_path) <= 2


def test_a_suspicion_too_thin_to_test_says_how_many_episodes_carry_it_in_words() -> None:
    suspected = [
        {"label": "dehydration", "status": "not enough data", "tagged_episodes": 9, "sentence": ""},
        {"label": "heat", "status": "not enough data", "tagged_episodes": 1, "sentence": ""},
    ]
    summary = report_module._insights_summary({"suspected": suspected})
    assert summary["untested"] == "dehydration (tagged on 9 episodes) and heat (tagged on 1 episode)"


def test_the_pdf_keeps_to_two_pages_when_rows_wrap(owner: User, clinician: User, tmp_path: Path) -> None:
    """No notes (the most rows listed) and rows that wrap onto three lines: the oldest listed rows give
    way, and the heading says how many of how many are listed."""
    ninety_days_of_episodes(owner, random.Random(5), "w", tags=4, notes=None)
    own = report_pdf(report_context(person_spec(owner, start=None, end=None, notes=False)))
    assert 1 <= pdf_pages(own, tmp_path) <= 2
    listed = re.search(r"Most recent episodes \((\d+) of 270\)", pdf_text(own, tmp_path))
    assert listed is not None and 0 < int(listed.group(1)) < 25
