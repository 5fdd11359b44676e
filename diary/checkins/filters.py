from __future__ import annotations

import django_filters

from diary.checkins.models import CheckIn


class CheckInFilter(django_filters.FilterSet):
    class Meta:
        model = CheckIn
        fields: list[str] = []


CheckInFilter.base_filters["from"] = django_filters.DateFilter(
    field_name="date", lookup_expr="gte", label="on or after this date"
)
CheckInFilter.base_filters["to"] = django_filters.DateFilter(
    field_name="date", lookup_expr="lte", label="on or before this date"
)
