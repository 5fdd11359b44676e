"""What one simulated person and one clinician do in bench/load.py: the mix, and each action's requests.

No Django and no locust here: bench/locustfile.py drives these actions over HTTP under load, and
bench/load.py drives the same actions in-process (Django's test client) to profile one endpoint. An
action is a generator that yields ``Req`` and is sent back each response body, so a push can follow
the pull it depends on. ``Req.check`` names what is wrong with an answer (None: fine).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
import zoneinfo
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import orjson

# --- The mix: per person-hour and per clinician-hour (the README quotes these) ---------------------------
PERSON_HOUR: dict[str, int] = {  # action -> times per person-hour
    "episode": 2,  # POST /api/v1/episodes
    "checkin": 1,  # PUT /api/v1/checkins/<today>
    "sync": 6,  # GET /api/v1/sync/pull, then POST /api/v1/sync/push with a small change set
    "insights": 2,  # GET /api/v1/insights
    "notification": 3,  # GET /api/v1/notifications?unread=1, then PATCH one: done / snoozed / dismissed
}
REQUESTS_PER_ACTION = {"episode": 1, "checkin": 1, "sync": 2, "insights": 1, "notification": 2, "patient_page": 1}
CLINICIAN_HOUR: dict[str, int] = {"patient_page": 5}  # GET /clinician/patients/<share id>/
PEOPLE_PER_CLINICIAN = 50
EPISODE_AMEND_EVERY = 3  # every third sync push also amends the latest episode

# Endpoint names as reported; writes and sync carry the p99 target.
EPISODE_POST = "POST /api/v1/episodes"
CHECKIN_PUT = "PUT /api/v1/checkins/<date>"
PULL = "GET /api/v1/sync/pull"
PUSH = "POST /api/v1/sync/push"
INSIGHTS = "GET /api/v1/insights"
INBOX = "GET /api/v1/notifications?unread=1"
NOTIFICATION_PATCH = "PATCH /api/v1/notifications/<id>"
PATIENT_PAGE = "GET /clinician/patients/<share id>/"
WRITES_AND_SYNC = (EPISODE_POST, CHECKIN_PUT, NOTIFICATION_PATCH, PULL, PUSH)
TABLES = ("episodes", "checkins", "reminders", "notifications", "alerts")


def requests_per_person_hour() -> int:
    return sum(n * REQUESTS_PER_ACTION[a] for a, n in PERSON_HOUR.items())


def requests_per_clinician_hour() -> int:
    return sum(n * REQUESTS_PER_ACTION[a] for a, n in CLINICIAN_HOUR.items())


@dataclass
class Req:
    method: str
    path: str
    name: str
    expect: tuple[int, ...] = (200,)
    body: bytes | None = None
    check: Callable[[bytes], str | None] | None = None


Action = Generator[Req, bytes, None]


@dataclass
class Person:
    """One person's device: token, sync cursor, and the raw records it keeps of its latest episodes."""

    token: str
    tz: str
    cursor: int
    episodes: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> raw record (WatermelonDB shape)
    notifications: dict[str, dict[str, Any]] = field(default_factory=dict)  # its inbox, raw records
    syncs: int = 0
    rng: random.Random = field(default_factory=random.Random)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

    def plan(self) -> list[str]:
        """One person-hour of actions, in a random order."""
        actions = [a for a, n in PERSON_HOUR.items() for _ in range(n)]
        self.rng.shuffle(actions)
        return actions

    def now(self) -> dt.datetime:
        return dt.datetime.now(zoneinfo.ZoneInfo(self.tz))

    def uid(self) -> str:
        return uuid.uuid4().hex  # client-generated, unique whatever the seed of this person's choices

    @classmethod
    def from_plan(cls, me: dict[str, Any], seed: int | None = None) -> Person:
        p = cls(
            token=me["token"], tz=me["tz"], cursor=me["cursor"], rng=random.Random(me["seed"] if seed is None else seed)
        )
        for raw in me["episodes"]:
            p.keep(raw)
        p.notifications = {raw["id"]: dict(raw) for raw in me["notifications"]}
        return p

    def keep(self, raw: dict[str, Any]) -> None:
        """Remember an episode as the device stores it; the device edits its latest few."""
        self.episodes[raw["id"]] = raw
        if len(self.episodes) > 5:
            oldest = min(self.episodes.values(), key=lambda r: r["started_at"])
            del self.episodes[oldest["id"]]


def _json(body: Any) -> bytes:
    return orjson.dumps(body)


def _expect_keys(*keys: str) -> Callable[[bytes], str | None]:
    def check(body: bytes) -> str | None:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return "not JSON"
        missing = [k for k in keys if k not in data]
        return f"missing {missing}" if missing else None

    return check


def episode_body(p: Person) -> dict[str, Any]:
    """A cramp, back spasm or twitch that happened in the last hour, as the app posts it."""
    rng, now = p.rng, p.now()
    kind = rng.choices(("cramp", "spasm", "twitch"), weights=(5, 3, 3))[0]
    if kind == "cramp":
        location, subtype = rng.choice((("calf", "nocturnal"), ("foot", "at_rest"), ("hamstring", "exertional")))
        side = rng.choice(("left", "right"))
        duration, pain, relief = rng.randint(20, 240), rng.randint(3, 8), ["stretching", "massage"]
        triggers = rng.sample(["dehydration", "strenuous_exercise", "heat", "fatigue"], rng.randint(0, 2))
    elif kind == "spasm":
        location, subtype = rng.choice((("lower_back", "skeletal"), ("neck", "tonic"), ("upper_back", "skeletal")))
        side, duration, pain, relief = "midline", rng.randint(60, 1800), rng.randint(3, 7), ["heat", "stretching"]
        triggers = rng.sample(["prolonged_sitting", "poor_posture", "stress"], rng.randint(0, 2))
    else:
        location, subtype = rng.choice(
            (("eyelid", "fasciculation"), ("calf", "fasciculation"), ("biceps", "fasciculation"))
        )
        side, duration, pain, relief = (
            rng.choice(("left", "right")),
            rng.randint(2, 60),
            rng.choice((0, 0, 1)),
            ["rest"],
        )
        triggers = rng.sample(["poor_sleep", "caffeine", "stress"], rng.randint(0, 2))
    started = now - dt.timedelta(minutes=rng.randint(2, 60))
    return {
        "id": p.uid(), "kind": kind, "subtype": subtype, "body_location": location, "side": side,
        "started_at": started.isoformat(timespec="seconds"), "tz": p.tz, "duration_s": duration, "pain": pain,
        "symptoms": ["lingering_pain"] if kind == "cramp" and pain >= 7 else [], "triggers": triggers,
        "activity": rng.choice(("rest", "sitting", "walking", "exercise", "working")), "relief": relief,
        "relief_score": rng.randint(2, 9), "notes": rng.choice(("", "", "after a long walk", "woke me up")),
    }  # fmt: skip


def action_episode(p: Person) -> Action:
    yield Req(
        "POST", "/api/v1/episodes", EPISODE_POST, (201,), _json(episode_body(p)), _expect_keys("id", "local_date")
    )


def checkin_body(p: Person, day: dt.date) -> dict[str, Any]:
    rng = p.rng
    vigorous = rng.random() < 0.2
    return {
        "date": day.isoformat(), "water_ml": rng.randrange(700, 3200, 50), "caffeine_servings": rng.choice((0, 1, 2, 3)),
        "alcohol_units": rng.choice((0.0, 0.0, 1.0)), "exercise_min": rng.choice((0, 20, 45, 60)),
        "exercise_intensity": "vigorous" if vigorous else rng.choice(("none", "light", "moderate")),
        "hot_weather": rng.random() < 0.25, "sleep_h": round(rng.gauss(7.0, 1.0), 1),
        "stress": max(0, min(10, int(rng.gauss(4, 2)))), "sitting_h": round(max(0.0, rng.gauss(6, 2)), 1),
        "stretched": rng.random() < 0.4, "medications": ["magnesium"], "menstruating": False, "fluid_changes": False,
    }  # fmt: skip


def action_checkin(p: Person) -> Action:
    day = p.now().date()
    body = _json(checkin_body(p, day))
    yield Req("PUT", f"/api/v1/checkins/{day.isoformat()}", CHECKIN_PUT, (200, 201), body, _expect_keys("id", "date"))


def _pull_check(body: bytes) -> str | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "not JSON"
    if not isinstance(data.get("timestamp"), int) or set(data.get("changes", {})) != set(TABLES):
        return "not a pull answer"
    return None


def _push_check(body: bytes) -> str | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "not JSON"
    if data.get("ok") is not True or any(data.get("experimentalRejectedIds", {}).values()):
        return f"push not fully applied: {body[:200]!r}"
    return None


def push_changes(p: Person) -> dict[str, Any]:
    """What the phone changed since its last sync, as WatermelonDB pushes it (whole raw records): the
    delivery receipt (``delivered_at``) of a notification it displayed, and every third sync an
    amendment to the latest episode (the relief score, after the fact)."""
    now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    changes: dict[str, Any] = {t: {"created": [], "updated": [], "deleted": []} for t in TABLES}
    p.syncs += 1
    shown = [n for n in p.notifications.values() if n.get("delivered_at") is None and n.get("action") is None]
    if shown:
        n = max(shown, key=lambda r: r.get("scheduled_for") or 0)
        n.update(delivered_at=now_ms)
        changes["notifications"]["updated"].append({**n, "_status": "updated", "_changed": "delivered_at"})
    if p.episodes and (p.syncs % EPISODE_AMEND_EVERY == 0 or not shown):  # a push is never empty
        latest = max(p.episodes.values(), key=lambda r: r["started_at"])
        edited = {**latest, "relief_score": p.rng.randint(0, 10), "updated_at": now_ms}
        p.episodes[latest["id"]] = edited
        changes["episodes"]["updated"].append({**edited, "_status": "updated", "_changed": "relief_score,updated_at"})
    return changes


def action_sync(p: Person) -> Action:
    query = f"last_pulled_at={p.cursor}&schema_version=1&migration=null"
    answer = yield Req("GET", f"/api/v1/sync/pull?{query}", PULL, (200,), None, _pull_check)
    pulled = orjson.loads(answer)["changes"]
    for raw in pulled["episodes"]["updated"] + pulled["episodes"]["created"]:
        p.keep(raw)
    for uid in pulled["episodes"]["deleted"]:
        p.episodes.pop(uid, None)
    for raw in pulled["notifications"]["updated"] + pulled["notifications"]["created"]:
        p.notifications[raw["id"]] = raw
    for uid in pulled["notifications"]["deleted"]:
        p.notifications.pop(uid, None)
    timestamp = orjson.loads(answer)["timestamp"]
    body = _json(push_changes(p))
    yield Req("POST", f"/api/v1/sync/push?last_pulled_at={timestamp}", PUSH, (200,), body, _push_check)
    p.cursor = timestamp


def action_insights(p: Person) -> Action:
    yield Req("GET", "/api/v1/insights", INSIGHTS, (200,), None, _expect_keys("computed_at", "report"))


def action_notification(p: Person) -> Action:
    answer = yield Req("GET", "/api/v1/notifications?unread=1", INBOX, (200,), None, _expect_keys("results"))
    unread = orjson.loads(answer)["results"]
    if not unread:
        return
    target = unread[0] if p.rng.random() < 0.7 else p.rng.choice(unread)  # mostly the newest
    action = p.rng.choices(("done", "snoozed", "dismissed"), weights=(5, 2, 3))[0]
    change: dict[str, Any] = {"action": action, "acted_at": p.now().isoformat(timespec="seconds")}
    if action == "snoozed":
        change["snooze_min"] = p.rng.choice((10, 15, 30))
    path = f"/api/v1/notifications/{target['id']}"
    yield Req("PATCH", path, NOTIFICATION_PATCH, (200,), _json(change), _expect_keys("id", "action"))


PERSON_ACTIONS: dict[str, Callable[[Person], Action]] = {
    "episode": action_episode,
    "checkin": action_checkin,
    "sync": action_sync,
    "insights": action_insights,
    "notification": action_notification,
}


@dataclass
class Clinician:
    session: str  # the session id of a signed-in, second-factor-passed web session
    patients: list[str]  # share ids
    rng: random.Random = field(default_factory=random.Random)

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": f"sessionid={self.session}"}


def _page_check(body: bytes) -> str | None:
    return None if b"<svg" in body else "no charts in the patient page"


def action_patient_page(c: Clinician) -> Generator[Req, bytes, None]:
    pid = c.rng.choice(c.patients)
    yield Req("GET", f"/clinician/patients/{pid}/", PATIENT_PAGE, (200,), None, _page_check)
