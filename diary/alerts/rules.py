"""Red-flag rules (DOMAIN.md section 4), evaluated as pure functions: no Django, no database, no clock.

The Django side turns facts into ``EpisodeFacts``/``CheckinFacts``, picks the thresholds with
``most_sensitive`` and stores each ``Finding`` as an alert. Everything here is deterministic in its
arguments, so the acceptance tests pin every threshold at, just below and just above its value.

Days are local days: an episode's day is ``started_at`` in the episode's own ``tz``; a check-in's is
its date. "In 7 days" means the 7 local days ending with ``today`` inclusive (``today - 6 .. today``);
14 and 28 days likewise. ``history_start`` says how far back the caller must load episodes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from diary.vocab import BODY_REGIONS

RULESET_VERSION: Final = 1  # bump when rule logic, defaults, bounds or texts change

URGENT: Final = "urgent"
HIGH: Final = "high"
WATCH: Final = "watch"
SEVERITY_RANK: Final[Mapping[str, int]] = {WATCH: 1, HIGH: 2, URGENT: 3}

WEEK_DAYS: Final = 7  # frequent, persistent_pain, fluid_changes
TWITCH_WINDOW_DAYS: Final = 14  # appearance_change (widespread twitching)
TREND_HALF_DAYS: Final = 14  # persistent trend: last 14 days vs the 14 before (28 days in all)
TREND_ALPHA: Final = 0.05  # one-sided exact binomial test


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

# Rules that no clinician may switch off or tune: they have no number.
FIXED_RULES: Final = frozenset({"breathing_difficulty"})


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


def history_start(t: Thresholds, today: dt.date) -> dt.date:
    """The first local day ``window_findings`` looks at: load episodes from (a day before) here.

    The trend needs 28 days; "frequent held for N days" needs N days each looking 7 days back.
    """
    span = max(2 * TREND_HALF_DAYS, t.persistent_days + WEEK_DAYS - 1, TWITCH_WINDOW_DAYS)
    return today - dt.timedelta(days=span - 1)


# --------------------------------------------------------------------------------------------------
# Facts and findings


@dataclass(frozen=True)
class EpisodeFacts:
    uid: str
    kind: str  # spasm | cramp | twitch
    body_location: str
    started_at: dt.datetime  # aware
    tz: str  # IANA zone the episode happened in: defines its local day
    duration_s: int | None  # None while ongoing
    pain: int  # 0..10
    symptoms: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CheckinFacts:
    day: dt.date  # the check-in's local date
    fluid_changes: bool | None


@dataclass(frozen=True)
class Finding:
    rule: str  # the DOMAIN.md code
    severity: str  # urgent | high | watch
    title: str  # short, plain
    guidance: str  # what the person is told
    evidence: str  # the numbers that crossed the threshold, for people
    numbers: Mapping[str, object] = field(default_factory=dict)  # the same, for machines
    episode_uid: str | None = None  # per-episode rules: the episode; window rules: None


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

SEVERITIES: Final[Mapping[str, tuple[str, ...]]] = {
    "breathing_difficulty": (URGENT,),
    "severe_pain": (HIGH,),
    "persistent_pain": (HIGH,),
    "weakness": (HIGH,),
    "sensory_change": (HIGH,),
    "skin_or_infection": (HIGH,),
    "cannot_move": (HIGH,),
    "appearance_change": (WATCH,),
    "long_episode": (WATCH, HIGH),
    "frequent": (WATCH,),
    "persistent": (HIGH,),
    "fluid_changes": (WATCH,),
}
RULES: Final = tuple(TEXTS)
PER_EPISODE_RULES: Final = (
    "breathing_difficulty",
    "severe_pain",
    "weakness",
    "sensory_change",
    "skin_or_infection",
    "cannot_move",
    "appearance_change",
    "long_episode",
)
WINDOW_RULES: Final = ("persistent_pain", "frequent", "persistent", "fluid_changes", "appearance_change")
assert set(SEVERITIES) == set(TEXTS) == set(PER_EPISODE_RULES) | set(WINDOW_RULES)

# Symptom rules: rule -> the symptom codes (diary.vocab.SYMPTOMS) that raise it.
SYMPTOM_RULES: Final[Mapping[str, tuple[str, ...]]] = {
    "breathing_difficulty": ("breathing_difficulty",),
    "weakness": ("weakness",),
    "sensory_change": ("numbness", "tingling", "swelling"),
    "skin_or_infection": ("skin_change", "warmth_redness"),
    "cannot_move": ("cannot_move",),
    "appearance_change": ("visible_bulging",),
}


def _finding(
    rule: str, severity: str, evidence: str, numbers: dict[str, object], episode_uid: str | None = None
) -> Finding:
    text = TEXTS[rule]
    return Finding(
        rule=rule,
        severity=severity,
        title=text.title,
        guidance=text.guidance,
        evidence=evidence,
        numbers=numbers,
        episode_uid=episode_uid,
    )


# --------------------------------------------------------------------------------------------------
# Per-episode rules


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


def episode_duration_s(ep: EpisodeFacts, now: dt.datetime) -> int:
    """The recorded duration, or for an ongoing episode the time from its start to ``now``."""
    if ep.duration_s is not None:
        return ep.duration_s
    _require_aware(now, "now")
    return max(0, math.floor((now - ep.started_at).total_seconds()))


def episode_findings(ep: EpisodeFacts, t: Thresholds, now: dt.datetime) -> list[Finding]:
    """The per-episode red flags of one episode, most severe first; one finding per rule."""
    _require_aware(ep.started_at, "started_at")
    out: list[Finding] = []
    for rule, codes in SYMPTOM_RULES.items():
        present = sorted(c for c in codes if c in ep.symptoms)
        if not present:
            continue
        evidence = f"symptom {', '.join(present)} reported"
        if rule == "breathing_difficulty":
            evidence += f" with a {ep.kind} ({ep.body_location})"
        numbers: dict[str, object] = {"symptoms": present, "kind": ep.kind, "body_location": ep.body_location}
        out.append(_finding(rule, SEVERITIES[rule][-1], evidence, numbers, ep.uid))

    if ep.pain >= t.severe_pain:
        out.append(_finding("severe_pain", HIGH, f"pain {ep.pain} >= {t.severe_pain}", _pain(ep, t), ep.uid))

    seconds = episode_duration_s(ep, now)
    if seconds >= t.long_high_min * 60:
        out.append(_long(ep, seconds, t.long_high_min, HIGH))
    elif seconds >= t.long_watch_min * 60:
        out.append(_long(ep, seconds, t.long_watch_min, WATCH))

    out.sort(key=lambda f: -SEVERITY_RANK[f.severity])  # stable: rule order within a severity
    return out


def _pain(ep: EpisodeFacts, t: Thresholds) -> dict[str, object]:
    return {"pain": ep.pain, "threshold": t.severe_pain}


def _long(ep: EpisodeFacts, seconds: int, threshold_min: int, severity: str) -> Finding:
    ongoing = ep.duration_s is None
    label = "ongoing for" if ongoing else "duration"
    evidence = f"{label} {format_duration(seconds)} >= {format_minutes(threshold_min)}"
    numbers: dict[str, object] = {"duration_s": seconds, "threshold_min": threshold_min, "ongoing": ongoing}
    return _finding("long_episode", severity, evidence, numbers, ep.uid)


# --------------------------------------------------------------------------------------------------
# Window rules


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _require_aware(value: dt.datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {value!r}")


def local_day(ep: EpisodeFacts) -> dt.date:
    """The episode's day in the zone it happened in."""
    _require_aware(ep.started_at, "started_at")
    return ep.started_at.astimezone(_zone(ep.tz)).date()


def binomial_upper_tail(successes: int, trials: int) -> float:
    """P(X >= successes) for X ~ Binomial(trials, 1/2): the one-sided exact test of a rise."""
    if successes <= 0:
        return 1.0
    if successes > trials:
        return 0.0
    return sum(math.comb(trials, k) for k in range(successes, trials + 1)) / 2**trials


def _days(today: dt.date, n: int, ago: int = 0) -> list[dt.date]:
    """The ``n`` local days ending ``ago`` days before ``today``, oldest first."""
    end = today - dt.timedelta(days=ago)
    return [end - dt.timedelta(days=i) for i in range(n - 1, -1, -1)]


class _Window:
    """Per-day counts of the episodes, so each rule reads days instead of episodes."""

    def __init__(self, episodes: Sequence[EpisodeFacts], t: Thresholds, today: dt.date) -> None:
        self.t = t
        self.today = today
        self.per_day: Counter[dt.date] = Counter()
        self.painful: Counter[dt.date] = Counter()
        self.lingering: Counter[dt.date] = Counter()
        self.twitch_regions: dict[dt.date, set[str]] = {}
        for ep in episodes:
            day = local_day(ep)
            if day > today:  # logged ahead of the person's today: not yet
                continue
            self.per_day[day] += 1
            if ep.pain >= t.persistent_pain:
                self.painful[day] += 1
            if "lingering_pain" in ep.symptoms:
                self.lingering[day] += 1
            region = BODY_REGIONS.get(ep.body_location)
            if ep.kind == "twitch" and region is not None:
                self.twitch_regions.setdefault(day, set()).add(region)
        self.first_day = min(self.per_day, default=today)

    def count(self, counter: Counter[dt.date], days: Iterable[dt.date]) -> int:
        return sum(counter[d] for d in days)

    def frequent(self, as_of: dt.date) -> tuple[int, int]:
        """(episodes, days with an episode) in the 7 days ending ``as_of``."""
        days = _days(as_of, WEEK_DAYS)
        return self.count(self.per_day, days), sum(1 for d in days if self.per_day[d])

    def frequent_holds(self, as_of: dt.date) -> bool:
        episodes, days = self.frequent(as_of)
        return episodes >= self.t.frequent_count or days >= self.t.frequent_days

    def streak(self) -> int:
        """How many consecutive days, ending today, ``frequent`` held on.

        Only days whose 7-day window lies inside ``history_start`` count, so the answer depends on the
        episodes the caller must load and on nothing older (it is at least ``persistent_days`` long).
        """
        earliest = max(history_start(self.t, self.today) + dt.timedelta(days=WEEK_DAYS - 1), self.first_day)
        n = 0
        day = self.today
        while day >= earliest and self.frequent_holds(day):
            n += 1
            day -= dt.timedelta(days=1)
        return n


def window_findings(
    episodes: Sequence[EpisodeFacts], checkins: Sequence[CheckinFacts], t: Thresholds, today: dt.date
) -> list[Finding]:
    """The window red flags as of the person's local ``today``; at most one finding per rule.

    Pass every episode from ``history_start(t, today)`` on (extra ones are ignored by day).
    """
    w = _Window(episodes, t, today)
    found = [
        _persistent_pain(w),
        _frequent(w),
        _persistent(w),
        _fluid_changes(checkins, t, today),
        _widespread_twitching(w),
    ]
    return [f for f in found if f is not None]


def _persistent_pain(w: _Window) -> Finding | None:
    t = w.t
    week = _days(w.today, WEEK_DAYS)
    painful = w.count(w.painful, week)
    lingering = w.count(w.lingering, week)
    reasons = []
    if painful >= t.persistent_pain_count:
        reasons.append(f"{painful} episodes with pain >= {t.persistent_pain} in 7 days >= {t.persistent_pain_count}")
    if lingering >= t.lingering_pain_count:
        reasons.append(f"lingering pain after {lingering} episodes in 7 days >= {t.lingering_pain_count}")
    if not reasons:
        return None
    numbers: dict[str, object] = {
        "painful_episodes": painful,
        "pain_threshold": t.persistent_pain,
        "painful_count_threshold": t.persistent_pain_count,
        "lingering_episodes": lingering,
        "lingering_count_threshold": t.lingering_pain_count,
        "window_days": WEEK_DAYS,
    }
    return _finding("persistent_pain", HIGH, "; ".join(reasons), numbers)


def _frequent(w: _Window) -> Finding | None:
    t = w.t
    episodes, days = w.frequent(w.today)
    reasons = []
    if episodes >= t.frequent_count:
        reasons.append(f"{episodes} episodes in 7 days >= {t.frequent_count}")
    if days >= t.frequent_days:
        reasons.append(f"episodes on {days} of the last 7 days >= {t.frequent_days}")
    if not reasons:
        return None
    numbers: dict[str, object] = {
        "episodes": episodes,
        "count_threshold": t.frequent_count,
        "days_with_episodes": days,
        "days_threshold": t.frequent_days,
        "window_days": WEEK_DAYS,
    }
    return _finding("frequent", WATCH, "; ".join(reasons), numbers)


def trend_counts(w: _Window) -> tuple[int, int]:
    """(earlier, recent): episodes in the 14 days before the last 14, and in the last 14 (today included)."""
    recent = w.count(w.per_day, _days(w.today, TREND_HALF_DAYS))
    earlier = w.count(w.per_day, _days(w.today, TREND_HALF_DAYS, ago=TREND_HALF_DAYS))
    return earlier, recent


def _persistent(w: _Window) -> Finding | None:
    t = w.t
    streak = w.streak()
    earlier, recent = trend_counts(w)
    p = binomial_upper_tail(recent, earlier + recent)
    reasons = []
    if streak >= t.persistent_days:
        reasons.append(f"frequent on each of the last {streak} days >= {t.persistent_days}")
    rising = recent > earlier and p < TREND_ALPHA
    if rising:
        reasons.append(
            f"rising: {recent} episodes in the last 14 days vs {earlier} in the 14 days before "
            f"(one-sided binomial p = {p:.4f} < {TREND_ALPHA})"
        )
    if not reasons:
        return None
    numbers: dict[str, object] = {
        "frequent_streak_days": streak,
        "days_threshold": t.persistent_days,
        "recent_episodes": recent,
        "earlier_episodes": earlier,
        "p_value": p,
        "alpha": TREND_ALPHA,
        "rising": rising,
    }
    return _finding("persistent", HIGH, "; ".join(reasons), numbers)


def _fluid_changes(checkins: Sequence[CheckinFacts], t: Thresholds, today: dt.date) -> Finding | None:
    week = set(_days(today, WEEK_DAYS))
    days = len({c.day for c in checkins if c.fluid_changes is True and c.day in week})
    if days < t.fluid_days:
        return None
    numbers: dict[str, object] = {"days": days, "threshold": t.fluid_days, "window_days": WEEK_DAYS}
    return _finding("fluid_changes", WATCH, f"fluid changes on {days} of the last 7 days >= {t.fluid_days}", numbers)


def _widespread_twitching(w: _Window) -> Finding | None:
    t = w.t
    regions: set[str] = set()
    for day in _days(w.today, TWITCH_WINDOW_DAYS):
        regions |= w.twitch_regions.get(day, set())
    if len(regions) < t.twitch_regions:
        return None
    names = sorted(regions)
    evidence = f"twitching in {len(names)} body regions in 14 days >= {t.twitch_regions} ({', '.join(names)})"
    numbers: dict[str, object] = {
        "regions": names,
        "count": len(names),
        "threshold": t.twitch_regions,
        "window_days": TWITCH_WINDOW_DAYS,
    }
    return _finding("appearance_change", WATCH, evidence, numbers)
