"""The notifications table on the wire (SYNC.md ``notifications``): server-owned; the client may
set only the action columns."""

from __future__ import annotations

from diary.core.fields import Choice, Instant, Int, RecordSpec, Text

NOTIFICATION_KINDS = ("reminder", "alert", "suggestion", "share")

NOTIFICATION = RecordSpec(
    table="notifications",
    fields=(
        Choice("kind", read_only=True, choices=NOTIFICATION_KINDS),
        Text("reminder_id", read_only=True, max_length=36),
        Text("alert_id", read_only=True, max_length=36),
        Text("title", read_only=True, max_length=200),
        Text("body", read_only=True, max_length=4000),
        Instant("scheduled_for", read_only=True),
        Instant("delivered_at"),
        Choice("action", choices=("done", "snoozed", "dismissed")),
        Instant("acted_at"),
        Int("snooze_min", minimum=1, maximum=24 * 60),
    ),
)
