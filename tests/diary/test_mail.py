"""Real email (diary/notifications/email.py) against a real SMTP server on loopback (aiosmtpd): the
clinician alert, the emergency-contact alert and the password reset each arrive once, with the right
recipient, subject and plain-text part and no diary details where none belong; an SMTP outage delays
mail (retried with back-off), never loses or doubles it, and never slows or fails a write."""

from __future__ import annotations

import datetime as dt
import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.db import transaction
from django.db.models import Q
from django.test import override_settings
from django.utils import timezone

from backend.celery import app as celery_app
from diary.accounts.models import User
from diary.alerts import handlers
from diary.alerts.ladder import ladder_step
from diary.alerts.models import Alert
from diary.notifications.email import MailDeferred, email_send
from diary.notifications.models import SentMail
from diary.outbox.models import OutboxEvent
from diary.outbox.services import outbox_process, outbox_requeue
from diary.sharing.models import Share
from diary.sharing.services import share_invite, share_redeem
from tests.conftest import client_for, episode_body, make_user
from tests.diary.test_outbox import _reset_producer_pool
from tests.support.smtp import SmtpServer

SMTP = {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1"}
BREATHING = {"symptoms": ["breathing_difficulty"], "body_location": "chest", "pain": 5}
# What the diary holds and an email to an emergency contact must never carry.
DIARY_WORDS = re.compile(r"breath|chest|neck|pain|spasm|cramp|twitch|symptom(?! diary)|numb|weak|\b\d+ ?/ ?10\b", re.I)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server, override_settings(**server.settings()):
        yield server


def log(user: User, **overrides: Any) -> dict[str, Any]:
    r = client_for(user).post("/api/v1/episodes", episode_body(**{"symptoms": [], **overrides}), format="json")
    assert r.status_code == 201, r.json()
    return r.json()


def drain(rounds: int = 4) -> None:
    """What the worker and the sweeper would do, rounds over: run every new row (its wake-up) and
    every failed row whose back-off has passed, until what handlers enqueue (the per-clinician
    fan-out) has run too."""
    for _ in range(rounds):
        due = OutboxEvent.objects.filter(processed_at__isnull=True).filter(
            Q(attempts=0) | Q(available_at__lte=timezone.now())
        )
        if not sum(outbox_process(event_id=pk) for pk in list(due.order_by("pk").values_list("pk", flat=True))):
            return


def share(patient: User, clinician: User, scopes: list[str]) -> Share:
    share, code = share_invite(patient=patient, data={"scopes": scopes})
    share_redeem(clinician=clinician, code=code)
    share.refresh_from_db()
    return share


def contact(user: User) -> None:
    r = client_for(user).patch(
        "/api/v1/me", {"emergency_contact_name": "Sam", "emergency_contact_email": "sam@example.com"}, format="json"
    )
    assert r.status_code == 200


def escalate() -> None:
    """The person does not answer: 16 minutes later the ladder emails their contact."""
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16), tick=False):
        ladder_step()
    drain()


def pending_mail() -> list[OutboxEvent]:
    topics = ("alert.clinicians", "alert.contact", "account.password_reset")
    return list(OutboxEvent.objects.filter(topic__in=topics, processed_at__isnull=True).order_by("pk"))


@pytest.mark.django_db
class TestWhatArrives:
    def test_the_clinician_email_says_whose_alert_when_and_where_and_no_health_detail(
        self, smtp: SmtpServer, owner: User, clinician: User
    ) -> None:
        owner.display_name, owner.timezone = "Ann Example", "Europe/Paris"
        owner.save()
        page = share(owner, clinician, ["alerts", "episodes"])
        started = dt.datetime(2026, 12, 4, 21, 5, tzinfo=dt.UTC)
        with time_machine.travel(started + dt.timedelta(minutes=30), tick=False):
            log(owner, pain=9, started_at=started.isoformat(), tz="Europe/Paris")
            drain()
        (received,) = smtp.messages
        assert received.recipients == [clinician.email]
        assert received.subject == "High alert for a patient who shares their diary with you"
        text = received.text()
        assert text.startswith("Ann Example has a new high alert in their symptom diary.")
        assert "episode on Friday 4 December 2026 at 22:05 (Europe/Paris time)" in text
        assert f"http://127.0.0.1:8000/clinician/patients/{page.uid}/" in text
        assert not DIARY_WORDS.search(text) and "severe" not in text.lower()  # the page says what, after sign-in

    def test_a_share_of_alerts_alone_links_to_the_triage_list_and_one_without_alerts_gets_nothing(
        self, smtp: SmtpServer, owner: User, clinician: User
    ) -> None:
        share(owner, clinician, ["alerts"])
        other_doc = make_user("nodoc@example.com")
        other_doc.is_clinician = True
        other_doc.save()
        share(owner, other_doc, ["episodes"])
        log(owner, pain=9)
        log(owner, duration_s=40 * 60)  # watch only: no clinician email
        drain()
        (received,) = smtp.messages
        assert received.recipients == [clinician.email]
        assert received.text().rstrip().endswith("http://127.0.0.1:8000/clinician/")

    def test_the_emergency_contact_email_says_who_when_and_what_to_do_and_nothing_from_the_diary(
        self, smtp: SmtpServer, owner: User
    ) -> None:
        owner.display_name, owner.device_timezone = "Ann", "Pacific/Auckland"
        owner.save()
        contact(owner)
        opened = dt.datetime(2026, 12, 4, 22, 40, tzinfo=dt.UTC)
        with time_machine.travel(opened, tick=False):
            log(owner, **BREATHING, started_at=(opened - dt.timedelta(minutes=2)).isoformat())
            drain()
            assert smtp.messages == []  # the contact hears only if the person does not answer
            escalate()
        (received,) = smtp.to("sam@example.com")
        assert received.subject == "Urgent: please try to reach Ann"
        text = received.text()
        assert text.startswith("Hello Sam,\n\nAnn named you as their emergency contact")
        assert "urgent alert has been open since Saturday 5 December 2026 at 11:40 (Pacific/Auckland time)" in text
        assert "try to reach them now" in text and "call emergency services" in text
        assert not DIARY_WORDS.search(text + received.subject), text

    def test_no_contact_email_when_the_person_answered_while_smtp_was_down(self, smtp: SmtpServer, owner: User) -> None:
        contact(owner)
        log(owner, **BREATHING)
        drain()
        smtp.stop()
        escalate()
        (row,) = pending_mail()
        assert row.attempts == 1 and "MailDeferred" in row.last_error
        alert = Alert.objects.get(user=owner)
        assert client_for(owner).post(f"/api/v1/alerts/{alert.uid}/acknowledge").status_code == 200
        smtp.start()
        OutboxEvent.objects.filter(pk=row.pk).update(available_at=timezone.now())
        drain()
        assert smtp.messages == [] and pending_mail() == []

    def test_password_reset_carries_a_working_link_and_its_expiry(self, smtp: SmtpServer, owner: User) -> None:
        anon = client_for(None)
        assert anon.post("/api/v1/auth/password/reset", {"email": owner.email}, format="json").status_code == 202
        drain()
        (received,) = smtp.messages
        assert received.recipients == [owner.email] and received.subject == "Reset your spasm diary password"
        text = received.text()
        assert "within 3 days" in text and "If it was not you, ignore this email" in text
        uid, token = re.search(r"/reset-password\?uid=(\S+)&token=(\S+)\n", text).groups()  # type: ignore[union-attr]
        r = anon.post(
            "/api/v1/auth/password/reset/confirm",
            {"uid": uid, "token": token, "new_password": "fresh phrase 2027"},
            format="json",
        )
        assert r.status_code == 204


@pytest.mark.django_db
class TestOutage:
    def test_smtp_down_then_up_each_email_is_retried_with_back_off_and_arrives_exactly_once(
        self, smtp: SmtpServer, owner: User, clinician: User
    ) -> None:
        second = make_user("doc2@example.com")
        second.is_clinician = True
        second.save()
        share(owner, clinician, ["alerts"])
        share(owner, second, ["alerts"])
        contact(owner)
        smtp.stop()
        log(owner, **BREATHING)
        drain()
        escalate()
        assert (
            client_for(None).post("/api/v1/auth/password/reset", {"email": owner.email}, format="json").status_code
            == 202
        )
        drain()
        rows = pending_mail()
        assert len(rows) == 4  # one per clinician, the contact, the reset: each retries on its own
        now = timezone.now()
        for row in rows:
            assert row.attempts == 1 and row.last_error.startswith("MailDeferred")
            assert now + dt.timedelta(seconds=20) < row.available_at <= now + dt.timedelta(seconds=31)  # back-off
        drain()  # not due yet: nothing is tried again before the back-off
        assert {r.attempts for r in pending_mail()} == {1}
        with time_machine.travel(now + dt.timedelta(seconds=40), tick=False):
            drain()  # still down: the second failure waits twice as long
            assert {(r.attempts, r.available_at - timezone.now()) for r in pending_mail()} == {
                (2, dt.timedelta(seconds=60))
            }
        smtp.start()
        with time_machine.travel(now + dt.timedelta(minutes=5), tick=False):
            drain()
            drain()  # a second sweep, and redeliveries of every processed row, send nothing more
        assert pending_mail() == []
        assert sorted(r for m in smtp.messages for r in m.recipients) == sorted(
            [clinician.email, second.email, "sam@example.com", owner.email]
        )
        # A redelivery of a handler that already sent (the crash-before-commit retry of another
        # worker, or a duplicate intent) finds its key and sends nothing.
        alert = Alert.objects.get(user=owner)
        with transaction.atomic():
            handlers.email_contact(owner.pk, {"alert": alert.uid})
            handlers.email_clinicians(owner.pk, {"alert": alert.uid, "clinician": clinician.pk})
        assert len(smtp.messages) == 4
        assert SentMail.objects.filter(user=owner, status=SentMail.SENT).count() == 4

    def test_a_refused_recipient_is_logged_and_not_retried_for_ever(self, smtp: SmtpServer, owner: User) -> None:
        contact(owner)
        smtp.refuse.add("sam@example.com")
        log(owner, **BREATHING)
        drain()
        escalate()
        assert pending_mail() == [] and smtp.messages == []
        (record,) = SentMail.objects.filter(user=owner)
        assert record.status == SentMail.REFUSED and record.key.startswith("alert.contact:")
        assert "sam@example.com" not in record.key

    def test_a_temporary_refusal_is_retried_and_names_no_address(self, smtp: SmtpServer, owner: User) -> None:
        contact(owner)
        smtp.refuse.add("sam@example.com")
        smtp.refuse_code = "450 4.2.1 mailbox busy"
        log(owner, **BREATHING)
        drain()
        escalate()
        (row,) = pending_mail()
        assert row.last_error == "MailDeferred: recipient refused for now (450)" and row.attempts == 1
        smtp.refuse.clear()
        OutboxEvent.objects.filter(pk=row.pk).update(available_at=timezone.now())
        drain()
        assert [m.recipients for m in smtp.messages] == [["sam@example.com"]] and pending_mail() == []

    def test_a_hung_server_times_out_and_defers_instead_of_holding_the_worker(self, owner: User) -> None:
        with hung_server() as port, override_settings(**SMTP, EMAIL_PORT=port, EMAIL_TIMEOUT=1):
            started = time.monotonic()
            with pytest.raises(MailDeferred), transaction.atomic():
                email_send(key="t", user_id=owner.pk, to="x@example.com", subject="s", text="t")
            assert time.monotonic() - started < 5
        assert not SentMail.objects.exists()  # rolled back: the retry will send


@pytest.mark.django_db(transaction=True)
def test_email_send_refuses_to_run_outside_a_transaction() -> None:
    with pytest.raises(RuntimeError):
        email_send(key="t", user_id=make_user().pk, to="x@example.com", subject="s", text="t")


class hung_server:
    """A port that accepts TCP connections and never says a word (a hung SMTP server)."""

    def __enter__(self) -> int:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        return int(self.sock.getsockname()[1])

    def __exit__(self, *_: object) -> None:
        self.sock.close()


@pytest.mark.django_db(transaction=True)
def test_writes_answer_at_once_while_smtp_hangs(owner: User, clinician: User) -> None:
    """No request talks to SMTP: with the server hung, an urgent episode and a reset request still
    answer at once, and the mail waits in the outbox."""
    share(owner, clinician, ["alerts"])
    contact(owner)
    with hung_server() as port, override_settings(**SMTP, EMAIL_PORT=port, EMAIL_TIMEOUT=30):
        started = time.monotonic()
        r = client_for(owner).post("/api/v1/episodes", episode_body(**BREATHING), format="json")
        assert r.status_code == 201
        anon = client_for(None)
        assert anon.post("/api/v1/auth/password/reset", {"email": owner.email}, format="json").status_code == 202
        assert (
            anon.post("/api/v1/auth/password/reset", {"email": "nobody@example.com"}, format="json").status_code == 202
        )
        assert time.monotonic() - started < 5  # a request that waited on SMTP would take 30 s
    assert OutboxEvent.objects.filter(topic="account.password_reset", processed_at__isnull=True).count() == 1


def wait_for(condition: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_emails_the_clinician_after_the_write_commits_and_after_an_outage_exactly_once() -> None:
    """End to end: REST write, commit, Redis, a real Celery worker, the fan-out row, a real SMTP
    server. Down at first: the worker's send fails and the row waits out its back-off; once the
    server is back, the beat's sweep re-sends the row and the mail arrives once."""
    patient, doc = make_user("worker-mail@example.com"), make_user("worker-doc@example.com")
    doc.is_clinician = True
    doc.save()
    share(patient, doc, ["alerts"])
    _reset_producer_pool(celery_app.conf.broker_url)
    smtp = SmtpServer()  # not started: the server is down
    with override_settings(**smtp.settings()):
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            log(patient, pain=9)
            failed = OutboxEvent.objects.filter(topic="alert.clinicians", payload__has_key="clinician", attempts__gte=1)
            wait_for(failed.exists)
            (row,) = failed
            assert row.processed_at is None and row.last_error.startswith("MailDeferred")
            assert row.available_at > timezone.now() + dt.timedelta(seconds=20)  # back-off, not a hot loop
            with smtp:
                OutboxEvent.objects.filter(pk=row.pk).update(available_at=timezone.now())  # the back-off passes
                assert outbox_requeue() >= 1  # the beat's sweep
                wait_for(lambda: smtp.messages)
                time.sleep(0.5)  # room for a duplicate to show up, were there one
                assert outbox_requeue() == 0  # nothing left to send
        assert [m.recipients for m in smtp.messages] == [[doc.email]]
        assert smtp.messages[0].subject == "High alert for a patient who shares their diary with you"
    row.refresh_from_db()
    assert row.processed_at is not None and row.attempts == 2
