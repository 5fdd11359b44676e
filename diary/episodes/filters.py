from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField

from diary import vocab
from diary.episodes.models import Episode


class UtcDateTimeField(IsoDateTimeField):
    """ISO 8601 compared in UTC: Python accepts offsets up to 23:59, PostgreSQL only to 15:59, and a
    date at the edge of the calendar may have no UTC equivalent (then it is not a valid date-time)."""

    def to_python(self, value: Any) -> dt.datetime | None:
        parsed = super().to_python(value)
        try:
            return parsed.astimezone(dt.UTC) if parsed is not None else None
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class EpisodeFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=[(c, c) for c in vocab.EPISODE_KINDS])
    body_location = django_filters.ChoiceFilter(choices=[(c, c) for c in vocab.BODY_LOCATIONS])
    min_pain = django_filters.NumberFilter(field_name="pain", lookup_expr="gte", min_value=0, max_value=10)
    has_symptom = django_filters.ChoiceFilter(choices=[(c, c) for c in vocab.SYMPTOMS], method="filter_symptom")

    class Meta:
        model = Episode
        fields: list[str] = []

    def filter_symptom(self, queryset: QuerySet[Episode], name: str, value: str) -> QuerySet[Episode]:
        if connection.vendor == "postgresql":
            return queryset.filter(symptoms__contains=[value])  # jsonb @>, uses no LIKE
        # SQLite has no JSON containment; the codes come from a closed vocabulary without quotes,
        # so matching the quoted code in the stored JSON text is exact.
        return queryset.filter(symptoms__icontains=f'"{value}"')


# "from" and "to" are Python keywords, so they are added after the class is built.
EpisodeFilter.base_filters["from"] = UtcDateTimeFilter(
    field_name="started_at", lookup_expr="gte", label="started at or after (ISO 8601 with offset)"
)
EpisodeFilter.base_filters["to"] = UtcDateTimeFilter(
    field_name="started_at", lookup_expr="lt", label="started before (ISO 8601 with offset)"
)
