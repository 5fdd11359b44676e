"""Deleting an account: re-authenticated, then the person and everything they own go in one transaction.

Every table that holds a person's data references the user with ``on_delete=CASCADE`` (episodes,
check-ins, water, reminders, notifications and their deliveries, devices, alerts, thresholds, shares,
the access log of their diary, insights, outbox events, the sync state); refresh tokens would only be
detached (SimpleJWT's ``SET_NULL``), so they are deleted first (their blacklist rows cascade).

A clinician deleting their account leaves their patients' diaries alone: the shares they held end
(CASCADE), and the patients' access-log entries stay with the clinician blanked (``SET_NULL``).
"""

from __future__ import annotations

from django.db import transaction
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from diary.accounts.models import User
from diary.core.errors import DomainValidationError
from diary.sync.sequence import sequence_lock


def user_delete(*, user: User, password: object) -> None:
    """Delete ``user`` and all their data if ``password`` is theirs; else a 400 naming ``password``."""
    if not isinstance(password, str) or not password:
        raise DomainValidationError({"password": ["is required to delete your account"]})
    if not user.check_password(password):
        raise DomainValidationError({"password": ["is not your current password"]})
    with transaction.atomic():
        # The person's sequence row first (the lock order of every write), then the user row: a
        # concurrent write that references it (a sync push, a glass of water, a clinician's read)
        # waits for us and then fails, instead of failing our delete or deadlocking with it.
        sequence_lock(user_id=user.pk)
        locked = User.objects.select_for_update().get(pk=user.pk)
        OutstandingToken.objects.filter(user=locked).delete()
        locked.delete()
