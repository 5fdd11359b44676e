"""Acceptance tests of the reminder schedule maths (``reminders.schedule``; pure, no database).

Everything is checked against an oracle written here from the module docstring alone, sharing no
code with the module: a zone is read only forwards (UTC instant -> local wall clock, which is never
ambiguous) into a timeline of constant-offset segments, and a wanted local date-time W fires at

    the first UTC instant whose local wall clock reads >= W.

That one definition gives an existing time, the first occurrence of a doubled time (clocks go
back) and the moment of the jump over a skipped time (clocks go forward). Weekdays, quiet hours
and windows are applied to the wanted wall-clock times as the docstring says, and instants that
coincide are counted once. The oracle itself is checked against a plain minute-by-minute scan.

Covered: a simulated year (2026, plus historical years with DST that no longer happens) for 28
zones and 5 rules; a fire every 15 minutes through the 24 hours around every transition of those
zones; a person who travels (8 stays in 7 zones); hypothesis over random rules x every IANA zone x
2000-2037; hand-picked DST and midnight cases; the constructor and argument checks.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reminders.schedule import Schedule, in_quiet_hours, next_fire


def fires_between(schedule: Schedule, start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> Iterator[dt.datetime]:
    """Every fire instant in ``(start, end]``, in order: ``next_fire`` chained, as the dispatcher
    chains it one firing at a time."""
    current = next_fire(schedule, start, zone)
    while current is not None and current <= end:
        yield current
        current = next_fire(schedule, current, zone)


UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1)
DAY = dt.timedelta(days=1)
HOUR_S = 3600


def T(hhmm: str) -> dt.time:
    return dt.time.fromisoformat(hhmm)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _seconds(moment: dt.datetime) -> int:
    """Seconds since the epoch: of an aware instant, or of a naive wall-clock reading."""
    if moment.tzinfo is None:
        return int((moment - EPOCH).total_seconds())
    return int((moment - dt.datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())


def _instant(second: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=second)


def _offset(zone: ZoneInfo, second: int) -> int:
    """The zone's UTC offset at a UTC instant (the forward direction only)."""
    offset = _instant(second).astimezone(zone).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


# --- the oracle -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeline:
    """A zone's UTC offsets over ``[lo, hi)`` (epoch seconds): segment i starts at ``starts[i]``
    and has offset ``offsets[i]`` until the next segment starts."""

    lo: int
    hi: int
    starts: tuple[int, ...]
    offsets: tuple[int, ...]

    def segments(self) -> Iterable[tuple[int, int, int]]:
        ends = (*self.starts[1:], self.hi)
        return zip(self.starts, ends, self.offsets, strict=True)

    @property
    def transitions(self) -> tuple[int, ...]:
        return self.starts[1:]

    def wall(self, second: int) -> dt.datetime:
        """The local wall clock at a UTC instant."""
        assert self.lo <= second < self.hi
        i = bisect.bisect_right(self.starts, second) - 1
        return EPOCH + dt.timedelta(seconds=second + self.offsets[i])

    def resolve(self, wanted: dt.datetime) -> int:
        """The first instant whose wall clock reads >= ``wanted`` (naive local date-time)."""
        w = _seconds(wanted)
        assert self.starts[0] + self.offsets[0] < w, "timeline starts too late for this wall time"
        for start, end, offset in self.segments():
            if start + offset >= w:
                return start  # the clocks jumped over ``wanted``: the moment of the jump
            if w < end + offset:
                return w - offset  # read in this segment, for the first time
        raise AssertionError("timeline ends too early for this wall time")

    def latest_wall_before(self, second: int) -> dt.datetime:
        """The latest wall-clock reading of any instant in ``[lo, second)``."""
        latest = max(min(end, second) - 1 + offset for start, end, offset in self.segments() if start < second)
        return EPOCH + dt.timedelta(seconds=latest)


@functools.lru_cache(maxsize=4096)
def timeline(zone_name: str, first: dt.date, last: dt.date) -> Timeline:
    """The zone read every 15 minutes from ``first`` to ``last`` (UTC midnights), each change of
    offset bisected to the second."""
    zone = ZoneInfo(zone_name)
    lo = _seconds(dt.datetime.combine(first, dt.time()))
    hi = _seconds(dt.datetime.combine(last, dt.time()))
    starts, offsets = [lo], [_offset(zone, lo)]
    for t in range(lo, hi, 900):
        nxt = min(t + 900, hi - 1)
        changed = _offset(zone, nxt)
        if changed != offsets[-1]:
            a, b = t, nxt  # offset at a is the old one, at b the new one
            while b - a > 1:
                mid = (a + b) // 2
                a, b = (mid, b) if _offset(zone, mid) == offsets[-1] else (a, mid)
            starts.append(b)
            offsets.append(changed)
    return Timeline(lo, hi, tuple(starts), tuple(offsets))


def _quiet(clock: dt.time, rule: Schedule) -> bool:
    """``[quiet_start, quiet_end)``, possibly across midnight; equal ends mean no quiet hours."""
    qs, qe = rule.quiet_start, rule.quiet_end
    if qs is None or qe is None or qs == qe:
        return False
    if qs < qe:
        return qs <= clock < qe
    return clock >= qs or clock < qe


def wanted_walls(rule: Schedule, day: dt.date) -> list[dt.datetime]:
    """The local wall-clock date-times the rule names for the local day ``day``."""
    if rule.weekdays and day.weekday() not in rule.weekdays:
        return []
    if rule.kind == "times":
        walls = [dt.datetime.combine(day, clock) for clock in rule.times]
    else:
        assert rule.kind == "interval"
        assert rule.window_start is not None and rule.window_end is not None and rule.interval_min
        wall = dt.datetime.combine(day, rule.window_start)
        end = dt.datetime.combine(day, rule.window_end)
        if rule.window_end < rule.window_start:
            end += DAY  # runs past midnight, still belongs to ``day``
        walls = []
        while wall <= end:
            walls.append(wall)
            wall += dt.timedelta(minutes=rule.interval_min)
    return [wall for wall in walls if not _quiet(wall.time(), rule)]


def oracle(
    rule: Schedule, zone_name: str, lo: dt.datetime, hi: dt.datetime, line: Timeline | None = None
) -> dict[dt.datetime, list[dt.datetime]]:
    """Every fire in ``(lo, hi]``, in order, each with the wanted wall-clock times it serves."""
    first_day = lo.astimezone(UTC).date() - 2 * DAY
    last_day = hi.astimezone(UTC).date() + DAY
    line = line or timeline(zone_name, first_day - DAY, last_day + 3 * DAY)
    fires: dict[dt.datetime, list[dt.datetime]] = {}
    day = first_day
    while day <= last_day:
        for wall in wanted_walls(rule, day):
            instant = _instant(line.resolve(wall))
            if lo < instant <= hi:
                fires.setdefault(instant, []).append(wall)
        day += DAY
    return dict(sorted(fires.items()))


def assert_at_wanted_time(line: Timeline, instant: dt.datetime, wanted: dt.datetime) -> None:
    """``instant`` is where ``wanted`` happens: the first time the wall clock reads it, or, when
    the clocks jump over it, the moment of the jump."""
    second = _seconds(instant)
    seen = line.wall(second)
    if seen == wanted:
        assert line.latest_wall_before(second) < wanted, f"{instant} is not the first {wanted}"
    else:
        assert second in line.transitions, f"{instant} reads {seen}, wanted {wanted}"
        assert line.wall(second - 1) < wanted < seen, f"{instant} is not the jump over {wanted}"


def year_line(zone_name: str, year: int) -> Timeline:
    """The zone's timeline of a whole year, with room for the oracle on either side."""
    return timeline(zone_name, dt.date(year - 1, 12, 20), dt.date(year + 1, 1, 12))


def walk(rule: Schedule, start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> list[dt.datetime]:
    """Chain ``next_fire`` from ``start`` as the dispatcher does, up to and including ``end``."""
    fires: list[dt.datetime] = []
    current = start
    while (nxt := next_fire(rule, current, zone)) is not None and nxt <= end:
        assert nxt > current, f"next_fire({current}) went back to {nxt}"
        fires.append(nxt)
        current = nxt
    return fires


# --- the oracle against a plain minute-by-minute scan -------------------------------------------


def minute_scan(zone: ZoneInfo, around: int, wanted: Iterable[dt.datetime]) -> dict[dt.datetime, int]:
    """For each wanted wall time near ``around``: the first whole UTC minute whose wall clock
    reads >= it, by reading every minute of the 60 hours around (transitions fall on minutes)."""
    minutes = range(around - 30 * HOUR_S, around + 30 * HOUR_S, 60)
    highest = list(itertools.accumulate((_instant(m).astimezone(zone).replace(tzinfo=None) for m in minutes), max))
    out = {}
    for wall in wanted:
        i = bisect.bisect_left(highest, wall)
        assert 0 < i < len(minutes)
        out[wall] = minutes[i]
    return out


ORACLE_CASES = [
    ("Europe/Berlin", 2026),
    ("America/New_York", 2026),
    ("Australia/Lord_Howe", 2026),
    ("Pacific/Chatham", 2026),
    ("America/Nuuk", 2026),
    ("Asia/Beirut", 2026),
    ("Africa/Casablanca", 2026),
    ("Antarctica/Troll", 2026),
    ("Europe/Dublin", 2026),
    ("Pacific/Apia", 2011),
    ("America/Sao_Paulo", 2018),
]


@pytest.mark.parametrize(("zone_name", "year"), ORACLE_CASES)
def test_oracle_agrees_with_a_minute_scan(zone_name: str, year: int) -> None:
    line = year_line(zone_name, year)
    assert len(line.transitions) >= 1
    zone = ZoneInfo(zone_name)
    for change in line.transitions:
        # the instant read both ways agrees with zoneinfo's forward reading
        assert line.wall(change) == _instant(change).astimezone(zone).replace(tzinfo=None)
        assert line.wall(change - 1) == _instant(change - 1).astimezone(zone).replace(tzinfo=None)
        middle = line.wall(change)
        walls = [middle + dt.timedelta(minutes=m) for m in range(-8 * 60, 8 * 60)]
        for wall, first_minute in minute_scan(zone, change, walls).items():
            assert line.resolve(wall) == first_minute, wall


def test_oracle_timeline_of_a_zone_without_dst() -> None:
    line = timeline("Asia/Kathmandu", dt.date(2026, 1, 1), dt.date(2027, 1, 1))
    assert line.transitions == ()
    assert line.offsets == (5 * HOUR_S + 45 * 60,)


# --- a simulated year -----------------------------------------------------------------------------

YEAR_ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Dublin",  # negative DST in tzdata's main form
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",  # -03:30 with DST
    "America/Havana",  # DST at midnight
    "America/Nuuk",  # jumps from 23:00 to the next day's 00:00
    "America/Santiago",  # southern DST, falls back at 24:00
    "America/Sao_Paulo",  # no DST any more (see the 2018 case below)
    "Australia/Sydney",
    "Australia/Adelaide",  # +09:30 with DST
    "Australia/Lord_Howe",  # 30-minute DST
    "Pacific/Auckland",
    "Pacific/Chatham",  # +12:45 / +13:45, transitions at 02:45 and 03:45
    "Pacific/Apia",  # +13, no DST now (see the 2011 case below)
    "Pacific/Kiritimati",  # +14
    "Pacific/Marquesas",  # -09:30
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "Asia/Tehran",  # +03:30 (DST until 2022, see below)
    "Asia/Tokyo",
    "Asia/Beirut",  # transitions at midnight, falls back into the previous day
    "Asia/Gaza",
    "Africa/Cairo",  # springs forward at 00:00, falls back at 24:00
    "Africa/Casablanca",  # clocks go back for Ramadan
    "Antarctica/Troll",  # a two-hour DST
]
YEAR_CASES = [(zone, 2026) for zone in YEAR_ZONES] + [
    ("America/Sao_Paulo", 2018),  # southern DST starting at midnight
    ("Pacific/Apia", 2011),  # skipped 30 December 2011 altogether
    ("Asia/Tehran", 2021),  # DST at midnight
]

YEAR_RULES = {
    "every 2 h 07:00-22:30": Schedule("interval", interval_min=120, window_start=T("07:00"), window_end=T("22:30")),
    "times around DST and midnight": Schedule(
        "times",
        times=tuple(map(T, ("00:00", "01:30", "02:30", "03:00", "12:00", "23:30", "23:59"))),
    ),
    # every DST change of these zones happens on a Thursday, Friday or Saturday night at 23:00-03:45
    "every 20 min 23:00-03:40, Thu-Sat nights": Schedule(
        "interval", interval_min=20, window_start=T("23:00"), window_end=T("03:40"), weekdays=frozenset({3, 4, 5})
    ),
    "every 30 min 22:00-02:00, quiet 23:10-00:40, Mon/Wed/Fri/Sat": Schedule(
        "interval",
        interval_min=30,
        window_start=T("22:00"),
        window_end=T("02:00"),
        weekdays=frozenset({0, 2, 4, 5}),
        quiet_start=T("23:10"),
        quiet_end=T("00:40"),
    ),
    "times on Tue/Sun, quiet 21:00-06:00": Schedule(
        "times",
        times=(T("05:45"), T("06:00"), T("09:15"), T("20:59"), T("21:00")),
        weekdays=frozenset({1, 6}),
        quiet_start=T("21:00"),
        quiet_end=T("06:00"),
    ),
}


def assert_same_fires(
    got: list[dt.datetime], expected: dict[dt.datetime, list[dt.datetime]], line: Timeline, label: str
) -> None:
    assert len(set(got)) == len(got), f"{label}: duplicate fires"
    missed = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    assert not missed and not extra, f"{label}: missed {missed[:5]}, extra {extra[:5]}"
    assert got == list(expected), f"{label}: out of order"
    for instant in got:
        assert instant.utcoffset() == dt.timedelta(0)
        for wall in expected[instant]:
            assert_at_wanted_time(line, instant, wall)


@pytest.mark.slow
@pytest.mark.parametrize(("zone_name", "year"), YEAR_CASES)
def test_a_year_of_fires_has_no_duplicate_no_miss_and_the_right_local_times(zone_name: str, year: int) -> None:
    start, end = utc(year, 1, 1), utc(year + 1, 1, 1)
    zone = ZoneInfo(zone_name)
    line = year_line(zone_name, year)
    for label, rule in YEAR_RULES.items():
        expected = oracle(rule, zone_name, start, end, line)
        assert expected, label
        assert_same_fires(walk(rule, start, end, zone), expected, line, f"{zone_name} {year} {label}")


QUARTER_HOURS = Schedule("interval", interval_min=15, window_start=T("00:00"), window_end=T("23:59"))
TRANSITION_CASES = [
    pytest.param(zone, year, change, id=f"{zone}-{_instant(change):%Y-%m-%dT%H:%MZ}")
    for zone, year in YEAR_CASES
    for change in year_line(zone, year).transitions
    if utc(year, 1, 1) <= _instant(change) < utc(year + 1, 1, 1)
]


@pytest.mark.parametrize(("zone_name", "year", "change"), TRANSITION_CASES)
def test_every_quarter_hour_of_the_day_around_each_transition(zone_name: str, year: int, change: int) -> None:
    """A fire every 15 minutes of wall-clock time through the 24 hours around each change of
    offset: skipped times fire once at the jump, doubled ones once at their first occurrence."""
    start, end = _instant(change) - dt.timedelta(hours=12), _instant(change) + dt.timedelta(hours=12)
    line = year_line(zone_name, year)
    expected = oracle(QUARTER_HOURS, zone_name, start, end, line)
    assert_same_fires(walk(QUARTER_HOURS, start, end, ZoneInfo(zone_name)), expected, line, zone_name)


def test_transition_cases_cover_both_hemispheres_and_odd_shifts() -> None:
    zones = {case.values[0] for case in TRANSITION_CASES}
    assert {"Europe/Berlin", "Australia/Sydney", "America/Santiago", "Australia/Lord_Howe", "Pacific/Chatham"} <= zones
    assert len(YEAR_CASES) >= 20


# --- a person who travels -------------------------------------------------------------------------

# (from, zone in force from then on). Changes land inside DST nights: arriving in New York half an
# hour before its clocks jump, in Sydney in the second pass of its doubled hour, in Berlin in the
# first pass of its doubled hour; leaving Lord Howe just before its jump.
ITINERARY = [
    (utc(2026, 1, 1), "Europe/Berlin"),
    (utc(2026, 3, 8, 6, 30), "America/New_York"),  # 01:30 EST; 02:00 is skipped at 07:00Z
    (utc(2026, 4, 4, 16, 30), "Australia/Sydney"),  # 02:30 AEST, the second 02:30 of the night
    (utc(2026, 6, 20, 9, 10), "Asia/Kolkata"),
    (utc(2026, 9, 1, 0, 0), "Australia/Lord_Howe"),
    (utc(2026, 10, 3, 15, 20), "America/St_Johns"),  # leaves Lord Howe at 01:50, 10 minutes before its jump
    (utc(2026, 10, 25, 0, 30), "Europe/Berlin"),  # 02:30 CEST, the first 02:30 of the night
    (utc(2026, 12, 24, 13, 0), "Pacific/Chatham"),
]
TRAVEL_END = utc(2027, 1, 1)


def travel(rule: Schedule) -> list[dt.datetime]:
    """The dispatcher's view: at each change of zone the next fire is recomputed in the new zone."""
    fires: list[dt.datetime] = []
    changes = [*ITINERARY[1:], (TRAVEL_END, "")]
    current, zone_name = ITINERARY[0]
    upcoming = next_fire(rule, current, ZoneInfo(zone_name))
    for change, new_zone in changes:
        while upcoming is not None and upcoming < change:
            fires.append(upcoming)
            upcoming = next_fire(rule, upcoming, ZoneInfo(zone_name))
        if new_zone:
            zone_name = new_zone
            upcoming = next_fire(rule, change, ZoneInfo(zone_name))
    return fires


@pytest.mark.parametrize(
    "label",
    [
        "every 2 h 07:00-22:30",
        "times around DST and midnight",
        "every 30 min 22:00-02:00, quiet 23:10-00:40, Mon/Wed/Fri/Sat",
    ],
)
def test_a_person_who_travels_gets_each_stays_fires_at_local_times(label: str) -> None:
    rule = YEAR_RULES[label]
    got = travel(rule)
    assert len(set(got)) == len(got), "two fires at one instant"
    assert got == sorted(got)
    stays = [*ITINERARY, (TRAVEL_END, "")]
    expected: list[dt.datetime] = []
    for (since, zone_name), (until, _) in itertools.pairwise(stays):
        line = year_line(zone_name, 2026)
        stay = {k: v for k, v in oracle(rule, zone_name, since, until, line).items() if k < until}
        in_stay = [f for f in got if since < f < until]
        assert in_stay == list(stay), f"{label} in {zone_name} from {since}"
        for instant in in_stay:
            for wall in stay[instant]:
                assert_at_wanted_time(line, instant, wall)
        expected += in_stay
    assert got == expected, "a fire outside every stay"


def test_travel_through_a_doubled_hour_does_not_repeat_it() -> None:
    """Landing in Berlin at the first 02:30 of the night: the 02:30 reminder has happened (it is
    not after the change), so the second pass through 02:30 does not fire it again."""
    rule = Schedule("times", times=(T("02:30"),))
    berlin = ZoneInfo("Europe/Berlin")
    assert next_fire(rule, utc(2026, 10, 25, 0, 30), berlin) == utc(2026, 10, 26, 1, 30)
    assert next_fire(rule, utc(2026, 10, 25, 0, 29, 59), berlin) == utc(2026, 10, 25, 0, 30)


# --- hypothesis: random rules x all zones x 2000-2037 ---------------------------------------------


def _loads(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, OSError):
        return False
    return True


# every zone of the system's tz database ("localtime" is this machine's own, not a fixed zone)
ALL_ZONES = sorted(name for name in available_timezones() - {"localtime"} if _loads(name))
FIRST_YEAR, LAST_YEAR = 2000, 2037

TRICKY = [
    T(s) for s in ("00:00", "00:30", "01:00", "01:30", "02:00", "02:30", "02:45", "03:00", "23:00", "23:30", "23:59")
]
clocks = st.one_of(st.sampled_from(TRICKY), st.builds(dt.time, st.integers(0, 23), st.integers(0, 59)))
weekday_sets = st.frozensets(st.integers(0, 6))
quiet_hours = st.one_of(st.none(), st.tuples(clocks, clocks))


@st.composite
def rules(draw: st.DrawFn) -> Schedule:
    quiet = draw(quiet_hours) or (None, None)
    common = {"weekdays": draw(weekday_sets), "quiet_start": quiet[0], "quiet_end": quiet[1]}
    if draw(st.booleans()):
        return Schedule(
            "interval",
            interval_min=draw(st.integers(15, 24 * 60)),
            window_start=draw(clocks),
            window_end=draw(clocks),
            **common,  # type: ignore[arg-type]
        )
    return Schedule("times", times=tuple(draw(st.lists(clocks, min_size=1, max_size=6))), **common)  # type: ignore[arg-type]


@functools.cache
def transitions_in(zone_name: str, year: int) -> tuple[int, ...]:
    """The zone's changes of offset in a year, read every 6 hours (only to aim instants at them)."""
    zone = ZoneInfo(zone_name)
    lo, hi = _seconds(utc(year, 1, 1)), _seconds(utc(year + 1, 1, 1))
    out = []
    for t in range(lo, hi, 6 * HOUR_S):
        if _offset(zone, t) != _offset(zone, t + 6 * HOUR_S):
            out.append(t)
    return tuple(out)


@st.composite
def instants(draw: st.DrawFn, zone_name: str) -> dt.datetime:
    """An aware instant in 2000-2037, often within a day and a half of one of the zone's changes,
    written in UTC, the zone itself or a fixed offset."""
    year = draw(st.integers(FIRST_YEAR, LAST_YEAR))
    changes = transitions_in(zone_name, year)
    aim = draw(st.booleans())
    if changes and aim:
        near = draw(st.one_of(st.integers(-36 * 60, 36 * 60).map(lambda m: m * 60), st.integers(-36 * 3600, 36 * 3600)))
        second = draw(st.sampled_from(changes)) + near
    else:
        second = draw(st.integers(_seconds(utc(year, 1, 1)), _seconds(utc(year + 1, 1, 1)) - 1))
    moment = _instant(second)
    written = draw(st.sampled_from(["utc", "zone", "fixed"]))
    if written == "zone":
        return moment.astimezone(ZoneInfo(zone_name))
    if written == "fixed":
        return moment.astimezone(dt.timezone(dt.timedelta(minutes=15 * draw(st.integers(-14 * 4, 14 * 4)))))
    return moment


@st.composite
def cases(draw: st.DrawFn) -> tuple[Schedule, str, dt.datetime]:
    zone_name = draw(st.sampled_from(ALL_ZONES))
    return draw(rules()), zone_name, draw(instants(zone_name))


HYPOTHESIS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYPOTHESIS
@given(case=cases())
def test_next_fire_is_the_first_oracle_fire_after(case: tuple[Schedule, str, dt.datetime]) -> None:
    rule, zone_name, after = case
    got = next_fire(rule, after, ZoneInfo(zone_name))
    # A rule repeats every week, so if it fires at all it fires within 8 days.
    expected = list(oracle(rule, zone_name, after, after + 9 * DAY))
    if not expected:
        assert got is None
        return
    assert got is not None
    assert got > after
    assert got.utcoffset() == dt.timedelta(0)
    assert got in expected, "not a fire of the rule"
    assert [fire for fire in expected if fire < got] == [], "skipped a fire"


@HYPOTHESIS
@given(case=cases())
def test_fires_between_over_three_days_is_the_oracles_set(case: tuple[Schedule, str, dt.datetime]) -> None:
    rule, zone_name, start = case
    end = start + 3 * DAY
    got = list(fires_between(rule, start, end, ZoneInfo(zone_name)))
    assert got == list(oracle(rule, zone_name, start, end))


@HYPOTHESIS
@given(
    zone_name=st.sampled_from(ALL_ZONES),
    fire_at=st.integers(_seconds(utc(FIRST_YEAR, 1, 1)), _seconds(utc(LAST_YEAR, 12, 31))),
    delta=st.one_of(st.integers(-2, 2), st.integers(-400 * 86400, 400 * 86400)),
    rule=rules(),
    written=st.sampled_from(["utc", "zone", "fixed"]),
)
def test_once_fires_at_fire_at_iff_it_is_later(
    zone_name: str, fire_at: int, delta: int, rule: Schedule, written: str
) -> None:
    """A timer ignores zone, weekdays and quiet hours. (``after`` is written in UTC or a fixed
    offset here; the same zone for both is the separate test below.)"""
    zone = ZoneInfo(zone_name)
    when = _instant(fire_at)
    when = when.astimezone(zone) if written == "zone" else when
    when = when.astimezone(dt.timezone(dt.timedelta(hours=-3, minutes=-30))) if written == "fixed" else when
    timer = Schedule(
        "once", fire_at=when, weekdays=rule.weekdays, quiet_start=rule.quiet_start, quiet_end=rule.quiet_end
    )
    after = _instant(fire_at - delta).astimezone(dt.timezone(dt.timedelta(hours=5, minutes=45)))
    got = next_fire(timer, after, zone)
    if delta > 0:
        assert got == when
        assert got is not None and got.utcoffset() == dt.timedelta(0)
    else:
        assert got is None


@pytest.mark.parametrize(
    ("fire_at", "after", "expected"),
    [
        # 06:30Z (the second 01:30 EST) is after 05:45Z (01:45 EDT, first pass)
        (dt.datetime(2026, 11, 1, 1, 30, fold=1), dt.datetime(2026, 11, 1, 1, 45, fold=0), utc(2026, 11, 1, 6, 30)),
        # 05:45Z is before 06:30Z: the timer is over
        (dt.datetime(2026, 11, 1, 1, 45, fold=0), dt.datetime(2026, 11, 1, 1, 30, fold=1), None),
    ],
)
def test_once_compares_instants_even_in_a_doubled_hour_of_one_zone(
    fire_at: dt.datetime, after: dt.datetime, expected: dt.datetime | None
) -> None:
    """Instants, not wall clocks: two datetimes of one zone compare wall clocks and ignore ``fold``, so
    in a doubled hour a naive comparison would lose a timer or fire it after it is over."""
    new_york = ZoneInfo("America/New_York")
    timer = Schedule("once", fire_at=fire_at.replace(tzinfo=new_york))
    assert next_fire(timer, after.replace(tzinfo=new_york), new_york) == expected


# --- hand-picked cases ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone_name", "rule", "after", "expected"),
    [
        # skipped 02:30 fires at the jump, 03:00 EDT = 07:00Z, and 03:00 on the same instant once
        ("America/New_York", ("02:30", "03:00"), utc(2026, 3, 8), [utc(2026, 3, 8, 7)]),
        # doubled 01:30 fires once, at 01:30 EDT
        ("America/New_York", ("01:30",), utc(2026, 11, 1), [utc(2026, 11, 1, 5, 30)]),
        # Lord Howe skips 02:00-02:29 (+10:30 -> +11): 02:00 and 02:15 fire at the jump, 02:30 is 15:30Z
        ("Australia/Lord_Howe", ("02:00", "02:15", "02:30"), utc(2026, 10, 3, 12), [utc(2026, 10, 3, 15, 30)]),
        # Lord Howe doubles 01:30-01:59: 01:45 fires once, at 01:45 +11
        ("Australia/Lord_Howe", ("01:45",), utc(2026, 4, 4, 12), [utc(2026, 4, 4, 14, 45)]),
        # Chatham skips 02:45-03:44 (+12:45 -> +13:45): 03:00 fires at the jump, 03:45 +13:45
        ("Pacific/Chatham", ("03:00",), utc(2026, 9, 26, 12), [utc(2026, 9, 26, 14)]),
        # Nuuk jumps from Saturday 23:00 to Sunday 00:00: Saturday's 23:30 and Sunday's 00:00 are one fire
        ("America/Nuuk", ("23:30", "00:00"), utc(2026, 3, 28, 12), [utc(2026, 3, 29, 1)]),
        # Beirut goes back from Sunday 00:00 to Saturday 23:00: Saturday's 23:30 fires at the first one
        ("Asia/Beirut", ("23:30",), utc(2026, 10, 24, 12), [utc(2026, 10, 24, 20, 30)]),
        # Havana skips 00:00-00:59: midnight fires at 01:00 CDT
        ("America/Havana", ("00:00",), utc(2026, 3, 7, 12), [utc(2026, 3, 8, 5)]),
        # Apia (-10) skipped Friday 30 December 2011: its 09:00 fires at the jump, Saturday 00:00 (+14)
        ("Pacific/Apia", ("09:00",), utc(2011, 12, 29, 12), [utc(2011, 12, 29, 19), utc(2011, 12, 30, 10)]),
    ],
)
def test_dst_cases_by_hand(
    zone_name: str, rule: tuple[str, ...], after: dt.datetime, expected: list[dt.datetime]
) -> None:
    schedule = Schedule("times", times=tuple(map(T, rule)))
    zone = ZoneInfo(zone_name)
    got = list(fires_between(schedule, after, after + DAY, zone))
    assert got == expected
    assert got == list(oracle(schedule, zone_name, after, after + DAY))


def test_a_window_past_midnight_belongs_to_the_day_it_starts_on() -> None:
    """22:00-02:00 every hour on Fridays only: Friday night into Saturday, nothing Saturday night."""
    rule = Schedule(
        "interval", interval_min=60, window_start=T("22:00"), window_end=T("02:00"), weekdays=frozenset({4})
    )
    tokyo = ZoneInfo("Asia/Tokyo")
    friday = dt.datetime(2026, 6, 5, tzinfo=tokyo)
    got = [f.astimezone(tokyo).replace(tzinfo=None) for f in fires_between(rule, friday, friday + 7 * DAY, tokyo)]
    assert got == [dt.datetime(2026, 6, 5, 22) + dt.timedelta(hours=h) for h in range(5)]


# --- quiet hours, constructor and argument checks -------------------------------------------------


def test_quiet_hours_across_midnight() -> None:
    quiet = (T("22:00"), T("06:00"))
    assert [in_quiet_hours(T(c), *quiet) for c in ("21:59", "22:00", "23:59", "00:00", "05:59", "06:00")] == [
        False,
        True,
        True,
        True,
        True,
        False,
    ]
    rule = Schedule(
        "times",
        times=tuple(map(T, ("21:59", "22:00", "00:00", "03:00", "05:59", "06:00"))),
        quiet_start=quiet[0],
        quiet_end=quiet[1],
    )
    kolkata = ZoneInfo("Asia/Kolkata")
    day = dt.datetime(2026, 5, 1, 12, tzinfo=kolkata)
    got = [f.astimezone(kolkata).time() for f in fires_between(rule, day, day + DAY, kolkata)]
    assert got == [T("21:59"), T("06:00")]


def test_quiet_hours_within_a_day_drop_the_interval_times_inside() -> None:
    rule = Schedule(
        "interval",
        interval_min=30,
        window_start=T("11:00"),
        window_end=T("14:00"),
        quiet_start=T("12:00"),
        quiet_end=T("13:30"),
    )
    day = utc(2026, 5, 1)
    got = [f.time() for f in fires_between(rule, day, day + DAY, ZoneInfo("UTC"))]
    assert got == [T("11:00"), T("11:30"), T("13:30"), T("14:00")]


@pytest.mark.parametrize("at", ["00:00", "08:00", "23:59"])
def test_equal_quiet_ends_mean_no_quiet_hours(at: str) -> None:
    assert not in_quiet_hours(T(at), T(at), T(at))
    assert not in_quiet_hours(T("12:00"), T(at), T(at))
    rule = Schedule(
        "interval", interval_min=60, window_start=T("00:00"), window_end=T("23:00"), quiet_start=T(at), quiet_end=T(at)
    )
    day = utc(2026, 5, 1)
    assert (
        len(
            list(
                fires_between(rule, day - dt.timedelta(seconds=1), day + DAY - dt.timedelta(seconds=1), ZoneInfo("UTC"))
            )
        )
        == 24
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "interval", "window_start": T("08:00"), "window_end": T("20:00")},
        {"kind": "interval", "interval_min": 0, "window_start": T("08:00"), "window_end": T("20:00")},
        {"kind": "interval", "interval_min": -15, "window_start": T("08:00"), "window_end": T("20:00")},
        {"kind": "interval", "interval_min": 60},
        {"kind": "interval", "interval_min": 60, "window_start": T("08:00")},
        {"kind": "interval", "interval_min": 60, "window_end": T("20:00")},
        {"kind": "times"},
        {"kind": "times", "times": ()},
        {"kind": "once"},
        {"kind": "once", "fire_at": dt.datetime(2026, 5, 1, 12)},
    ],
)
def test_schedule_rejects_an_incomplete_rule(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="needs"):
        Schedule(**fields)  # type: ignore[arg-type]


def test_schedule_accepts_complete_rules() -> None:
    Schedule("interval", interval_min=15, window_start=T("08:00"), window_end=T("08:00"))
    Schedule("times", times=(T("08:00"),))
    Schedule("once", fire_at=utc(2026, 5, 1))


@pytest.mark.parametrize(
    "rule",
    [
        Schedule("interval", interval_min=60, window_start=T("08:00"), window_end=T("20:00")),
        Schedule("times", times=(T("08:00"),)),
        Schedule("once", fire_at=utc(2026, 5, 1)),
    ],
)
def test_a_naive_after_is_refused(rule: Schedule) -> None:
    naive = dt.datetime(2026, 4, 1, 12)
    with pytest.raises(ValueError, match="aware"):
        next_fire(rule, naive, ZoneInfo("Europe/Berlin"))
    with pytest.raises(ValueError, match="aware"):
        list(fires_between(rule, naive, naive + DAY, ZoneInfo("Europe/Berlin")))


def test_a_rule_that_can_never_fire_has_no_next_fire() -> None:
    rule = Schedule("times", times=(T("23:00"), T("03:00")), quiet_start=T("22:00"), quiet_end=T("06:00"))
    assert next_fire(rule, utc(2026, 5, 1), ZoneInfo("Europe/Berlin")) is None


def test_a_weekly_rule_finds_next_week() -> None:
    """Monday 09:00 asked just after it fired: the answer is the next Monday, 7 days later."""
    rule = Schedule("times", times=(T("09:00"),), weekdays=frozenset({0}))
    berlin = ZoneInfo("Europe/Berlin")
    monday = dt.datetime(2026, 6, 1, 9, 0, tzinfo=berlin)
    assert next_fire(rule, monday, berlin) == dt.datetime(2026, 6, 8, 9, 0, tzinfo=berlin)
