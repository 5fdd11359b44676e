from __future__ import annotations

from django.db import models

from diary import vocab
from diary.sync.models import SyncedRow


def _choices(codes: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(c, c.replace("_", " ")) for c in codes]


class Episode(SyncedRow):
    """One spasm, cramp or twitch as the person logged it (DOMAIN.md sections 1-2)."""

    kind = models.CharField(max_length=16, choices=_choices(vocab.EPISODE_KINDS))
    subtype = models.CharField(max_length=24, null=True, blank=True, choices=_choices(vocab.ALL_SUBTYPES))
    body_location = models.CharField(max_length=24, choices=_choices(vocab.BODY_LOCATIONS))
    side = models.CharField(max_length=8, null=True, blank=True, choices=_choices(vocab.SIDES))
    started_at = models.DateTimeField()  # UTC
    tz = models.CharField(max_length=64)  # IANA zone it happened in: defines its local day
    duration_s = models.PositiveIntegerField(null=True, blank=True)  # null while ongoing
    pain = models.PositiveSmallIntegerField()
    symptoms = models.JSONField(default=list)
    triggers = models.JSONField(default=list)
    activity = models.CharField(max_length=16, null=True, blank=True, choices=_choices(vocab.ACTIVITIES))
    relief = models.JSONField(default=list)
    relief_score = models.PositiveSmallIntegerField(null=True, blank=True)
    notes = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "diary_episode"
        constraints = [
            models.UniqueConstraint(fields=["user", "uid"], name="episode_uid_per_user"),
            models.CheckConstraint(condition=models.Q(pain__lte=10), name="episode_pain_0_10"),
            models.CheckConstraint(
                condition=models.Q(relief_score__isnull=True) | models.Q(relief_score__lte=10),
                name="episode_relief_score_0_10",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "seq"], name="episode_user_seq"),
            # The list endpoint's keyset: newest first, live rows only.
            models.Index(
                fields=["user", "-started_at", "-id"],
                name="episode_user_started",
                condition=models.Q(deleted_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.body_location} {self.started_at:%Y-%m-%d %H:%M}Z"
