"""The words of a red flag (diary/alerts/texts.py), pure: every rule has them, and the notification and
emails carry the guidance and the evidence. The end-to-end tests in test_alerts.py show they are sent."""

from __future__ import annotations

from diary.alerts.catalogue import RULES
from diary.alerts.texts import TEXTS, clinician_email, contact_email, notification_body, still_urgent


def test_every_rule_has_its_words_and_nothing_else_does() -> None:
    assert tuple(TEXTS) == RULES


def test_notification_says_what_to_do_then_why() -> None:
    assert notification_body("Call now.", "pain 9 >= 8") == "Call now.\n\nWhy: pain 9 >= 8."
    assert notification_body("Call now.", "") == "Call now."  # an alert stored before evidence existed
    assert still_urgent("Difficulty breathing") == "Still urgent: Difficulty breathing"


def test_clinician_email_names_the_rule_the_severity_and_the_evidence() -> None:
    subject, message = clinician_email(
        person="", title="Severe pain", rule="severe_pain", severity="high", evidence="pain 9 >= 8",
        review_url="https://diary.example/clinician/",
    )  # fmt: skip
    assert subject == "[HIGH] Severe pain"
    assert message.startswith("A patient who shares their diary with you logged something")
    assert "(severe_pain, high)" in message and "Why: pain 9 >= 8\n" in message
    assert message.endswith("https://diary.example/clinician/\n")
    _, named = clinician_email(person="Ann", title="t", rule="r", severity="watch", evidence="e", review_url="u")
    assert named.startswith("Ann logged")


def test_contact_email_carries_the_persons_own_message_and_the_wait() -> None:
    body = notification_body("Call emergency services now.", "symptom breathing_difficulty reported")
    subject, message = contact_email(who="Ann", contact_name="Sam", minutes=15, body=body)
    assert subject == "Ann has an urgent health alert that is not acknowledged"
    assert message.startswith("Hello Sam,\n\nAnn named you")
    assert "15 minutes ago" in message and f"\n\n{body}\n\n" in message
    assert message.endswith("call emergency services.\n")
