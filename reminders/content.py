"""What a reminder says: short titles and the self-care guidance of DOMAIN.md section 5."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    title: str
    body: str


HYDRATION = Text(
    "Time for a glass of water",
    "Water keeps the electrolytes your muscles need in balance. Drink regularly, and more after sweating, "
    "in heat and around exercise. Tap Done when you have had a glass.",
)
HYDRATION_THIRSTY = Text(
    "A hot or hard day: another glass of water",
    "On hot days and after hard exercise you lose more water and salts through sweat, so today's reminders "
    "come a little more often. Avoid strenuous exercise in the heat.",
)
STRETCHING = Text(
    "Time to stretch",
    "A regular routine, before and after activity, covering the muscles that cramp. An evening calf and "
    "hamstring stretch helps people with night cramps.",
)
THERAPY = Text(
    "Check your cold or heat pack",
    "Cold: ice wrapped in a towel, at most 20 minutes at a time, never directly on skin. Heat: moist heat "
    "for 20-30 minutes; check your skin often, and after an injury wait 3 days before using heat.",
)
CUSTOM = Text("Reminder", "")
NIGHT_STRETCH_SUGGESTION = Text(
    "Most of your episodes happen at night",
    "An evening calf and hamstring stretch helps people with night cramps. Would you like a daily stretch "
    "reminder an hour before bed? You can add it under Reminders.",
)

_BY_KIND = {"hydration": HYDRATION, "stretching": STRETCHING, "therapy": THERAPY, "custom": CUSTOM}


def reminder_text(*, kind: str, label: str | None, thirsty: bool = False, snoozed: bool = False) -> Text:
    """The person's own label is the title when they gave one; the guidance is the body."""
    base = HYDRATION_THIRSTY if thirsty and kind == "hydration" else _BY_KIND.get(kind, CUSTOM)
    title = label or base.title
    if snoozed:
        title = f"{title} (snoozed)"
    return Text(title[:200], base.body)
