from __future__ import annotations

from django.db.models import QuerySet

from diary.accounts.models import User
from diary.episodes.models import Episode


def episodes_live(*, user: User) -> QuerySet[Episode]:
    """The person's episodes that are not deleted. Everything else about scoping starts here."""
    return Episode.objects.filter(user_id=user.pk, deleted_at__isnull=True)
