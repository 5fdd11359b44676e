"""Synced diary tables are read-only here: an edit in the admin would skip the sequence stamp and the
outbox intent (devices would never see it, red flags would not be evaluated). Changes go through the
API and its one write path."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from diary.checkins.models import CheckIn
from diary.episodes.models import Episode
from diary.outbox.models import OutboxEvent


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Episode)
class EpisodeAdmin(ReadOnlyAdmin):
    list_display = ["uid", "user", "kind", "body_location", "pain", "started_at", "deleted_at"]
    list_filter = ["kind", "body_location"]
    search_fields = ["uid", "user__email"]
    raw_id_fields = ["user"]


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyAdmin):
    list_display = ["uid", "user", "water_ml", "sleep_h", "stress", "deleted_at"]
    search_fields = ["uid", "user__email"]
    raw_id_fields = ["user"]


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ["pk", "topic", "user", "created_at", "processed_at", "attempts"]
    list_filter = ["topic"]
    raw_id_fields = ["user"]
