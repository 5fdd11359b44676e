"""Every word of a red flag that people and clinicians read: each rule's title and guidance, the
evidence sentence that says which numbers crossed which threshold, and the notification and emails
that carry them.

Pure (no Django). ``evaluation`` decides *whether* a rule fires and with which numbers; this module
only says it, in words: every code (symptom, body location, episode kind, severity, rule) goes
through ``diary.core.words``, the one function that names codes on every surface.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any, Final

from diary.alerts.catalogue import RULES
from diary.core import words

_NOT_A_DIAGNOSIS = "This is not a diagnosis."

# What the person is told, per rule (DOMAIN.md section 4, in plain words). The title is not stored
# here: it is the rule's name, ``words.word("rule", rule)``, the same on every surface.
GUIDANCE: Final[Mapping[str, str]] = {
    "breathing_difficulty": (
        "Difficulty breathing with a spasm needs immediate medical attention: call emergency services now."
    ),
    "severe_pain": f"Severe pain during contractions should be checked by a clinician. {_NOT_A_DIAGNOSIS}",
    "persistent_pain": (
        "Pain that keeps returning, or does not get better with home care, should be assessed by a clinician. "
        f"{_NOT_A_DIAGNOSIS}"
    ),
    "weakness": (
        "Weakness together with contractions can point to a nerve or electrolyte problem. Do not ignore it: "
        f"talk to a clinician. {_NOT_A_DIAGNOSIS}"
    ),
    "sensory_change": (
        "Numbness, tingling or swelling with contractions may mean a nerve is pressed or there is inflammation. "
        f"Have it checked by a clinician. {_NOT_A_DIAGNOSIS}"
    ),
    "skin_or_infection": (
        "Skin changes, warmth or redness near the muscle can mean an infection or an allergic reaction. "
        f"Have it checked by a clinician. {_NOT_A_DIAGNOSIS}"
    ),
    "cannot_move": f"Not being able to move the limb needs prompt assessment by a clinician. {_NOT_A_DIAGNOSIS}",
    "appearance_change": (
        "A visible change in a muscle, or twitching in several parts of the body, is worth investigating "
        f"with a clinician. {_NOT_A_DIAGNOSIS}"
    ),
    "long_episode": f"Contractions that last this long warrant evaluation by a clinician. {_NOT_A_DIAGNOSIS}",
    "frequent": (
        "Frequent contractions may have an underlying cause. Consider talking to a clinician about them. "
        f"{_NOT_A_DIAGNOSIS}"
    ),
    "persistent": f"Contractions that persist for weeks should be evaluated by a specialist. {_NOT_A_DIAGNOSIS}",
    "fluid_changes": (
        "Darker or less urine and a dry mouth are signs of dehydration or an electrolyte imbalance. Drink water "
        f"and consider asking a clinician or pharmacist for advice. {_NOT_A_DIAGNOSIS}"
    ),
}
assert tuple(GUIDANCE) == RULES


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
# Evidence: one sentence per finding, in words (codes through ``diary.core.words``), each number with
# the threshold it crossed. A window rule names its local days when the caller passes ``today`` (the
# person's local day the rule was judged as of), and lists each reason it fires for (``because``).


def because(reasons: Sequence[str]) -> str:
    return "; ".join(reasons)


def day(d: dt.date) -> str:
    """``"Fri 4 Dec"``: a local day in words."""
    return f"{d:%a} {d.day} {d:%b}"


def days_ending(today: dt.date | None, n: int, *, ago: int = 0) -> str:
    """``"the 7 days from Sat 28 Nov to Fri 4 Dec"`` (``"the last 7 days"`` without ``today``)."""
    if today is None:
        return f"the last {n} days"
    end = today - dt.timedelta(days=ago)
    return f"the {n} days from {day(end - dt.timedelta(days=n - 1))} to {day(end)}"


def symptoms_reported(
    rule: str, symptoms: Sequence[str], kind: str, body_location: str, side: str | None = None
) -> str:
    """``"difficulty breathing with a spasm in the chest"``: what came with which episode, where."""
    del rule  # every symptom rule says the same: what, with which contraction, where
    return f"{words.words('symptom', symptoms)} with {words.episode_phrase(kind, body_location, side)}"


def severe_pain(pain: int, threshold: int) -> str:
    return f"pain {pain} out of 10 (threshold {threshold})"


def long_episode(seconds: int, threshold_min: int, *, ongoing: bool) -> str:
    label = "still going on after" if ongoing else "lasted"
    return f"{label} {format_duration(seconds)} (threshold {format_minutes(threshold_min)})"


def painful_episodes(episodes: int, pain: int, threshold: int, window_days: int, today: dt.date | None = None) -> str:
    return (
        f"{_episodes(episodes)} with pain {pain} out of 10 or more in {days_ending(today, window_days)} "
        f"(threshold {threshold})"
    )


def lingering_pain(episodes: int, threshold: int, window_days: int, today: dt.date | None = None) -> str:
    return f"pain lingered after {_episodes(episodes)} in {days_ending(today, window_days)} (threshold {threshold})"


def frequent_episodes(episodes: int, threshold: int, window_days: int, today: dt.date | None = None) -> str:
    return f"{_episodes(episodes)} in {days_ending(today, window_days)} (threshold {threshold})"


def frequent_days(days: int, threshold: int, window_days: int, today: dt.date | None = None) -> str:
    return f"episodes on {days} of {days_ending(today, window_days)} (threshold {threshold} days)"


def frequent_streak(days: int, threshold: int, today: dt.date | None = None) -> str:
    return f"frequent contractions on each of {days_ending(today, days)} (threshold {threshold} days)"


def rising_trend(
    recent: int, earlier: int, half_days: int, p: float, alpha: float, today: dt.date | None = None
) -> str:
    return (
        f"{_episodes(recent)} in {days_ending(today, half_days)}, against {earlier} in the {half_days} days "
        f"before: a rise unlikely to be chance (one-sided binomial test, p = {p:.4f}, below {alpha})"
    )


def fluid_changes(days: int, threshold: int, window_days: int, today: dt.date | None = None) -> str:
    return (
        f"signs of dehydration ({words.word('exposure', 'fluid_changes')}) on {days} of "
        f"{days_ending(today, window_days)} "
        f"(threshold {threshold} days)"
    )


def widespread_twitching(regions: Sequence[str], threshold: int, window_days: int, today: dt.date | None = None) -> str:
    return (
        f"twitching in {len(regions)} body regions ({words.words('region', regions)}) in "
        f"{days_ending(today, window_days)} (threshold {threshold})"
    )


def _episodes(n: int) -> str:
    return f"{n} episode" if n == 1 else f"{n} episodes"


# --------------------------------------------------------------------------------------------------
# Notifications and emails (the escalation ladder's messages)


def notification_body(guidance: str, evidence: str, happened: str = "") -> str:
    """The person's inbox and push text: what to do, then why (and, for an episode's alert, when the
    episode happened: ``happened`` from ``words.local_time``)."""
    return f"{guidance}\n\nWhy: {evidence_when(evidence, happened)}." if evidence else guidance


def alert_message(title: str, evidence: str, happened: str = "") -> str:
    """One line that says an alert in full: ``"Severe pain: pain 8 out of 10 (threshold 8), on Fri 4
    Dec 2026, 20:59"``; the REST ``message``, the clinician page and the PDF."""
    return f"{title}: {evidence_when(evidence, happened)}" if evidence else title


def evidence_when(evidence: str, happened: str) -> str:
    """The evidence and, for an episode's alert, when the episode happened."""
    return f"{evidence}, on {happened}" if happened else evidence


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


# --------------------------------------------------------------------------------------------------
# Evidence again from an alert's numbers (migration 0009 rewords alerts stored before the words)


def evidence_from_numbers(rule: str, numbers: Mapping[str, Any]) -> str | None:
    """The evidence sentence ``evaluation`` would write today for a finding with these ``numbers``
    (window rules without their dates: "the last 7 days"), or None if the numbers do not say enough."""
    n = numbers
    try:
        if "symptoms" in n:
            return symptoms_reported(rule, list(n["symptoms"]), n["kind"], n["body_location"])
        if rule == "severe_pain":
            return severe_pain(int(n["pain"]), int(n["threshold"]))
        if rule == "long_episode":
            return long_episode(int(n["duration_s"]), int(n["threshold_min"]), ongoing=bool(n["ongoing"]))
        reasons: list[str] = []
        if rule == "persistent_pain":
            if n["painful_episodes"] >= n["painful_count_threshold"]:
                reasons.append(
                    painful_episodes(
                        n["painful_episodes"], n["pain_threshold"], n["painful_count_threshold"], n["window_days"]
                    )
                )
            if n["lingering_episodes"] >= n["lingering_count_threshold"]:
                reasons.append(
                    lingering_pain(n["lingering_episodes"], n["lingering_count_threshold"], n["window_days"])
                )
        elif rule == "frequent":
            if n["episodes"] >= n["count_threshold"]:
                reasons.append(frequent_episodes(n["episodes"], n["count_threshold"], n["window_days"]))
            if n["days_with_episodes"] >= n["days_threshold"]:
                reasons.append(frequent_days(n["days_with_episodes"], n["days_threshold"], n["window_days"]))
        elif rule == "persistent":
            if n["frequent_streak_days"] >= n["days_threshold"]:
                reasons.append(frequent_streak(n["frequent_streak_days"], n["days_threshold"]))
            if n.get("rising"):
                half = 14  # evaluation.TREND_HALF_DAYS (evaluation imports this module)
                reasons.append(
                    rising_trend(n["recent_episodes"], n["earlier_episodes"], half, n["p_value"], n["alpha"])
                )
        elif rule == "fluid_changes":
            reasons.append(fluid_changes(n["days"], n["threshold"], n["window_days"]))
        elif rule == "appearance_change":
            reasons.append(widespread_twitching(list(n["regions"]), n["threshold"], n["window_days"]))
    except (KeyError, TypeError, ValueError):
        return None
    return because(reasons) or None
