"""The scenario's checks, one function each, run in order on what the run recorded and left behind.

Each check returns ``(ok, detail)``: the detail says what was counted even when the check passes, so
the printed report shows how much evidence each verdict rests on. ``CHECK_NAMES`` is their order.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.support.faults.model import Attempt, Check, Run, Write
from tests.support.faults.state import DbState, due_reminders, expected_notifications, red_flag_episodes

AFTER_FAULT_GRACE_S = 3.0  # a fault's window runs this long past the restart (reconnects)
# Away from the faults a red-flag push arrives within this long of its write (normally well under a second); a
# worker that died or stopped consuming after an outage makes it wait for the next fault's new worker instead.
PROMPT_PUSH_S = 20.0
FAULTS = ["Redis down", "PostgreSQL down", "worker killed"]


@dataclass(frozen=True)
class Outcome:
    """Everything the checks look at, gathered once the work has drained (or the wait gave up)."""

    run: Run
    state: DbState
    arrived: Counter[tuple[int, str]]  # (user id, notification id) -> pushes received (state.pushed)
    client_errors: list[str]  # a client thread that raised: "client-0: ValueError(...)"
    injection_error: str = ""  # the fault injector raised


CheckFn = Callable[[Outcome], tuple[bool, str]]
CHECKS: list[tuple[str, CheckFn]] = []


def check(name: str) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        CHECKS.append((name, fn))
        return fn

    return register


def verify(outcome: Outcome) -> list[Check]:
    return [Check(name, *fn(outcome)) for name, fn in CHECKS]


# --- helpers ------------------------------------------------------------------------------------------------


def _overlaps(a: Attempt, start: float, end: float) -> bool:
    return a.started <= end and a.ended >= start


def statuses(attempts: list[Attempt]) -> str:
    counts = Counter("no answer" if a.status is None else str(a.status) for a in attempts)
    return ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())) or "none"


def _window(run: Run, name: str) -> tuple[float, float] | None:
    for f in run.faults:
        if f.name == name and f.ended is not None:
            return f.started, f.ended + AFTER_FAULT_GRACE_S
    return None


def _during(attempts: list[Attempt], window: tuple[float, float] | None) -> list[Attempt]:
    return [a for a in attempts if window and _overlaps(a, *window)]


def _same_instant(stored: dt.datetime | None, sent: str) -> bool:
    return stored is not None and stored == dt.datetime.fromisoformat(sent.replace("Z", "+00:00"))


def _first(problems: list[str], n: int) -> str:
    return "; " + "; ".join(problems[:n]) + (f" (+{len(problems) - n} more)" if len(problems) > n else "")


def _accepted(run: Run, kind: str) -> list[Write]:
    return [w for w in run.writes if w.accepted and w.kind == kind]


def _user(run: Run, w: Write) -> int:
    return next(p.user_id for p in run.people if p.index == w.person)


# --- the checks, in order -----------------------------------------------------------------------------------


@check("faults injected")
def faults_injected(o: Outcome) -> tuple[bool, str]:
    names = [f.name for f in o.run.faults if f.ended is not None]
    detail = ", ".join(names) or "none"
    if o.injection_error:
        detail += f"; injection failed: {o.injection_error}"
    return names == FAULTS and not o.injection_error, detail


@check("every write accepted in the end")
def writes_accepted(o: Outcome) -> tuple[bool, str]:
    writes = o.run.writes
    lost = [w for w in writes if not w.accepted]
    detail = f"{len(writes) - len(lost)} of {len(writes)} accepted"
    if lost:
        detail += "; not accepted: " + ", ".join(f"{w.kind} {w.key} (person {w.person})" for w in lost[:10])
    if o.client_errors:
        detail += "; client errors: " + "; ".join(o.client_errors)
    return bool(writes) and not lost and not o.client_errors, detail


def _episode_problems(w: Write, row: dict[str, Any]) -> list[str]:
    c = w.content
    problems = []
    for name in ("kind", "body_location", "tz", "duration_s", "pain", "notes"):
        if row[name] != c[name]:
            problems.append(f"{name} {row[name]!r} != {c[name]!r}")
    if list(row["symptoms"] or []) != c["symptoms"]:
        problems.append(f"symptoms {row['symptoms']!r} != {c['symptoms']!r}")
    if not _same_instant(row["started_at"], c["started_at"]):
        problems.append(f"started_at {row['started_at']} != {c['started_at']}")
    if row["deleted_at"] is not None:
        problems.append("deleted")
    return problems


def _episodes_stored(run: Run, state: DbState) -> list[str]:
    """Each accepted episode in exactly one row with its content; no row that no client wrote."""
    problems = []
    for w in _accepted(run, "episode"):
        rows = state.episodes.get((_user(run, w), w.key), [])
        if len(rows) != 1:
            problems.append(f"episode {w.key}: {len(rows)} rows")
        elif bad := _episode_problems(w, rows[0]):
            problems.append(f"episode {w.key}: {'; '.join(bad)}")
    attempted = {(_user(run, w), w.key) for w in run.writes if w.kind == "episode"}
    return problems + [
        f"episode {uid} stored but never written" for user, uid in state.episodes if (user, uid) not in attempted
    ]


def _last_checkins(run: Run) -> dict[tuple[int, str], Write]:
    """(user, day) -> the last accepted check-in write of that day: each person writes in order, so it wins."""
    return {(_user(run, w), w.key): w for w in _accepted(run, "checkin")}


def _checkins_stored(run: Run, state: DbState) -> list[str]:
    problems = []
    for key, w in _last_checkins(run).items():
        rows = state.checkins.get(key, [])
        if len(rows) != 1:
            problems.append(f"check-in {w.key} of person {w.person}: {len(rows)} rows")
        elif (rows[0]["water_ml"], rows[0]["stress"], rows[0]["notes"]) != (
            w.content["water_ml"], w.content["stress"], w.content["notes"]
        ):  # fmt: skip
            problems.append(f"check-in {w.key} of person {w.person}: {rows[0]} is not the last write {w.content}")
    return problems


def _reminders_stored(run: Run, state: DbState) -> list[str]:
    problems = []
    for w in _accepted(run, "reminder"):
        rows = state.reminders.get((_user(run, w), w.key), [])
        if len(rows) != 1:
            problems.append(f"reminder {w.key}: {len(rows)} rows")
        elif rows[0]["label"] != w.content["label"] or not _same_instant(rows[0]["fire_at"], w.content["fire_at"]):
            problems.append(f"reminder {w.key}: stored {rows[0]['label']!r} at {rows[0]['fire_at']}")
    return problems


@check("accepted writes stored exactly once")
def writes_stored_once(o: Outcome) -> tuple[bool, str]:
    run = o.run
    problems = _episodes_stored(run, o.state) + _checkins_stored(run, o.state) + _reminders_stored(run, o.state)
    episodes = _accepted(run, "episode")
    via_sync = sum(1 for w in episodes if w.via == "sync")
    detail = (f"{len(episodes)} episodes ({len(episodes) - via_sync} REST, {via_sync} sync push), "
              f"{len(_last_checkins(run))} check-in days after {len(_accepted(run, 'checkin'))} writes, "
              f"{len(_accepted(run, 'reminder'))} reminders")  # fmt: skip
    if problems:
        detail += _first(problems, 10)
    return bool(episodes) and not problems, detail


@check("no write failed while Redis was down")
def redis_outage(o: Outcome) -> tuple[bool, str]:
    window = _window(o.run, "Redis down")
    if window is None:
        return False, "no Redis outage"
    during = [a for a in _during(o.run.attempts, window) if a.write]
    failed = [a for a in during if a.status is None or not 200 <= a.status < 300]
    detail = (f"{len(during)} write requests during {window[0]:.1f}-{window[1]:.1f} s: {statuses(during)}, "
              f"slowest {max((a.ended - a.started for a in during), default=0):.1f} s")  # fmt: skip
    if failed:
        detail += "; failed: " + "; ".join(f"{a.method} {a.path} -> {a.status} {a.error[:80]}" for a in failed[:5])
    return bool(during) and not failed, detail


@check("database down: 503, never 500")
def database_outage(o: Outcome) -> tuple[bool, str]:
    window = _window(o.run, "PostgreSQL down")
    if window is None:
        return False, "no database outage"
    during = _during(o.run.attempts, window)
    wrong = [a for a in during
             if a.status is None or (a.status >= 300 and not (a.status == 503 and a.retry_after))]  # fmt: skip
    unavailable = sum(a.status == 503 for a in during)
    detail = f"{len(during)} requests during {window[0]:.1f}-{window[1]:.1f} s: {statuses(during)}"
    if wrong:
        detail += "; wrong: " + "; ".join(f"{a.method} {a.path} -> {a.status} {a.error[:80]}" for a in wrong[:5])
    return unavailable > 0 and not wrong, detail


@check("no 500, no other failure")
def no_errors(o: Outcome) -> tuple[bool, str]:
    attempts, outage = o.run.attempts, _window(o.run, "PostgreSQL down")
    failed = [a for a in attempts if a.status is None or a.status >= 300]
    errors = [a for a in failed if a.status == 500 or not (outage and _overlaps(a, *outage))]
    detail = f"{len(attempts)} requests in all: {statuses(attempts)}"
    if errors:
        detail += "; failures: " + "; ".join(
            f"{a.started:.1f}s {a.method} {a.path} -> {a.status} {a.error[:100]}" for a in errors[:6]
        )
    return not errors, detail


@check("work drained")
def work_drained(o: Outcome) -> tuple[bool, str]:
    s = o.state
    detail = (f"outbox {s.outbox_pending} pending ({s.outbox_failed_tries} handler runs failed and were "
              f"retried); pushes {s.pushes_pending} pending, {s.pushes_failed} failed")  # fmt: skip
    return not (s.outbox_pending or s.pushes_pending or s.pushes_failed), detail


@check("due reminders: one notification each")
def due_reminders_notified(o: Outcome) -> tuple[bool, str]:
    due = due_reminders(o.run)
    problems = []
    for person, w, fire_at in due:
        rows = o.state.reminder_notifications.get((person.user_id, w.key), [])
        if len(rows) != 1 or rows[0]["scheduled_for"] != fire_at:
            problems.append(f"{w.key}: {len(rows)} notifications {[str(r['scheduled_for']) for r in rows]}")
    late = [w for w in _accepted(o.run, "reminder") if not w.answer.get("next_fire_at")]
    detail = f"{len(due)} timers fell due, {len(due) - len(problems)} with exactly one notification"
    if late:
        detail += f" ({len(late)} accepted only after their time, not expected to fire)"
    if problems:
        detail += _first(problems, 8)
    return bool(due) and not problems, detail


@check("red flags: one alert and one notification each")
def red_flags_alerted(o: Outcome) -> tuple[bool, str]:
    s = o.state
    flagged = red_flag_episodes(o.run)
    per_episode = Counter((a["user_id"], a["episode_uid"]) for a in s.alerts if a["rule"] == "breathing_difficulty")
    problems = [f"episode {w.key}: {per_episode[(p.user_id, w.key)]} alerts"
                for p, w in flagged if per_episode[(p.user_id, w.key)] != 1]  # fmt: skip
    for a in s.alerts:
        n = len(s.alert_notifications.get((a["user_id"], a["uid"]), []))
        if n != 1:
            problems.append(f"alert {a['uid']} ({a['rule']}, episode {a['episode_uid']}): {n} notifications")
    rules = Counter(a["rule"] for a in s.alerts)
    detail = (f"{len(flagged)} red-flag episodes; {len(s.alerts)} alerts "
              f"({', '.join(f'{k} {v}' for k, v in sorted(rules.items()))})")  # fmt: skip
    if problems:
        detail += _first(problems, 8)
    return bool(flagged) and not problems, detail


@check("notifications reached the push endpoint")
def notifications_pushed(o: Outcome) -> tuple[bool, str]:
    """Each notification at least once at its person's endpoint; twice is fine (the app shows it once by id)."""
    expected, arrived = expected_notifications(o.state), o.arrived
    missing = [uid for uid, (user, _) in expected.items() if not arrived[(user, uid)]]
    twice = sum(1 for uid, (user, _) in expected.items() if arrived[(user, uid)] > 1)
    stray = [key for key in arrived if expected.get(key[1], (None,))[0] != key[0]]
    kinds = Counter(kind for _, kind in expected.values())
    detail = (f"{len(expected) - len(missing)} of {len(expected)} notifications pushed "
              f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}; {sum(arrived.values())} pushes received; "
              f"{twice} notifications pushed more than once, which the app shows once by id)")  # fmt: skip
    if missing:
        detail += "; never pushed: " + ", ".join(missing[:8])
    if stray:
        detail += f"; {len(stray)} pushes of no notification of that person: {stray[:5]}"
    due_or_alert = any(kind in ("reminder", "alert") for _, kind in expected.values())
    return due_or_alert and not missing and not stray, detail


def _push_delays(o: Outcome) -> tuple[list[float], list[str]]:
    """Seconds from each red-flag write away from the faults to its alert's first push; and the late ones."""
    run, s = o.run, o.state
    near = [(f.started - 2.0, (f.ended or f.started) + 5.0) for f in run.faults]
    alert_of = {(a["user_id"], a["episode_uid"]): a["uid"] for a in s.alerts if a["rule"] == "breathing_difficulty"}
    delays: list[float] = []
    slow: list[str] = []
    for person, w in red_flag_episodes(run):
        if w.accepted_at is None or any(lo <= w.accepted_at <= hi for lo, hi in near):
            continue
        notes = s.alert_notifications.get((person.user_id, alert_of.get((person.user_id, w.key), "")), [])
        arrived_at = min((run.arrivals[n] for n in notes if n in run.arrivals), default=None)
        delay = None if arrived_at is None else arrived_at - w.accepted_at
        if delay is None or delay > PROMPT_PUSH_S:
            slow.append(f"{w.key} at {w.accepted_at:.1f} s: " + ("never" if delay is None else f"{delay:.1f} s"))
        else:
            delays.append(delay)
    return sorted(delays), slow


@check("worker kept working between the faults")
def worker_kept_working(o: Outcome) -> tuple[bool, str]:
    """Alive when it was to be killed (it lived through both outages); away from the faults, red flags pushed promptly."""
    delays, slow = _push_delays(o)
    alive = o.run.worker_alive_at_kill
    detail = (f"worker {'alive' if alive else 'NOT alive'} when it was to be killed; {len(delays)} of "
              f"{len(delays) + len(slow)} red-flag writes away from the faults pushed within {PROMPT_PUSH_S:g} s")  # fmt: skip
    if delays:
        detail += f" (median {delays[len(delays) // 2] * 1000:.0f} ms, slowest {delays[-1] * 1000:.0f} ms)"
    if slow:
        detail += "; late: " + "; ".join(slow[:6])
    return bool(alive) and bool(delays) and not slow, detail


CHECK_NAMES = tuple(name for name, _ in CHECKS)
