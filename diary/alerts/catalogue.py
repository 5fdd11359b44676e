"""The red-flag rules (DOMAIN.md section 4) as data: their codes, severities and scopes, the numbers a
clinician may tune with their defaults and safe bounds, and how several clinicians' numbers combine.

Pure (no Django): ``evaluation`` reads it to decide, ``texts`` to word, ``thresholds`` (the per-patient
Django side) to validate and combine what clinicians save, the API to publish the bounds.

Adding a rule: a row in ``CATALOGUE`` (and, if it has a number, a field in ``Thresholds`` with its
``BOUNDS``), its title in ``diary.core.words``, its guidance in ``texts.GUIDANCE``, its check in
``evaluation``; bump ``RULESET_VERSION``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Final

RULESET_VERSION: Final = 1  # bump when rule logic, defaults, bounds or texts change

URGENT: Final = "urgent"
HIGH: Final = "high"
WATCH: Final = "watch"
SEVERITY_RANK: Final[Mapping[str, int]] = {WATCH: 1, HIGH: 2, URGENT: 3}


# --------------------------------------------------------------------------------------------------
# Rules


@dataclass(frozen=True)
class RedFlagRule:
    """One row of DOMAIN.md section 4."""

    code: str  # on the wire and in ``Alert.rule``
    severities: tuple[str, ...]  # the levels it can raise, lowest first
    per_episode: bool = False  # raised by one episode (one alert per episode and rule)
    window: bool = False  # raised by the recent days (one alert per rule per rolling 7 days)
    symptoms: tuple[str, ...] = ()  # diary.vocab.SYMPTOMS codes that raise it on an episode


# In DOMAIN.md's order, which is also the order of a person's findings within one severity.
CATALOGUE: Final = (
    RedFlagRule("breathing_difficulty", (URGENT,), per_episode=True, symptoms=("breathing_difficulty",)),
    RedFlagRule("severe_pain", (HIGH,), per_episode=True),
    RedFlagRule("persistent_pain", (HIGH,), window=True),
    RedFlagRule("weakness", (HIGH,), per_episode=True, symptoms=("weakness",)),
    RedFlagRule("sensory_change", (HIGH,), per_episode=True, symptoms=("numbness", "tingling", "swelling")),
    RedFlagRule("skin_or_infection", (HIGH,), per_episode=True, symptoms=("skin_change", "warmth_redness")),
    RedFlagRule("cannot_move", (HIGH,), per_episode=True, symptoms=("cannot_move",)),
    RedFlagRule("appearance_change", (WATCH,), per_episode=True, window=True, symptoms=("visible_bulging",)),
    RedFlagRule("long_episode", (WATCH, HIGH), per_episode=True),
    RedFlagRule("frequent", (WATCH,), window=True),
    RedFlagRule("persistent", (HIGH,), window=True),
    RedFlagRule("fluid_changes", (WATCH,), window=True),
)

RULES: Final = tuple(r.code for r in CATALOGUE)
SEVERITIES: Final[Mapping[str, tuple[str, ...]]] = {r.code: r.severities for r in CATALOGUE}
PER_EPISODE_RULES: Final = tuple(r.code for r in CATALOGUE if r.per_episode)
WINDOW_RULES: Final = tuple(r.code for r in CATALOGUE if r.window)
# Symptom rules: rule -> the symptom codes that raise it.
SYMPTOM_RULES: Final[Mapping[str, tuple[str, ...]]] = {r.code: r.symptoms for r in CATALOGUE if r.symptoms}

# Rules that no clinician may switch off or tune: they have no number.
FIXED_RULES: Final = frozenset({"breathing_difficulty"})


# --------------------------------------------------------------------------------------------------
# Thresholds


@dataclass(frozen=True)
class Thresholds:
    """Every number a clinician may tune (DOMAIN.md section 4 defaults). Lower is always more sensitive."""

    severe_pain: int = 8  # severe_pain: pain >= this
    persistent_pain: int = 7  # persistent_pain: episodes with pain >= this ...
    persistent_pain_count: int = 3  # ... at least this many in 7 days
    lingering_pain_count: int = 2  # or `lingering_pain` symptom on this many episodes in 7 days
    long_watch_min: int = 30  # long_episode watch at duration >= this many minutes
    long_high_min: int = 120  # long_episode high at >= this
    frequent_count: int = 10  # frequent: >= this many episodes in 7 days
    frequent_days: int = 5  # or episodes on >= this many of the last 7 days
    persistent_days: int = 14  # persistent: frequent held this many consecutive days
    twitch_regions: int = 3  # appearance_change: twitching in >= this many body regions within 14 days
    fluid_days: int = 3  # fluid_changes: check-in fluid_changes on >= this many of 7 days


THRESHOLD_NAMES: Final = tuple(f.name for f in fields(Thresholds))

# Safe bounds for a clinician's change, inclusive. The lower ends stop a setting that would flag
# nearly everything (alert fatigue hides the real ones); the upper ends stop one that silences a rule.
BOUNDS: Final[Mapping[str, tuple[int, int]]] = {
    "severe_pain": (5, 10),
    "persistent_pain": (4, 10),
    "persistent_pain_count": (2, 7),
    "lingering_pain_count": (1, 5),
    "long_watch_min": (10, 120),
    "long_high_min": (30, 480),
    "frequent_count": (3, 30),
    "frequent_days": (2, 7),
    "persistent_days": (7, 28),
    "twitch_regions": (2, 4),
    "fluid_days": (1, 7),
}
assert set(BOUNDS) == set(THRESHOLD_NAMES)


def check_thresholds(values: Mapping[str, object]) -> dict[str, str]:
    """Problems with one clinician's overrides, field -> reason; ``{}`` when they may be saved.

    ``long_high_min`` must not be below ``long_watch_min``; a field not given counts at its default.
    """
    problems: dict[str, str] = {}
    valid: dict[str, int] = {}
    for name, value in values.items():
        if name in FIXED_RULES:
            problems[name] = f"{name} can never be switched off or tuned"
        elif name not in BOUNDS:
            problems[name] = f"unknown threshold; expected one of: {', '.join(THRESHOLD_NAMES)}"
        elif not isinstance(value, int) or isinstance(value, bool):
            problems[name] = f"must be a whole number, got {type(value).__name__}"
        else:
            low, high = BOUNDS[name]
            if not low <= value <= high:
                problems[name] = f"must be between {low} and {high}, got {value}"
            else:
                valid[name] = value
    default = Thresholds()
    if "long_watch_min" in valid or "long_high_min" in valid:
        watch = valid.get("long_watch_min", default.long_watch_min)
        high_ = valid.get("long_high_min", default.long_high_min)
        if high_ < watch and "long_high_min" not in problems and "long_watch_min" not in problems:
            problems["long_high_min"] = f"must not be below long_watch_min ({high_} < {watch})"
    return problems


def most_sensitive(overrides: Iterable[Mapping[str, int]], base: Thresholds = Thresholds()) -> Thresholds:
    """The thresholds that apply when several clinicians set them: per field the most sensitive (lowest).

    A field nobody overrode keeps ``base``; a field somebody overrode is the minimum over the
    overrides only (a clinician may loosen a value above the default, and if that is the only
    override it applies). Overrides are checked by ``check_thresholds`` when saved; here a stale or
    broken value must not stop the evaluation, so unknown names and non-integers are skipped and
    numbers are clamped into ``BOUNDS``. If the combination leaves ``long_high_min`` below
    ``long_watch_min``, the watch level is lowered to it (any such episode is high anyway).
    """
    chosen: dict[str, int] = {}
    for one in overrides:
        for name, value in one.items():
            if name not in BOUNDS or not isinstance(value, int) or isinstance(value, bool):
                continue
            low, high = BOUNDS[name]
            value = min(max(value, low), high)
            chosen[name] = min(value, chosen.get(name, value))
    result = replace(base, **chosen)
    if result.long_high_min < result.long_watch_min:
        result = replace(result, long_watch_min=result.long_high_min)
    return result
