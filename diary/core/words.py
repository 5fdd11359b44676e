"""Codes in plain words: the one place that says what a vocabulary code (DOMAIN.md sections 2-4) means
to a person or a clinician. Pure Python (no Django), in the base layer, so every surface uses it: alert
evidence and notifications, the REST ``message``, the clinician page and PDF, emails, pattern sentences.

Codes stay codes on the wire and in the database (the app depends on them); only what people read
goes through here. ``word(vocabulary, code)`` is the function; the helpers below it compose phrases
("a spasm in the left calf"). A code this server does not know (sent by a newer app) is still shown
without underscores, never as a raw code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from diary.vocab import CUSTOM_PREFIX

KINDS: Final[Mapping[str, str]] = {"spasm": "spasm", "cramp": "cramp", "twitch": "twitch"}
KINDS_PLURAL: Final[Mapping[str, str]] = {"spasm": "spasms", "cramp": "cramps", "twitch": "twitches"}
SUBTYPES: Final[Mapping[str, str]] = {
    "skeletal": "skeletal muscle", "smooth": "smooth muscle", "ischemic": "ischaemic", "clonic": "clonic",
    "tonic": "tonic", "dystonic": "dystonic", "exertional": "during exertion", "nocturnal": "at night",
    "at_rest": "at rest", "fasciculation": "fasciculation", "clonus": "clonus", "spasticity": "spasticity",
}  # fmt: skip
BODY_LOCATIONS: Final[Mapping[str, str]] = {
    "eyelid": "eyelid", "face": "face", "jaw": "jaw", "neck": "neck", "shoulder": "shoulder",
    "upper_back": "upper back", "lower_back": "lower back", "chest": "chest", "abdomen": "abdomen",
    "pelvic_floor": "pelvic floor", "biceps": "biceps", "triceps": "triceps", "forearm": "forearm",
    "hand": "hand", "fingers": "fingers", "glutes": "buttocks", "hip": "hip", "quadriceps": "quadriceps",
    "hamstring": "hamstring", "calf": "calf", "shin": "shin", "foot": "foot", "toes": "toes",
    "other": "another part of the body",
}  # fmt: skip
SIDES: Final[Mapping[str, str]] = {"left": "left", "right": "right", "both": "both sides", "midline": "middle"}
BODY_REGIONS: Final[Mapping[str, str]] = {
    "head_neck": "head and neck",
    "trunk": "trunk",
    "arms": "arms",
    "legs": "legs",
}
ACTIVITIES: Final[Mapping[str, str]] = {
    "exercise": "exercising", "sleep": "sleeping", "rest": "resting", "sitting": "sitting",
    "standing": "standing", "walking": "walking", "driving": "driving", "working": "working",
    "other": "something else",
}  # fmt: skip
TRIGGERS: Final[Mapping[str, str]] = {
    "dehydration": "dehydration", "low_electrolytes": "low electrolytes",
    "heat": "heat", "strenuous_exercise": "strenuous exercise", "overuse": "overuse (repetitive motion)",
    "no_stretching": "not stretching", "poor_posture": "poor posture", "prolonged_sitting": "prolonged sitting",
    "tight_clothing": "tight clothing", "stress": "stress", "anxiety": "anxiety", "caffeine": "caffeine",
    "fatigue": "fatigue", "poor_sleep": "poor sleep", "medication": "medication",
    "menstruation": "menstruation", "cold": "cold", "injury": "injury", "unknown": "unknown",
}  # fmt: skip
SYMPTOMS: Final[Mapping[str, str]] = {
    "breathing_difficulty": "difficulty breathing", "weakness": "weakness", "numbness": "numbness",
    "tingling": "tingling", "swelling": "swelling", "skin_change": "a change in the skin (rash, redness or discolouration)",
    "warmth_redness": "warmth and redness", "visible_bulging": "a visible change in the muscle",
    "cannot_move": "unable to move the limb", "lingering_pain": "pain that lingered after the contraction",
}  # fmt: skip
RELIEF: Final[Mapping[str, str]] = {
    "ice": "ice", "heat": "heat", "stretching": "stretching", "massage": "massage", "hydration": "hydration",
    "rest": "rest", "medication": "medication", "electrical_stimulation": "electrical stimulation", "none": "nothing",
}  # fmt: skip
EXERCISE_INTENSITIES: Final[Mapping[str, str]] = {
    "none": "no exercise",
    "light": "light",
    "moderate": "moderate",
    "vigorous": "vigorous",
}
MEDICATIONS: Final[Mapping[str, str]] = {
    "statin": "statin", "diuretic": "diuretic", "beta_agonist": "beta agonist",
    "calcium_channel_blocker": "calcium channel blocker", "ace_inhibitor": "ACE inhibitor",
    "arb": "angiotensin receptor blocker", "steroid": "steroid", "antipsychotic": "antipsychotic",
    "muscle_relaxant": "muscle relaxant", "nsaid": "anti-inflammatory painkiller (NSAID)", "magnesium": "magnesium",
    "potassium": "potassium", "calcium": "calcium", "quinine": "quinine", "other": "another medication",
}  # fmt: skip
# What a check-in records (DOMAIN.md section 3) and the exposures pattern analysis derives from it.
EXPOSURES: Final[Mapping[str, str]] = {
    "water_ml": "water", "caffeine_servings": "caffeine", "alcohol_units": "alcohol", "exercise_min": "exercise",
    "exercise_intensity": "exercise intensity", "hot_weather": "hot weather", "sleep_h": "sleep",
    "stress": "stress", "sitting_h": "prolonged sitting", "stretched": "stretching", "medications": "medications",
    "menstruating": "menstruation", "fluid_changes": "darker or less urine, or a dry mouth",
    "low_water": "low water", "caffeine": "caffeine", "vigorous_exercise": "vigorous exercise", "heat": "heat",
    "short_sleep": "short sleep", "high_stress": "high stress", "long_sitting": "long sitting",
    "medication": "medication",
}  # fmt: skip
SEVERITIES: Final[Mapping[str, str]] = {"urgent": "urgent", "high": "high", "watch": "worth watching"}
STATUSES: Final[Mapping[str, str]] = {"open": "open", "acknowledged": "acknowledged", "resolved": "resolved"}
# Each red-flag rule's title (DOMAIN.md section 4); ``diary.alerts.texts`` adds the guidance.
RULES: Final[Mapping[str, str]] = {
    "breathing_difficulty": "Difficulty breathing",
    "severe_pain": "Severe pain",
    "persistent_pain": "Pain that keeps coming back",
    "weakness": "Weakness with contractions",
    "sensory_change": "Numbness, tingling or swelling",
    "skin_or_infection": "Skin change near the muscle",
    "cannot_move": "Could not move the limb",
    "appearance_change": "Change in a muscle or widespread twitching",
    "long_episode": "Long-lasting contraction",
    "frequent": "Frequent contractions",
    "persistent": "Contractions persisting for weeks",
    "fluid_changes": "Signs of dehydration",
}

VOCABULARIES: Final[Mapping[str, Mapping[str, str]]] = {
    "kind": KINDS, "subtype": SUBTYPES, "body_location": BODY_LOCATIONS, "side": SIDES, "region": BODY_REGIONS,
    "activity": ACTIVITIES, "trigger": TRIGGERS, "symptom": SYMPTOMS, "relief": RELIEF,
    "exercise_intensity": EXERCISE_INTENSITIES, "medication": MEDICATIONS, "exposure": EXPOSURES,
    "severity": SEVERITIES, "status": STATUSES, "rule": RULES,
}  # fmt: skip


def word(vocabulary: str, code: str) -> str:
    """The words for ``code`` of ``vocabulary`` (a key of ``VOCABULARIES``): ``word("symptom",
    "breathing_difficulty")`` is ``"difficulty breathing"``. Free text (``custom:late shifts``, allowed
    for triggers and medications) is shown quoted as the person wrote it. An unknown code (from a newer
    app) is shown without underscores rather than as a code."""
    if code.startswith(CUSTOM_PREFIX):
        return f'"{code.removeprefix(CUSTOM_PREFIX).strip()}"'
    known = VOCABULARIES[vocabulary].get(code)
    return known if known is not None else code.replace("_", " ")


def words(vocabulary: str, codes: Iterable[str]) -> str:
    """A list in words: ``"numbness, tingling and swelling"``."""
    return and_list([word(vocabulary, c) for c in codes])


def and_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def where(body_location: str, side: str | None = None) -> str:
    """``"the left calf"``, ``"the lower back"``, ``"both calves"`` style: the place, with its side."""
    place = word("body_location", body_location)
    if body_location == "other":
        return place
    if side in ("left", "right"):
        return f"the {side} {place}"
    if side == "both":
        return f"the {place} on both sides"
    return f"the {place}"


def kind_plural(kind: str) -> str:
    return KINDS_PLURAL.get(kind, word("kind", kind) + "s")


def episode_phrase(kind: str, body_location: str, side: str | None = None) -> str:
    """``"a spasm in the chest"``, ``"a cramp in the left calf"``."""
    return f"a {word('kind', kind)} in {where(body_location, side)}"


def zone_name(tz: str) -> str:
    """``"Europe/Berlin"`` -> ``"Berlin time"``; ``"UTC"`` -> ``"UTC"``."""
    if tz in ("UTC", "Etc/UTC"):
        return "UTC"
    return f"{tz.rsplit('/', 1)[-1].replace('_', ' ')} time"


def local_time(at: dt.datetime, tz: str, *, reader_tz: str | None = None) -> str:
    """An instant as a clock in ``tz``: ``"Fri 4 Dec 2026, 20:59"``. The zone is named
    (``"..., 20:59 Auckland time"``) unless the reader lives in it (``reader_tz == tz``): a time
    without its zone would be read in the reader's own."""
    try:
        local = at.astimezone(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        local, tz = at.astimezone(dt.UTC), "UTC"
    text = f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M}"
    return text if reader_tz == tz else f"{text} {zone_name(tz)}"
