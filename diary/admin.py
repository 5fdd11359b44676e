from django.contrib import admin

from diary.checkins.models import CheckIn
from diary.episodes.models import Episode
from diary.outbox.models import OutboxEvent


@admin.register(Episode)
class EpisodeAdmin(admin.ModelAdmin[Episode]):
    list_display = ["uid", "user", "kind", "body_location", "pain", "started_at", "deleted_at"]
    list_filter = ["kind", "body_location"]
    search_fields = ["uid", "user__email"]
    raw_id_fields = ["user"]


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin[CheckIn]):
    list_display = ["uid", "user", "water_ml", "sleep_h", "stress", "deleted_at"]
    search_fields = ["uid", "user__email"]
    raw_id_fields = ["user"]


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin[OutboxEvent]):
    list_display = ["pk", "topic", "user", "created_at", "processed_at", "attempts"]
    list_filter = ["topic"]
    raw_id_fields = ["user"]
