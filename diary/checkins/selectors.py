from __future__ import annotations

from django.db.models import QuerySet

from diary.accounts.models import User
from diary.checkins.models import CheckIn


def checkins_live(*, user: User) -> QuerySet[CheckIn]:
    return CheckIn.objects.filter(user_id=user.pk, deleted_at__isnull=True)
