"""Every word of a red flag that people and clinicians read: each rule's title and guidance, the
evidence sentence that says which numbers crossed which threshold, and the notification and emails
that carry them.

Pure (no Django). ``evaluation`` decides *whether* a rule fires and with which numbers; this module
only says it. The evidence still names codes (symptoms, body locations, episode kinds) as they are
stored: rendering them in plain words is a change to this module alone.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from diary.alerts.catalogue import RULES


@dataclass(frozen=True)
class RuleText:
    title: str
    guidance: str


_NOT_A_DIAGNOSIS = "This is not a diagnosis."

# What the person is told, per rule (DOMAIN.md section 4, in plain words).
TEXTS: Final[Mapping[str, RuleText]] = {
    "breathing_difficulty": RuleText(
        "Difficulty breathing",
        "Difficulty breathing with a spasm needs immediate medical attention: call emergency services now.",
    ),
    "severe_pain": RuleText(
        "Severe pain",
        f"Severe pain during contractions should be checked by a clinician. {_NOT_A_DIAGNOSIS}",
    ),
    "persistent_pain": RuleText(
        "Pain that keeps coming back",
        "Pain that keeps returning, or does not get better with home care, should be assessed by a clinician. "
        f"{_NOT_A_DIAGNOSIS}",
    ),
    "weakness": RuleText(
        "Weakness with contractions",
        "Weakness together with contractions can point to a nerve or electrolyte problem. Do not ignore it: "
        f"talk to a clinician. {_NOT_A_DIAGNOSIS}",
    ),
    "sensory_change": RuleText(
        "Numbness, tingling or swelling",
        "Numbness, tingling or swelling with contractions may mean a nerve is pressed or there is inflammation. "
        f"Have it checked by a clinician. {_NOT_A_DIAGNOSIS}",
    ),
    "skin_or_infection": RuleText(
        "Skin change near the muscle",
        "Skin changes, warmth or redness near the muscle can mean an infection or an allergic reaction. "
        f"Have it checked by a clinician. {_NOT_A_DIAGNOSIS}",
    ),
    "cannot_move": RuleText(
        "Could not move the limb",
        f"Not being able to move the limb needs prompt assessment by a clinician. {_NOT_A_DIAGNOSIS}",
    ),
    "appearance_change": RuleText(
        "Change in a muscle or widespread twitching",
        "A visible change in a muscle, or twitching in several parts of the body, is worth investigating "
        f"with a clinician. {_NOT_A_DIAGNOSIS}",
    ),
    "long_episode": RuleText(
        "Long-lasting contraction",
        f"Contractions that last this long warrant evaluation by a clinician. {_NOT_A_DIAGNOSIS}",
    ),
    "frequent": RuleText(
        "Frequent contractions",
        "Frequent contractions may have an underlying cause. Consider talking to a clinician about them. "
        f"{_NOT_A_DIAGNOSIS}",
    ),
    "persistent": RuleText(
        "Contractions persisting for weeks",
        f"Contractions that persist for weeks should be evaluated by a specialist. {_NOT_A_DIAGNOSIS}",
    ),
    "fluid_changes": RuleText(
        "Signs of dehydration",
        "Darker or less urine and a dry mouth are signs of dehydration or an electrolyte imbalance. Drink water "
        f"and consider asking a clinician or pharmacist for advice. {_NOT_A_DIAGNOSIS}",
    ),
}
assert tuple(TEXTS) == RULES


# --------------------------------------------------------------------------------------------------
# Numbers in words


def format_duration(seconds: int) -> str:
    """``"29 min 59 s"``, ``"30 min"``, ``"2 h 05 min"``, ``"2 h 00 min 01 s"``."""
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    return f"{text} {secs:02d} s" if secs else text


def format_minutes(minutes: int) -> str:
    """A threshold in minutes: ``"30 min"``, ``"2 h"``, ``"1 h 30 min"``."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


# --------------------------------------------------------------------------------------------------
# Evidence: one sentence per finding. A window rule that fires for more than one reason lists each
# reason (``because``).


def because(reasons: Sequence[str]) -> str:
    return "; ".join(reasons)


def symptoms_reported(rule: str, symptoms: Sequence[str], kind: str, body_location: str) -> str:
    """A symptom rule; difficulty breathing also says with what and where (chest or neck matter most)."""
    text = f"symptom {', '.join(symptoms)} reported"
    if rule == "breathing_difficulty":
        text += f" with a {kind} ({body_location})"
    return text


def severe_pain(pain: int, threshold: int) -> str:
    return f"pain {pain} >= {threshold}"


def long_episode(seconds: int, threshold_min: int, *, ongoing: bool) -> str:
    label = "ongoing for" if ongoing else "duration"
    return f"{label} {format_duration(seconds)} >= {format_minutes(threshold_min)}"


def painful_episodes(episodes: int, pain: int, threshold: int, window_days: int) -> str:
    return f"{episodes} episodes with pain >= {pain} in {window_days} days >= {threshold}"


def lingering_pain(episodes: int, threshold: int, window_days: int) -> str:
    return f"lingering pain after {episodes} episodes in {window_days} days >= {threshold}"


def frequent_episodes(episodes: int, threshold: int, window_days: int) -> str:
    return f"{episodes} episodes in {window_days} days >= {threshold}"


def frequent_days(days: int, threshold: int, window_days: int) -> str:
    return f"episodes on {days} of the last {window_days} days >= {threshold}"


def frequent_streak(days: int, threshold: int) -> str:
    return f"frequent on each of the last {days} days >= {threshold}"


def rising_trend(recent: int, earlier: int, half_days: int, p: float, alpha: float) -> str:
    return (
        f"rising: {recent} episodes in the last {half_days} days vs {earlier} in the {half_days} days before "
        f"(one-sided binomial p = {p:.4f} < {alpha})"
    )


def fluid_changes(days: int, threshold: int, window_days: int) -> str:
    return f"fluid changes on {days} of the last {window_days} days >= {threshold}"


def widespread_twitching(regions: Sequence[str], threshold: int, window_days: int) -> str:
    return f"twitching in {len(regions)} body regions in {window_days} days >= {threshold} ({', '.join(regions)})"


# --------------------------------------------------------------------------------------------------
# Notifications and emails (the escalation ladder's messages)


def notification_body(guidance: str, evidence: str) -> str:
    """The person's inbox and push text: what to do, then why."""
    return f"{guidance}\n\nWhy: {evidence}." if evidence else guidance


def still_urgent(title: str) -> str:
    """The title of an urgent alert's repeat."""
    return f"Still urgent: {title}"


def local_time(at: dt.datetime, zone: str) -> str:
    """``"Friday 4 December 2026 at 23:40 (Europe/Paris time)"``: a moment as the person lived it."""
    local = at.astimezone(zoneinfo.ZoneInfo(zone))
    return f"{local:%A} {local.day} {local:%B %Y at %H:%M} ({zone} time)"


def clinician_email(*, person: str, severity: str, happened: str, review_url: str) -> tuple[str, str]:
    """(subject, plain text) to a clinician who shares the person's alerts.

    Email is not a private channel (it crosses servers and sits in mailboxes), so it carries no
    health detail: not the rule, the symptoms or the numbers, which the linked page shows after the
    clinician signs in. It says whose alert (the subject does not: it shows on lock screens), how
    urgent, when the episode happened and where to look. ``person`` may be empty.
    """
    person = person or "A patient who shares their diary with you"
    return (
        f"{severity.capitalize()} alert for a patient who shares their diary with you",
        f"{person} has a new {severity} alert in their symptom diary.\n"
        f"It is about an episode on {happened}.\n\n"
        f"Please review it here (you will be asked to sign in): {review_url}\n",
    )


def contact_email(*, who: str, contact_name: str, raised: str) -> tuple[str, str]:
    """(subject, plain text) to the emergency contact of a person whose urgent alert, raised at
    ``raised``, is still open and unanswered.

    Who, that an urgent alert is open, since when, and what to do; nothing from the diary (no
    symptoms, body parts, pain): the contact is a helper, not a clinician, and the person shared
    their address, not their diary.
    """
    greeting = f"Hello {contact_name}," if contact_name else "Hello,"
    return (
        f"Urgent: please try to reach {who}",
        f"{greeting}\n\n{who} named you as their emergency contact in their symptom diary.\n\n"
        f"An urgent alert has been open since {raised}, and they have not answered it.\n\n"
        "What to do:\n"
        "- Please try to reach them now (call, message, or go to see them).\n"
        "- If you cannot reach them, or you think they may be in danger, call emergency services.\n",
    )
