"""Red-flag evaluation (DOMAIN.md section 4) as pure functions: no Django, no database, no clock.

The Django side (``services``) turns rows into ``EpisodeFacts``/``CheckinFacts``, picks the thresholds
with ``catalogue.most_sensitive`` and stores each ``Finding`` as an alert. Everything here is
deterministic in its arguments, so the acceptance tests pin every threshold at, just below and just
above its value. The rules and their numbers are in ``catalogue``, their words in ``texts``.

Days are local days: an episode's day is ``started_at`` in the episode's own ``tz`` (``local_day``); a
check-in's is its date. "In 7 days" means the 7 local days ending with ``today`` inclusive
(``today - 6 .. today``); 14 and 28 days likewise. ``history_start`` says how far back the caller must
load episodes: a rule that needs a longer history (a trend) must widen it there. Which days are
"today" for a person (``days.window_todays``) and when a diary covers a trend's earlier period
(``diary_covers``) are defined below and in ``days``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from diary.alerts import texts
from diary.alerts.catalogue import HIGH, RULES, SEVERITIES, SEVERITY_RANK, SYMPTOM_RULES, WATCH, Thresholds
from diary.core import words
from diary.vocab import BODY_REGIONS

WEEK_DAYS: Final = 7  # frequent, persistent_pain, fluid_changes
TWITCH_WINDOW_DAYS: Final = 14  # appearance_change (widespread twitching)
TREND_HALF_DAYS: Final = 14  # persistent trend: last 14 days vs the 14 before (28 days in all)
TREND_ALPHA: Final = 0.05  # one-sided exact binomial test


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
    side: str | None = None  # left | right | both | midline: only for the words of the evidence


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


def _finding(
    rule: str, severity: str, evidence: str, numbers: dict[str, object], episode_uid: str | None = None
) -> Finding:
    return Finding(
        rule=rule,
        severity=severity,
        title=words.word("rule", rule),
        guidance=texts.GUIDANCE[rule],
        evidence=evidence,
        numbers=numbers,
        episode_uid=episode_uid,
    )


# --------------------------------------------------------------------------------------------------
# Time: instants, local days, windows


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


def episode_duration_s(ep: EpisodeFacts, now: dt.datetime) -> int:
    """The recorded duration, or for an ongoing episode the time from its start to ``now``."""
    if ep.duration_s is not None:
        return ep.duration_s
    _require_aware(now, "now")
    return max(0, math.floor((now - ep.started_at).total_seconds()))


def history_start(t: Thresholds, today: dt.date) -> dt.date:
    """The first local day ``window_findings`` looks at: load episodes from (a day before) here.

    The trend needs 28 days; "frequent held for N days" needs N days each looking 7 days back.
    """
    span = max(2 * TREND_HALF_DAYS, t.persistent_days + WEEK_DAYS - 1, TWITCH_WINDOW_DAYS)
    return today - dt.timedelta(days=span - 1)


def _days(today: dt.date, n: int, ago: int = 0) -> list[dt.date]:
    """The ``n`` local days ending ``ago`` days before ``today``, oldest first."""
    end = today - dt.timedelta(days=ago)
    return [end - dt.timedelta(days=i) for i in range(n - 1, -1, -1)]


# --------------------------------------------------------------------------------------------------
# Per-episode rules


def episode_findings(ep: EpisodeFacts, t: Thresholds, now: dt.datetime) -> list[Finding]:
    """The per-episode red flags of one episode, most severe first; one finding per rule."""
    _require_aware(ep.started_at, "started_at")
    out: list[Finding] = []
    for rule, codes in SYMPTOM_RULES.items():
        present = sorted(c for c in codes if c in ep.symptoms)
        if not present:
            continue
        evidence = texts.symptoms_reported(rule, present, ep.kind, ep.body_location, ep.side)
        numbers: dict[str, object] = {"symptoms": present, "kind": ep.kind, "body_location": ep.body_location}
        out.append(_finding(rule, SEVERITIES[rule][-1], evidence, numbers, ep.uid))

    if ep.pain >= t.severe_pain:
        numbers = {"pain": ep.pain, "threshold": t.severe_pain}
        out.append(_finding("severe_pain", HIGH, texts.severe_pain(ep.pain, t.severe_pain), numbers, ep.uid))

    seconds = episode_duration_s(ep, now)
    if seconds >= t.long_high_min * 60:
        out.append(_long(ep, seconds, t.long_high_min, HIGH))
    elif seconds >= t.long_watch_min * 60:
        out.append(_long(ep, seconds, t.long_watch_min, WATCH))

    out.sort(key=lambda f: -SEVERITY_RANK[f.severity])  # stable: rule order within a severity
    return out


def _long(ep: EpisodeFacts, seconds: int, threshold_min: int, severity: str) -> Finding:
    ongoing = ep.duration_s is None
    evidence = texts.long_episode(seconds, threshold_min, ongoing=ongoing)
    numbers: dict[str, object] = {"duration_s": seconds, "threshold_min": threshold_min, "ongoing": ongoing}
    return _finding("long_episode", severity, evidence, numbers, ep.uid)


# --------------------------------------------------------------------------------------------------
# Window rules


class _Window:
    """Per-day counts of the episodes, so each rule reads days instead of episodes."""

    def __init__(
        self, episodes: Sequence[EpisodeFacts], t: Thresholds, today: dt.date, diary_start: dt.date | None
    ) -> None:
        self.t = t
        self.today = today
        self.diary_start = diary_start
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
        Nor does a day before the diary began (its first episode, or ``diary_start`` if later): "held
        for 14 days" means 14 days of real diary, never days before the person kept one.
        """
        earliest = max(history_start(self.t, self.today) + dt.timedelta(days=WEEK_DAYS - 1), self.first_day)
        if self.diary_start is not None:
            earliest = max(earliest, self.diary_start)
        n = 0
        day = self.today
        while day >= earliest and self.frequent_holds(day):
            n += 1
            day -= dt.timedelta(days=1)
        return n


def window_findings(
    episodes: Sequence[EpisodeFacts],
    checkins: Sequence[CheckinFacts],
    t: Thresholds,
    today: dt.date,
    *,
    diary_start: dt.date | None,
) -> list[Finding]:
    """The window red flags as of the local ``today``; at most one finding per rule.

    Pass every episode from ``history_start(t, today)`` on (extra ones are ignored by day), and
    ``diary_start``: the first local day of the person's diary, or any day on or before every day
    ``diary_covers`` is asked about (None: an empty diary). It has no default on purpose: a caller
    that forgot it must not get a trend alarm on a diary that does not reach back.
    """
    w = _Window(episodes, t, today, diary_start)
    found = [
        _persistent_pain(w),
        _frequent(w),
        _persistent(w),
        _fluid_changes(checkins, t, today),
        _widespread_twitching(w),
    ]
    return [f for f in found if f is not None]


def window_findings_as_of(
    episodes: Sequence[EpisodeFacts],
    checkins: Sequence[CheckinFacts],
    t: Thresholds,
    todays: Iterable[dt.date],
    *,
    diary_start: dt.date | None,
) -> list[Finding]:
    """The window red flags judged as of each of ``todays`` (``days.window_todays``): a rule fires if
    it holds as of any of them, and its finding is the one as of the latest such day. Load episodes
    from ``history_start`` of the earliest day."""
    chosen: dict[str, Finding] = {}
    for today in sorted(set(todays), reverse=True):
        for f in window_findings(episodes, checkins, t, today, diary_start=diary_start):
            chosen.setdefault(f.rule, f)
    return sorted(chosen.values(), key=lambda f: RULES.index(f.rule))


def _persistent_pain(w: _Window) -> Finding | None:
    t = w.t
    week = _days(w.today, WEEK_DAYS)
    painful = w.count(w.painful, week)
    lingering = w.count(w.lingering, week)
    reasons = []
    if painful >= t.persistent_pain_count:
        reasons.append(texts.painful_episodes(painful, t.persistent_pain, t.persistent_pain_count, WEEK_DAYS, w.today))
    if lingering >= t.lingering_pain_count:
        reasons.append(texts.lingering_pain(lingering, t.lingering_pain_count, WEEK_DAYS, w.today))
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
    return _finding("persistent_pain", HIGH, texts.because(reasons), numbers)


def _frequent(w: _Window) -> Finding | None:
    t = w.t
    episodes, days = w.frequent(w.today)
    reasons = []
    if episodes >= t.frequent_count:
        reasons.append(texts.frequent_episodes(episodes, t.frequent_count, WEEK_DAYS, w.today))
    if days >= t.frequent_days:
        reasons.append(texts.frequent_days(days, t.frequent_days, WEEK_DAYS, w.today))
    if not reasons:
        return None
    numbers: dict[str, object] = {
        "episodes": episodes,
        "count_threshold": t.frequent_count,
        "days_with_episodes": days,
        "days_threshold": t.frequent_days,
        "window_days": WEEK_DAYS,
    }
    return _finding("frequent", WATCH, texts.because(reasons), numbers)


# The trend: "a significant rising trend over 28 days" (DOMAIN.md ``persistent``).


def trend_earlier_start(today: dt.date) -> dt.date:
    """The first local day of the trend's earlier period: 27 days before ``today``."""
    return today - dt.timedelta(days=2 * TREND_HALF_DAYS - 1)


def diary_covers(diary_start: dt.date | None, day: dt.date) -> bool:
    """Whether the person's diary covers ``day``: their first entry (an episode, by its own local day,
    or a check-in, by its date; live ones only) is on or before it.

    A trend compares the last 14 days with the 14 before; "0 before" means something only if the
    person was keeping the diary then. What counts as keeping it:

    - An entry on or before the earlier period's first day: yes, even if the account is younger (an
      episode imported through sync carries its own ``started_at``; the diary is the entries, not
      the account). A check-in counts: a person checking in daily and logging no episode has shown
      a real zero.
    - An account created long ago with no entry until recently: no. Registration is not diary
      keeping; the 0 before is "not logging yet", not "no contractions", and "5 after 0" would be
      exactly the false "see a specialist" alarm of issue 14. Account age is therefore neither
      needed nor enough.
    - Gaps after the first entry count as real zeros: a person who has been logging is trusted
      to log.

    Uncovered, the trend stays quiet. Nothing urgent is lost by that: every per-episode rule, and
    ``frequent`` and the "held 14 days" branch of ``persistent`` (which needs 14 days of real diary,
    see ``_Window.streak``), still judge the new person's entries.
    """
    return diary_start is not None and diary_start <= day


def binomial_upper_tail(successes: int, trials: int) -> float:
    """P(X >= successes) for X ~ Binomial(trials, 1/2): the one-sided exact test of a rise."""
    if successes <= 0:
        return 1.0
    if successes > trials:
        return 0.0
    return sum(math.comb(trials, k) for k in range(successes, trials + 1)) / 2**trials


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
    covered = diary_covers(w.diary_start, trend_earlier_start(w.today))
    reasons = []
    if streak >= t.persistent_days:
        reasons.append(texts.frequent_streak(streak, t.persistent_days, w.today))
    rising = covered and recent > earlier and p < TREND_ALPHA
    if rising:
        reasons.append(texts.rising_trend(recent, earlier, TREND_HALF_DAYS, p, TREND_ALPHA, w.today))
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
        "trend_covered": covered,
    }
    return _finding("persistent", HIGH, texts.because(reasons), numbers)


def _fluid_changes(checkins: Sequence[CheckinFacts], t: Thresholds, today: dt.date) -> Finding | None:
    week = set(_days(today, WEEK_DAYS))
    days = len({c.day for c in checkins if c.fluid_changes is True and c.day in week})
    if days < t.fluid_days:
        return None
    numbers: dict[str, object] = {"days": days, "threshold": t.fluid_days, "window_days": WEEK_DAYS}
    return _finding("fluid_changes", WATCH, texts.fluid_changes(days, t.fluid_days, WEEK_DAYS, today), numbers)


def _widespread_twitching(w: _Window) -> Finding | None:
    t = w.t
    regions: set[str] = set()
    for day in _days(w.today, TWITCH_WINDOW_DAYS):
        regions |= w.twitch_regions.get(day, set())
    if len(regions) < t.twitch_regions:
        return None
    names = sorted(regions)
    numbers: dict[str, object] = {
        "regions": names,
        "count": len(names),
        "threshold": t.twitch_regions,
        "window_days": TWITCH_WINDOW_DAYS,
    }
    evidence = texts.widespread_twitching(names, t.twitch_regions, TWITCH_WINDOW_DAYS, w.today)
    return _finding("appearance_change", WATCH, evidence, numbers)
