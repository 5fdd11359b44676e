from __future__ import annotations

from diary.core.fields import Choice, Instant, RecordSpec, Text

ALERT = RecordSpec(
    table="alerts",
    fields=(
        Text("rule", read_only=True, max_length=32),
        Choice("severity", read_only=True, choices=("urgent", "high", "watch")),
        Text("title", read_only=True, max_length=200),
        Text("guidance", read_only=True, max_length=4000),
        Text("episode_id", read_only=True, max_length=36, attr="episode_uid"),
        Choice("status", read_only=True, choices=("open", "acknowledged", "resolved")),
        Instant("opened_at", read_only=True),
        Instant("acknowledged_at"),
    ),
)
