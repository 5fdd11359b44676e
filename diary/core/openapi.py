"""DRF serializers generated from a ``RecordSpec``: the OpenAPI schema describes exactly what the
validator enforces, because both come from the same field list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from diary.core import fields as f


def _drf_field(spec_field: f.Field, *, for_input: bool, required: bool) -> serializers.Field:
    # Output schemas list every column as present; read-only matters only for input (where it is skipped).
    kw: dict[str, Any] = {"required": required, "allow_null": spec_field.nullable}
    if isinstance(spec_field, f.Choice):
        return serializers.ChoiceField(choices=list(spec_field.choices), **kw)
    if isinstance(spec_field, f.Int):
        return serializers.IntegerField(min_value=spec_field.minimum, max_value=spec_field.maximum, **kw)
    if isinstance(spec_field, f.Number):
        return serializers.FloatField(min_value=spec_field.minimum, max_value=spec_field.maximum, **kw)
    if isinstance(spec_field, f.Bool):
        return serializers.BooleanField(**kw)
    if isinstance(spec_field, f.Text):
        return serializers.CharField(max_length=spec_field.max_length, allow_blank=True, **kw)
    if isinstance(spec_field, f.Instant):
        return serializers.DateTimeField(**kw)
    if isinstance(spec_field, f.LocalDate):
        return serializers.DateField(**kw)
    if isinstance(spec_field, f.ClockTime):
        return serializers.RegexField(r"^([01]\d|2[0-3]):[0-5]\d$", help_text="local time HH:MM", **kw)
    if isinstance(spec_field, f.Zone):
        return serializers.CharField(help_text="IANA time zone, e.g. Europe/Berlin", **kw)
    if isinstance(spec_field, f.CodeList):
        if spec_field.custom_prefix:
            child: serializers.Field = serializers.CharField(
                help_text=f"one of {', '.join(spec_field.choices)}, or {spec_field.custom_prefix}<text>"
            )
        else:
            child = serializers.ChoiceField(choices=list(spec_field.choices))
        kw["allow_null"] = False
        return serializers.ListField(child=child, max_length=spec_field.max_items, **kw)
    if isinstance(spec_field, f.ValueList):
        kw["allow_null"] = False
        item = _drf_field(spec_field.item, for_input=for_input, required=True)
        return serializers.ListField(child=item, max_length=spec_field.max_items, **kw)
    raise TypeError(f"no OpenAPI mapping for {type(spec_field).__name__}")


def spec_serializer(
    spec: f.RecordSpec, name: str, *, for_input: bool, extra: Mapping[str, serializers.Field] | None = None
) -> type[serializers.Serializer]:
    attrs: dict[str, Any] = dict(extra or {})
    for spec_field in spec.fields:
        if for_input and spec_field.read_only:
            continue
        required = (spec_field.name in spec.required) if for_input else True
        attrs[spec_field.name] = _drf_field(spec_field, for_input=for_input, required=required)
    return type(name, (serializers.Serializer,), attrs)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="machine-readable code, e.g. invalid, conflict, not_found")
    message = serializers.CharField()
    details = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="reasons by field"
    )


# Any API view may answer these two: every view has a rate limit (the per-person one, and sign-in,
# password reset and redeeming a sharing code have stricter ones), and a database outage is a 503.
# Both carry Retry-After. Views that list their own responses instead of ERRORS add ANY_VIEW.
ANY_VIEW = {
    429: OpenApiResponse(ErrorSerializer, description="too many requests; retry after Retry-After seconds"),
    503: OpenApiResponse(ErrorSerializer, description="the database is briefly unreachable; retry after Retry-After"),
}
ERRORS = {
    400: ErrorSerializer,
    401: ErrorSerializer,
    403: ErrorSerializer,
    404: ErrorSerializer,
    **ANY_VIEW,
}
