"""Glasses of water, each kept with its time; the day's check-in ``water_ml`` is their sum."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from diary.accounts.models import User
from diary.checkins.models import CheckIn, WaterIntake
from diary.checkins.services import CHECKINS
from diary.core.errors import DomainValidationError
from diary.core.fields import REST, Instant, Int, RecordSpec, Text, zone
from diary.sync.sequence import ID_PATTERN, new_uid, sequence_lock
from diary.sync.writes import record_write

WATER = RecordSpec(
    table="water",
    fields=(
        Text("id", max_length=36),
        Instant("logged_at"),
        Int("amount_ml", nullable=False, minimum=1, maximum=2000),
    ),
    required=frozenset({"amount_ml"}),
)
# A glass logged this far ahead of the server clock is a clock or typing error, not a plan.
_FUTURE_SLACK = dt.timedelta(minutes=5)


def water_log(
    *,
    user: User,
    data: Mapping[str, Any],
    source: str = "app",
    notification_uid: str | None = None,
) -> tuple[WaterIntake, bool]:
    """Log one glass (idempotent on its id and on the notification it answers) and set that local
    day's check-in ``water_ml`` to the day's sum. Returns ``(glass, created)``."""
    values, errors = WATER.clean(data, REST, strict=True)
    uid = values.get("id") or new_uid()
    if values.get("id") is not None and not ID_PATTERN.match(uid):
        errors.setdefault("id", []).append("must be 1-36 characters of A-Z a-z 0-9 _ -")
    now = timezone.now()
    logged_at = values.get("logged_at") or now
    if logged_at > now + _FUTURE_SLACK:
        errors.setdefault("logged_at", []).append("is in the future")
    if errors:
        raise DomainValidationError(errors)
    day = logged_at.astimezone(zone(user.current_timezone)).date()
    with transaction.atomic():
        sequence_lock(user_id=user.pk)  # lock order: the sequence row first
        existing = _existing(user, uid, notification_uid)
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                glass = WaterIntake.objects.create(
                    user=user, uid=uid, logged_at=logged_at, day=day, amount_ml=values["amount_ml"], source=source,
                    notification_uid=notification_uid,
                )  # fmt: skip
        except IntegrityError:  # pragma: no cover - the sequence lock serialises the person's writes
            raise DomainValidationError({"id": ["already used for another glass"]}) from None
        _sum_into_checkin(user, day)
    return glass, True


def _existing(user: User, uid: str, notification_uid: str | None) -> WaterIntake | None:
    found = WaterIntake.objects.filter(user_id=user.pk, uid=uid).first()
    if found is None and notification_uid is not None:
        found = WaterIntake.objects.filter(user_id=user.pk, notification_uid=notification_uid).first()
    return found


def water_delete(*, user: User, uid: str) -> None:
    """Undo a glass; the day's check-in total follows."""
    with transaction.atomic():
        sequence_lock(user_id=user.pk)
        glass = WaterIntake.objects.filter(user_id=user.pk, uid=uid).first()
        if glass is None:
            raise Http404
        glass.delete()
        _sum_into_checkin(user, glass.day)


def _sum_into_checkin(user: User, day: dt.date) -> None:
    total = WaterIntake.objects.filter(user_id=user.pk, day=day).aggregate(total=Sum("amount_ml"))["total"] or 0
    live = CheckIn.objects.filter(user_id=user.pk, uid=day.isoformat(), deleted_at__isnull=True).exists()

    record_write(
        table=CHECKINS,
        user=user,
        uid=day.isoformat(),
        data={"water_ml": total} if live else {"date": day.isoformat(), "water_ml": total},
        wire=REST,
        mode="patch" if live else "put",
    )


def water_for_day(*, user: User, day: dt.date) -> QuerySet[WaterIntake]:
    return WaterIntake.objects.filter(user_id=user.pk, day=day).order_by("logged_at")
