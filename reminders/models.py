from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from diary.sync.models import SyncedRow


class ReminderRule(SyncedRow):
    """A hydration, stretching or therapy reminder the person set (SYNC.md ``reminders``).

    ``next_fire_at`` and ``snooze_until`` are the server's: recomputed on every change of the rule,
    the person's zone or waking window, and by the dispatcher each time the rule fires. A rule that
    will not fire (disabled, deleted, a past timer) has no ``next_fire_at``, so the due index holds
    only live rules.
    """

    kind = models.CharField(max_length=16)
    label = models.CharField(max_length=120, null=True, blank=True)
    schedule = models.CharField(max_length=8)  # interval | times | once
    interval_min = models.PositiveIntegerField(null=True, blank=True)
    window_start = models.TimeField(null=True, blank=True)
    window_end = models.TimeField(null=True, blank=True)
    times = models.JSONField(default=list)
    weekdays = models.JSONField(default=list)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    fire_at = models.DateTimeField(null=True, blank=True)
    tz_mode = models.CharField(max_length=8, default="device")
    adaptive = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    next_fire_at = models.DateTimeField(null=True, blank=True)
    snooze_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "reminders_rule"
        constraints = [models.UniqueConstraint(fields=["user", "uid"], name="reminder_uid_per_user")]
        indexes = [
            models.Index(fields=["user", "seq"], name="reminder_user_seq"),
            # The dispatcher's only way in: cost follows the number due, not the number of rules.
            models.Index(fields=["next_fire_at"], name="reminder_due", condition=Q(next_fire_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} reminder {self.uid}"


class Notification(SyncedRow):
    """The in-app inbox (server-owned; the client may set only the action columns)."""

    kind = models.CharField(max_length=16)  # reminder | alert | suggestion | share
    rule = models.ForeignKey(ReminderRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reminder_id = models.CharField(max_length=36, null=True, blank=True)
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
            # One inbox row per firing: a re-run of the dispatcher creates nothing twice.
            models.UniqueConstraint(
                fields=["rule", "scheduled_for"], name="notification_once_per_fire", condition=Q(rule__isnull=False)
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
