"""Reads for the inbox and the person's devices."""

from __future__ import annotations

from django.db.models import QuerySet

from diary.accounts.models import User
from diary.notifications.models import Device, Notification


def notification_list(*, user: User, unread: bool = False) -> QuerySet[Notification]:
    rows = Notification.objects.filter(user_id=user.pk, deleted_at__isnull=True)
    if unread:
        rows = rows.filter(action__isnull=True)
    return rows.order_by("-scheduled_for", "-id")


def notification_get(*, user: User, uid: str) -> Notification | None:
    return Notification.objects.filter(user_id=user.pk, uid=uid, deleted_at__isnull=True).first()


def device_list(*, user: User) -> QuerySet[Device]:
    return Device.objects.filter(user_id=user.pk).order_by("created_at")
