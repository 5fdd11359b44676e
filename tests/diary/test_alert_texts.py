"""The words of a red flag (diary/alerts/texts.py), pure: every rule has them, and the notification and
emails carry the guidance and the evidence. The end-to-end tests in test_alerts.py show they are sent."""

from __future__ import annotations

import datetime as dt

from diary.alerts.catalogue import RULES
from diary.alerts.texts import GUIDANCE, clinician_email, contact_email, local_time, notification_body, still_urgent


def test_every_rule_has_its_words_and_nothing_else_does() -> None:
    assert tuple(GUIDANCE) == RULES


def test_notification_says_what_to_do_then_why() -> None:
    assert notification_body("Call now.", "pain 9 out of 10") == "Call now.\n\nWhy: pain 9 out of 10."
    assert notification_body("Call now.", "pain 9 out of 10", "Fri 4 Dec 2026, 20:59") == (
        "Call now.\n\nWhy: pain 9 out of 10, on Fri 4 Dec 2026, 20:59."
    )
    assert notification_body("Call now.", "") == "Call now."  # an alert stored before evidence existed
    assert still_urgent("Difficulty breathing") == "Still urgent: Difficulty breathing"


def test_a_moment_is_said_as_the_person_lived_it() -> None:
    at = dt.datetime(2026, 12, 4, 22, 40, tzinfo=dt.UTC)
    assert local_time(at, "Europe/Paris") == "Friday 4 December 2026 at 23:40 (Europe/Paris time)"
    assert local_time(at, "Pacific/Auckland") == "Saturday 5 December 2026 at 11:40 (Pacific/Auckland time)"


def test_clinician_email_says_whose_how_urgent_when_and_where_and_no_health_detail() -> None:
    subject, message = clinician_email(
        person="", severity="high", happened="Friday 4 December 2026 at 23:40 (Europe/Paris time)",
        review_url="https://diary.example/clinician/patients/abc/",
    )  # fmt: skip
    assert subject == "High alert for a patient who shares their diary with you"  # no name on a lock screen
    assert message.startswith("A patient who shares their diary with you has a new high alert")
    assert "episode on Friday 4 December 2026 at 23:40 (Europe/Paris time)" in message
    assert message.endswith("https://diary.example/clinician/patients/abc/\n")
    _, named = clinician_email(person="Ann", severity="urgent", happened="then", review_url="u")
    assert named.startswith("Ann has a new urgent alert")


def test_contact_email_says_who_that_an_urgent_alert_is_open_since_when_and_what_to_do() -> None:
    subject, message = contact_email(who="Ann", contact_name="Sam", raised="Friday 4 December 2026 at 23:40 (UTC time)")
    assert subject == "Urgent: please try to reach Ann"
    assert message.startswith("Hello Sam,\n\nAnn named you as their emergency contact")
    assert "urgent alert has been open since Friday 4 December 2026 at 23:40 (UTC time)" in message
    assert "try to reach them now" in message and message.endswith("call emergency services.\n")
    _, anonymous = contact_email(who="ann@example.com", contact_name="", raised="then")
    assert anonymous.startswith("Hello,\n\nann@example.com named you")
