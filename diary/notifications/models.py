"""The notifications layer's rows: the in-app inbox, push targets and the push outbox.

Reminders and alerts both notify through this layer, so it knows neither: a notification names
what raised it by uid (``reminder_id``, ``alert_id``), as the sync wire does, never by foreign key.
The tables keep the names they had in the ``reminders`` app (``db_table``); moving the models
here was a state-only migration.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from diary.sync.models import SyncedRow


class Notification(SyncedRow):
    """The in-app inbox (server-owned; the client may set only the action columns)."""

    kind = models.CharField(max_length=16)  # reminder | alert | suggestion | share
    reminder_id = models.CharField(max_length=36, null=True, blank=True)  # the reminder rule's uid
    alert_id = models.CharField(max_length=36, null=True, blank=True)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    scheduled_for = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    action = models.CharField(max_length=12, null=True, blank=True)
    acted_at = models.DateTimeField(null=True, blank=True)
    snooze_min = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        db_table = "reminders_notification"
        constraints = [
            models.UniqueConstraint(fields=["user", "uid"], name="notification_uid_per_user"),
            # One inbox row per firing of a reminder: a re-run of the dispatcher creates nothing twice.
            models.UniqueConstraint(
                fields=["user", "reminder_id", "scheduled_for"],
                name="notification_once_per_fire",
                condition=Q(reminder_id__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["user", "seq"], name="notification_user_seq"),
            models.Index(fields=["scheduled_for"], name="notification_live_age", condition=Q(deleted_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} notification {self.uid}"


class Device(models.Model):
    """A push target the person registered: an FCM or APNs token, or a Web Push subscription."""

    PLATFORMS = ("webpush", "fcm", "apns")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices")
    uid = models.CharField(max_length=36)
    platform = models.CharField(max_length=8, choices=[(p, p) for p in PLATFORMS])
    # FCM registration token, APNs device token (hex) or the Web Push endpoint URL.
    token = models.TextField()
    keys = models.JSONField(default=dict, blank=True)  # Web Push: p256dh and auth
    label = models.CharField(max_length=120, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "reminders_device"
        constraints = [
            models.UniqueConstraint(fields=["user", "uid"], name="device_uid_per_user"),
            # A token reaches one phone: if another account registers it, it moves there.
            models.UniqueConstraint(fields=["platform", "token"], name="device_token_once"),
        ]

    def __str__(self) -> str:
        return f"{self.platform} device {self.uid}"


class PushDelivery(models.Model):
    """One notification to one device: the outbox of pushes, written with the notification.

    A pending row is work the worker still owes; the sweeper re-queues rows whose wake-up was lost,
    and a transient failure moves ``next_attempt_at`` out with back-off.
    """

    PENDING, SENT, FAILED = "pending", "sent", "failed"

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=8, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "reminders_push_delivery"
        constraints = [models.UniqueConstraint(fields=["notification", "device"], name="push_once_per_device")]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="push_pending", condition=Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"push of {self.notification_id} to {self.device_id}: {self.status}"


class SentMail(models.Model):
    """One email the outbox sent (or gave up on), by a key that names what it is about and to whom
    (``alert.contact:<alert uid>:<address hash>``): the record that makes a redelivery send nothing.

    Written in the outbox row's transaction *before* the SMTP conversation and committed with the
    row marked processed (diary/notifications/email.py): a failed send rolls it back, so the retry
    sends; a sent one commits, so no retry does. Holds no message text.
    """

    SENT, REFUSED = "sent", "refused"

    key = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=200)
    status = models.CharField(max_length=8, default=SENT)  # refused: the server refused the recipient
    sent_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"mail {self.key}: {self.status}"
