"""The OpenAPI description of the insights snapshot, from its TypedDicts (snapshot.Snapshot), for the
person's and the clinician's insights endpoints alike: the schema documents every key the report has,
so a client can be generated from it and the API fuzzer checks real reports against it."""

from __future__ import annotations

from drf_spectacular.plumbing import resolve_type_hint
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from diary.patterns.snapshot import Snapshot


@extend_schema_field(resolve_type_hint(Snapshot), component_name="InsightsReport")
class SnapshotField(serializers.JSONField):
    """The stored report as-is (``InsightSnapshot.report``)."""
