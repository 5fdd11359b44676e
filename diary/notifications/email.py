"""Email delivery: one message to one address, sent once, from an outbox handler.

Every email (alert to a clinician, to an emergency contact, password reset) is an outbox intent: the
write commits the intent, a worker runs the handler after commit, and the handler calls
``email_send``. So an SMTP outage delays mail but never fails or slows a write, and never loses it:
a connection failure, a timeout (``EMAIL_TIMEOUT``) or a temporary refusal (4xx) raises
``MailDeferred`` and the outbox retries the row with back-off (diary/core/backoff.py).

Exactly once, and its one gap. ``email_send`` must run inside the outbox row's transaction. It
first writes a ``SentMail`` row under a unique key (what the mail is about, and a hash of the address, so neither logs nor the key hold the address),
then talks
to the server; the row commits together with the outbox row being marked processed:

- a redelivery, a sweep or a second intent for the same thing finds the key and sends nothing (a
  concurrent one waits on the key's unique index until the first commits, then sends nothing);
- a failed send raises, the transaction rolls back, the key goes with it, and the retry sends.

The gap is a crash (or a lost database connection) after the server said "250 queued" and before
the commit: that mail is sent again on the retry. We accept that on purpose: the alternative (commit
the key before sending) turns the same crash into a lost urgent email, and for a red flag a
duplicate is the lesser harm. The duplicate carries the same Message-ID, derived from the key, so
mail clients that collapse duplicates show it once.

A permanent refusal of the recipient (5xx to RCPT TO: no such mailbox) is not retried: it is logged
and recorded as ``refused`` and the handler succeeds, so a wrong address cannot keep a row failing
for ever.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import uuid
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction

from diary.accounts.models import User
from diary.accounts.password_reset import password_reset_message
from diary.notifications.models import SentMail

log = logging.getLogger(__name__)


class MailDeferred(Exception):
    """The mail could not be handed to the SMTP server now; the outbox retries it with back-off."""


def _message_id(key: str) -> str:
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def _permanent(exc: smtplib.SMTPRecipientsRefused) -> bool:
    """Every recipient refused with a 5xx code (a 4xx, such as greylisting, is worth a retry)."""
    return bool(exc.recipients) and all(code >= 500 for code, _ in exc.recipients.values())


def _codes(exc: smtplib.SMTPRecipientsRefused) -> str:
    """The server's reply codes, without the addresses they answer (logs hold no email address)."""
    return ", ".join(str(code) for code, _ in exc.recipients.values())


def email_send(*, key: str, user_id: int, to: str, subject: str, text: str, html: str | None = None) -> bool:
    """Send one email to ``to`` unless one with ``key`` (what it is about, e.g. ``alert.contact:<uid>``)
    was already sent to that address. Returns whether it sent now.

    ``text`` is the plain-text part every client shows; ``html`` an optional alternative. Raises
    ``MailDeferred`` when the server cannot take it now (the caller's transaction must roll back).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("email_send runs in the outbox row's transaction (see this module's docstring)")
    key = f"{key}:{hashlib.sha256(to.strip().lower().encode()).hexdigest()[:16]}"
    message_id = _message_id(key)
    record, created = SentMail.objects.get_or_create(key=key, defaults={"user_id": user_id, "message_id": message_id})
    if not created:
        log.info("mail already sent, not sending again: key=%s status=%s", key, record.status)
        return False
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to], headers={"Message-ID": message_id}
    )
    if html is not None:
        message.attach_alternative(html, "text/html")
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        if not _permanent(exc):
            raise MailDeferred(f"recipient refused for now ({_codes(exc)})") from exc
        record.status = SentMail.REFUSED
        record.save(update_fields=["status"])
        log.warning("mail refused for good, not retrying: key=%s codes=%s", key, _codes(exc))
        return False
    except (smtplib.SMTPException, OSError) as exc:  # OSError: refused connection, timeout, TLS
        raise MailDeferred(f"{type(exc).__name__}: {exc}") from exc
    log.info("mail sent: key=%s message_id=%s", key, message_id)
    return True


def password_reset_send(user_id: int, payload: dict[str, Any]) -> None:
    """Outbox handler of a password reset request (diary/accounts/password_reset.py): its one email,
    keyed by the request."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    subject, text = password_reset_message(user)
    request = payload.get("request") or uuid.uuid4().hex  # a row from before requests had keys: no dedupe
    email_send(key=f"account.password_reset:{request}", user_id=user.pk, to=user.email, subject=subject, text=text)
