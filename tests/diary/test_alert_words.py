"""Plain words (issue 14, item 4): every vocabulary code has words (``diary.core.words``), and every
surface a person or clinician reads about a red flag (the inbox notification, the REST ``message``,
the clinician page and PDF, the emails) names things in words, says when the episode happened in the
reader's zone, and lists each alert once."""

from __future__ import annotations

import datetime as dt
import importlib
import re
import subprocess
from html import unescape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core import mail
from django.utils import timezone

from diary import vocab
from diary.accounts.models import User
from diary.alerts import texts
from diary.alerts.catalogue import RULES, SEVERITIES, Thresholds
from diary.alerts.evaluation import EpisodeFacts, episode_findings
from diary.alerts.ladder import ladder_step
from diary.alerts.models import Alert
from diary.checkins.spec import CHECKIN
from diary.core import words
from diary.notifications.models import Notification
from diary.patterns.exposures import EXPOSURES
from diary.sharing.services import share_invite, share_redeem
from tests.conftest import client_for, episode_body, make_user, run_outbox
from tests.diary.test_clinician_web import past_second_factor

reword_old_alerts = importlib.import_module("diary.migrations.0009_alert_evidence_words").reword
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")

# Every coded vocabulary people can meet, by the name ``words.word`` knows it under.
ALL_CODES: dict[str, tuple[str, ...]] = {
    "kind": vocab.EPISODE_KINDS,
    "subtype": vocab.ALL_SUBTYPES,
    "body_location": vocab.BODY_LOCATIONS,
    "side": vocab.SIDES,
    "region": tuple(sorted(set(vocab.BODY_REGIONS.values()))),
    "activity": vocab.ACTIVITIES,
    "trigger": vocab.TRIGGERS,
    "symptom": vocab.SYMPTOMS,
    "relief": vocab.RELIEF,
    "exercise_intensity": vocab.EXERCISE_INTENSITIES,
    "medication": vocab.MEDICATIONS,
    # what a check-in records (its columns but the day, the notes and the stamps) and what patterns derive
    "exposure": tuple(f.name for f in CHECKIN.fields if f.name not in ("date", "notes", "created_at", "updated_at"))
    + tuple(x.code for x in EXPOSURES),
    "severity": tuple(sorted({s for levels in SEVERITIES.values() for s in levels})),
    "status": ("open", "acknowledged", "resolved"),
    "rule": RULES,
}
CODES = {c for codes in ALL_CODES.values() for c in codes if "_" in c}


@pytest.mark.parametrize("vocabulary", sorted(ALL_CODES))
def test_every_code_of_every_vocabulary_has_words(vocabulary: str) -> None:
    known = words.VOCABULARIES[vocabulary]
    for code in ALL_CODES[vocabulary]:
        assert code in known, f"{vocabulary} {code!r} has no words"
        label = known[code]
        assert label.strip() and "_" not in label and ":" not in label, f"{vocabulary} {code!r}: {label!r}"
        assert not SNAKE.search(label)
    assert set(known) <= set(ALL_CODES[vocabulary]), "words for codes no vocabulary has"


def test_the_phrases_people_read() -> None:
    assert words.word("symptom", "breathing_difficulty") == "difficulty breathing"
    assert words.where("lower_back") == "the lower back" and words.where("calf", "left") == "the left calf"
    assert words.episode_phrase("spasm", "chest") == "a spasm in the chest"
    assert words.word("trigger", "custom:late shifts") == '"late shifts"'
    assert words.word("severity", "watch") == "worth watching" and words.word("rule", "severe_pain") == "Severe pain"
    assert words.word("symptom", "from_a_newer_app") == "from a newer app"  # never a raw code
    assert texts.symptoms_reported("breathing_difficulty", ["breathing_difficulty"], "spasm", "chest") == (
        "difficulty breathing with a spasm in the chest"
    )
    assert texts.severe_pain(8, 8) == "pain 8 out of 10 (threshold 8)"
    assert texts.frequent_episodes(10, 10, 7, dt.date(2026, 12, 4)) == (
        "10 episodes in the 7 days from Sat 28 Nov to Fri 4 Dec (threshold 10)"
    )
    at = dt.datetime(2026, 12, 4, 19, 59, tzinfo=dt.UTC)
    assert words.local_time(at, "Europe/Berlin", reader_tz="Europe/Berlin") == "Fri 4 Dec 2026, 20:59"
    assert words.local_time(at, "Pacific/Auckland", reader_tz="Europe/Berlin") == "Sat 5 Dec 2026, 08:59 Auckland time"


# --------------------------------------------------------------------------------------------------
# The surfaces, end to end: a person in New York logs a chest spasm with difficulty breathing and two
# severe cramps (one while travelling in London); alerts are raised later than the episodes happened.

NY = "America/New_York"


def _clock(at: dt.datetime, tz: str) -> str:
    local = at.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M}"


def _no_codes(text: str) -> None:
    found = sorted({c for c in CODES if re.search(rf"\b{re.escape(c)}\b", text)})
    assert not found, f"codes in what people read: {found}\n{text}"


@pytest.fixture
def diary(db: None) -> tuple[User, dict[str, dt.datetime]]:
    person = make_user("words@example.com", timezone=NY, display_name="Pat")
    client_for(person).patch(
        "/api/v1/me", {"emergency_contact_name": "Sam", "emergency_contact_email": "sam@example.com"}, format="json"
    )
    now = timezone.now().replace(microsecond=0)
    when = {"breathing": now - dt.timedelta(hours=3), "pain": now - dt.timedelta(hours=26, minutes=17),
            "london": now - dt.timedelta(hours=50, minutes=41)}  # fmt: skip
    bodies = [
        episode_body(kind="spasm", subtype="skeletal", body_location="chest", side=None, pain=5, tz=NY,
                     symptoms=["breathing_difficulty"], started_at=when["breathing"].isoformat()),
        episode_body(pain=8, tz=NY, symptoms=[], started_at=when["pain"].isoformat()),
        episode_body(pain=8, tz="Europe/London", symptoms=[], started_at=when["london"].isoformat()),
    ]  # fmt: skip
    for body in bodies:
        assert client_for(person).post("/api/v1/episodes", body, format="json").status_code == 201
    with time_machine.travel(now + dt.timedelta(minutes=37), tick=False):  # raised well after the episodes
        run_outbox()
    return person, when


def test_the_person_reads_words_and_when_each_episode_happened(diary: tuple[User, dict[str, dt.datetime]]) -> None:
    person, when = diary
    notes = {n.title: n.body for n in Notification.objects.filter(user=person, kind="alert")}
    urgent = notes["Difficulty breathing"]
    assert f"Why: difficulty breathing with a spasm in the chest, on {_clock(when['breathing'], NY)}." in urgent
    assert "time" not in urgent.split("Why:")[1]  # the person's own zone is not named
    pains = [b for t, b in Notification.objects.filter(user=person, title="Severe pain").values_list("title", "body")]
    assert any(f"pain 8 out of 10 (threshold 8), on {_clock(when['pain'], NY)}." in b for b in pains)
    assert any(f"on {_clock(when['london'], 'Europe/London')} London time." in b for b in pains)
    for title, body in notes.items():
        _no_codes(f"{title}\n{body}")
        assert not SNAKE.search(body)

    rows = client_for(person).get("/api/v1/alerts").json()["results"]
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_rule.setdefault(r["rule"], []).append(r)
        _no_codes(f"{r['title']} {r['evidence']} {r['message']} {r['guidance']}")
    assert {r["severity"] for r in rows} == {"urgent", "high"}  # codes stay codes where machines read them
    (breathing,) = by_rule["breathing_difficulty"]
    assert breathing["message"] == (
        f"Difficulty breathing: difficulty breathing with a spasm in the chest, on {words.local_time(when['breathing'], NY, reader_tz=NY)}"
    )
    opened = dt.datetime.fromisoformat(breathing["opened_at"])
    assert _clock(opened, NY) not in breathing["message"]  # the episode's time, not the alert's

    # The emergency contact, after 15 minutes unacknowledged: words (and, by design, no diary details).
    with time_machine.travel(opened + dt.timedelta(minutes=16), tick=False):
        ladder_step()
        run_outbox()
        run_outbox()
    (email,) = [m for m in mail.outbox if "sam@example.com" in m.to]
    _no_codes(f"{email.subject}\n{email.body}")
    assert "urgent alert has been open since" in email.body


def test_the_clinician_reads_words_each_alert_once_at_its_episodes_time(
    diary: tuple[User, dict[str, dt.datetime]], clinician: User, tmp_path: Path
) -> None:
    person, when = diary
    share, code = share_invite(patient=person, data={"scopes": ["episodes", "alerts"]})
    share_redeem(clinician=clinician, code=code)
    client = past_second_factor(clinician)

    page = client.get(f"/clinician/patients/{share.uid}/").content.decode()
    section = page.split('data-testid="alerts">')[1].split("</ul>")[0]
    items = [unescape(re.sub(r"<[^>]+>", "", li)) for li in section.split("<li>")[1:]]
    assert len(items) == Alert.objects.filter(user=person).count() == 3
    assert len(set(items)) == 3
    (urgent,) = [i for i in items if i.startswith("Urgent: Difficulty breathing.")]
    assert (
        f"Difficulty breathing with a spasm in the chest. Episode on {words.local_time(when['breathing'], NY, reader_tz=clinician.current_timezone)};"
        in urgent
    )  # the clock where the episode happened, its zone named: the clinician lives in another one
    assert all("Episode on " in i for i in items)
    assert any(
        f"{_clock(when['pain'], NY)} New York time;" in i and "Pain 8 out of 10 (threshold 8)" in i for i in items
    )
    assert any(f"{_clock(when['london'], 'Europe/London')} London time;" in i for i in items)
    assert "a time in another zone than yours names it" in page
    flags = [
        unescape(re.sub(r"<[^>]+>", "", li)) for li in re.findall(r'(?s)<li data-testid="red-flag">(.*?)</li>', page)
    ]
    assert len(flags) == len(set(flags)) == 3  # every alert is open: each once in the summary, with its episode's time
    assert all("Episode on " in f for f in flags)
    visible = unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(svg|style|script)\b.*?</\1>", " ", page)))
    _no_codes(visible)
    assert "difficulty breathing" in visible and "left calf" in visible  # the episode table in words too

    r = client.get(f"/clinician/patients/{share.uid}/report.pdf")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(r.content)
    text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    _no_codes(flat)
    assert "Difficulty breathing with a spasm in the chest." in flat
    assert flat.count("Urgent: Difficulty breathing.") == 1 and flat.count("High: Severe pain.") == 2
    assert _clock(when["breathing"], NY) in flat

    rows = client_for(clinician).get(f"/api/v1/clinician/patients/{share.uid}/alerts").json()["results"]
    assert all("New York time" in r["message"] or "London time" in r["message"] for r in rows)
    for r in rows:
        _no_codes(r["message"])


def test_the_clinician_email_is_in_words(db: None, clinician: User) -> None:
    person = make_user("mailwords@example.com", timezone=NY)
    _, code = share_invite(patient=person, data={"scopes": ["alerts"]})
    share_redeem(clinician=clinician, code=code)
    started = timezone.now() - dt.timedelta(hours=2)
    body = episode_body(kind="spasm", subtype="skeletal", body_location="chest", side=None, pain=9, tz=NY,
                        symptoms=["breathing_difficulty"], started_at=started.isoformat())  # fmt: skip
    assert client_for(person).post("/api/v1/episodes", body, format="json").status_code == 201
    for _ in range(3):
        run_outbox()
    assert mail.outbox
    for m in mail.outbox:
        _no_codes(f"{m.subject}\n{m.body}")
    text = "\n".join(str(m.body) for m in mail.outbox)
    # no health detail in an email (item 3), but the episode's own time with its zone named
    assert f"about an episode on {texts.local_time(started, NY)}" in text


# --------------------------------------------------------------------------------------------------
# Alerts stored before the words: migration 0009 rewords them from their numbers.


def test_alerts_stored_with_codes_are_reworded_from_their_numbers(db: None) -> None:
    person = make_user("old-alerts@example.com", timezone=NY)
    old = {
        "breathing_difficulty": ("symptom breathing_difficulty reported with a spasm (chest)",
                                 {"symptoms": ["breathing_difficulty"], "kind": "spasm", "body_location": "chest"}),
        "severe_pain": ("pain 8 >= 8", {"pain": 8, "threshold": 8}),
        "long_episode": ("duration 2 h 05 min >= 2 h", {"duration_s": 7500, "threshold_min": 120, "ongoing": False}),
        "frequent": ("12 episodes in 7 days >= 10; episodes on 7 of the last 7 days >= 5",
                     {"episodes": 12, "count_threshold": 10, "days_with_episodes": 7, "days_threshold": 5, "window_days": 7}),
    }  # fmt: skip
    for i, (rule, (evidence, numbers)) in enumerate(old.items()):
        Alert.objects.create(
            user=person, uid=f"old-{i}", seq=1000 + i, rule=rule, severity="high", title=words.word("rule", rule),
            guidance="g", opened_at=timezone.now(), evidence=evidence, numbers=numbers,
            episode_uid=None if rule == "frequent" else f"ep-{i}",
        )  # fmt: skip
    Alert.objects.create(user=person, uid="kept", seq=2000, rule="severe_pain", severity="high", title="t",
                         guidance="g", opened_at=timezone.now(), evidence="pain 9 >= 8", numbers={})  # fmt: skip
    reword_old_alerts(django_apps, None)
    now = dict(Alert.objects.filter(user=person).values_list("rule", "evidence").exclude(uid="kept"))
    assert now == {
        "breathing_difficulty": "difficulty breathing with a spasm in the chest",
        "severe_pain": "pain 8 out of 10 (threshold 8)",
        "long_episode": "lasted 2 h 05 min (threshold 2 h)",
        "frequent": "12 episodes in the last 7 days (threshold 10); episodes on 7 of the last 7 days (threshold 5 days)",
    }
    assert Alert.objects.get(uid="kept").evidence == "pain 9 >= 8"  # no numbers to say it from: left as it was


def test_the_numbers_say_what_the_evaluation_said() -> None:
    """Per-episode findings: the evidence rebuilt from the numbers is the evaluation's, word for word."""
    now = dt.datetime(2026, 12, 4, 20, 0, tzinfo=dt.UTC)
    facts = EpisodeFacts(uid="e", kind="cramp", body_location="calf", started_at=now - dt.timedelta(hours=3),
                         tz=NY, duration_s=3 * 3600, pain=9, symptoms=frozenset({"numbness", "breathing_difficulty"}))  # fmt: skip
    found = episode_findings(facts, Thresholds(), now)
    assert {f.rule for f in found} == {"breathing_difficulty", "sensory_change", "severe_pain", "long_episode"}
    for f in found:
        assert texts.evidence_from_numbers(f.rule, f.numbers) == f.evidence
