"""One person's app under load: a client thread writing over real HTTP like the offline app does.

Episodes are written with client-generated ids (POST; after no answer or a 5xx the retry is the
idempotent PUT), red-flag episodes (``breathing_difficulty``), daily check-ins (PUT), sync pulls and
pushes, and ``once`` reminders (timers a little ahead) that fall due during the run. Every request is
recorded as an ``Attempt``, every change as a ``Write`` that is retried until the server accepts it.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any
from zoneinfo import ZoneInfo

import requests

from tests.support.faults.model import REQUEST_TIMEOUT_S, RETRY_AFTER_CAP_S, ZONE, Attempt, Person, Run, Write


class Client(threading.Thread):
    """One person's app: writes in a fixed rotation, each retried until the server accepts it."""

    # One cycle of operations; the red flag and the reminder come once per cycle.
    ROTATION = (
        "episode",
        "checkin",
        "episode",
        "sync",
        "red_flag",
        "episode",
        "checkin",
        "reminder",
        "episode",
        "sync",
    )

    def __init__(self, run: Run, person: Person) -> None:
        super().__init__(name=f"client-{person.index}", daemon=True)
        self.run_, self.person = run, person
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {person.token}"
        self.counter = 0
        self.water_ml = 0
        self.last_pulled_at: int | None = None
        self.exception: BaseException | None = None

    # -- HTTP --

    def request(self, op: str, method: str, path: str, *, body: Any = None, write: bool) -> Attempt:
        """One request, recorded; ``Attempt.payload`` holds the parsed JSON answer."""
        started = self.run_.now()
        try:
            resp = self.session.request(method, self.run_.stack.base_url + path, json=body, timeout=REQUEST_TIMEOUT_S)
        except requests.RequestException as exc:
            attempt = Attempt(self.person.index, op, method, path, started, self.run_.now(), None, write,
                              error=f"{type(exc).__name__}: {exc}"[:300])  # fmt: skip
        else:
            try:
                payload = resp.json() if resp.content else {}
            except ValueError:
                payload = None
            attempt = Attempt(self.person.index, op, method, path, started, self.run_.now(), resp.status_code, write,
                              resp.headers.get("Retry-After"), "" if resp.ok else resp.text[:300], payload)  # fmt: skip
        self.run_.record(attempt)
        return attempt

    def until_accepted(self, op: str, first: tuple[str, str, Any], retry: tuple[str, str, Any], *, write: bool) -> Any:
        """Send ``first``; after no answer or a 5xx, ``retry`` (idempotent) until a 2xx. Returns the 2xx body,
        or None when the server refused it (4xx) or the run gave up."""
        method, path, body = first
        while True:
            attempt = self.request(op, method, path, body=body, write=write)
            status = attempt.status
            if status is not None and 200 <= status < 300:
                payload, attempt.payload = attempt.payload, None  # keep no answer bodies in the record
                return payload if payload is not None else {}
            if status is not None and status < 500:
                return None  # refused: a bug in the app or in this client; recorded, not retried
            if time.monotonic() >= self.run_.give_up:
                return None
            method, path, body = retry
            wait = 0.5
            if status == 503 and attempt.retry_after and attempt.retry_after.isdigit():
                wait = min(float(attempt.retry_after), RETRY_AFTER_CAP_S)
            time.sleep(wait)

    # -- operations --

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.person.index}-{self.counter}"

    def episode_content(self, *, red_flag: bool) -> dict[str, Any]:
        n = self.counter
        started = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5 + n % 50)
        content: dict[str, Any] = {
            "kind": ("spasm", "cramp", "twitch")[n % 3],
            "body_location": ("calf", "foot", "hamstring", "neck")[n % 4],
            "started_at": started.isoformat().replace("+00:00", "Z"),
            "tz": ZONE,
            "duration_s": 30 + (n * 7) % 600,
            "pain": 1 + n % 6,
            "symptoms": [],
            "notes": f"person {self.person.index} entry {n}",
        }
        if red_flag:
            content.update(kind="spasm", body_location="chest", symptoms=["breathing_difficulty"])
        return content

    def episode(self, *, red_flag: bool = False) -> None:
        uid = self.next_id("e")
        content = self.episode_content(red_flag=red_flag)
        write = self.run_.add_write(Write("episode", self.person.index, uid, content))
        answer = self.until_accepted(
            "episode", ("POST", "/api/v1/episodes/", {"id": uid, **content}), ("PUT", f"/api/v1/episodes/{uid}", content),
            write=True,
        )  # fmt: skip
        if answer is not None:
            write.accepted, write.answer, write.accepted_at = True, answer, self.run_.now()
            if red_flag:
                self.run_.red_flag.set()

    def checkin(self) -> None:
        self.water_ml += 250
        day = dt.datetime.now(ZoneInfo(ZONE)).date().isoformat()
        content = {"water_ml": self.water_ml, "stress": self.water_ml // 250 % 11, "notes": f"check-in {self.counter}"}
        self.counter += 1
        write = self.run_.add_write(Write("checkin", self.person.index, day, content))
        request = ("PUT", f"/api/v1/checkins/{day}", content)
        answer = self.until_accepted("checkin", request, request, write=True)
        if answer is not None:
            write.accepted, write.answer, write.accepted_at = True, answer, self.run_.now()

    def reminder(self) -> None:
        """A timer a little ahead (at most a minute), only while it will still fall due during the load."""
        lead = min(60.0, 0.4 * self.run_.config.duration_s)
        if time.monotonic() + lead > self.run_.load_end - 2:
            self.episode()
            return
        uid = self.next_id("r")
        fire_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=lead)
        content = {"kind": "therapy", "label": f"ice pack off ({uid})", "schedule": "once",
                   "fire_at": fire_at.isoformat().replace("+00:00", "Z")}  # fmt: skip
        write = self.run_.add_write(Write("reminder", self.person.index, uid, content))
        request = ("PUT", f"/api/v1/reminders/{uid}", content)
        answer = self.until_accepted("reminder", request, request, write=True)
        if answer is not None:
            write.accepted, write.answer, write.accepted_at = True, answer, self.run_.now()

    def sync(self) -> None:
        """What WatermelonDB's synchronize() does: pull, then push the local changes (two new episodes)."""
        last = "null" if self.last_pulled_at is None else str(self.last_pulled_at)
        pull = ("GET", f"/api/v1/sync/pull?last_pulled_at={last}&schema_version=1&migration=null", None)
        answer = self.until_accepted("sync_pull", pull, pull, write=False)
        if answer is None:
            return
        self.last_pulled_at = int(answer["timestamp"])
        records, writes = [], []
        for red_flag in (False, self.counter % 4 == 0):
            uid = self.next_id("s")
            content = self.episode_content(red_flag=red_flag)
            writes.append(self.run_.add_write(Write("episode", self.person.index, uid, content, via="sync")))
            records.append(raw_episode(uid, content))
        push = ("POST", f"/api/v1/sync/push?last_pulled_at={self.last_pulled_at}",
                {"episodes": {"created": records, "updated": [], "deleted": []}})  # fmt: skip
        answer = self.until_accepted("sync_push", push, push, write=True)
        if answer is None:
            return
        rejected = set(answer.get("experimentalRejectedIds", {}).get("episodes", []))
        for w in writes:
            if w.key not in rejected:
                w.accepted, w.answer, w.accepted_at = True, {"rejected": answer.get("rejected", {})}, self.run_.now()

    def run(self) -> None:
        try:
            i = 0
            while time.monotonic() < self.run_.load_end:
                op = self.ROTATION[i % len(self.ROTATION)]
                i += 1
                if op in ("episode", "red_flag"):
                    self.episode(red_flag=op == "red_flag")
                elif op == "checkin":
                    self.checkin()
                elif op == "reminder":
                    self.reminder()
                else:
                    self.sync()
                time.sleep(self.run_.config.pause_s)
        except BaseException as exc:  # reported as a failed check, never swallowed
            self.exception = exc
        finally:
            self.session.close()


def ms(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def raw_episode(uid: str, content: dict[str, Any]) -> dict[str, Any]:
    """The WatermelonDB raw record of an episode (SYNC.md): times in ms, arrays JSON-encoded."""
    now = int(time.time() * 1000)
    return {
        "id": uid, "kind": content["kind"], "subtype": None, "body_location": content["body_location"], "side": None,
        "started_at": ms(content["started_at"]), "tz": content["tz"], "duration_s": content["duration_s"],
        "pain": content["pain"], "symptoms": json.dumps(content["symptoms"]), "triggers": "[]", "activity": None,
        "relief": "[]", "relief_score": None, "notes": content["notes"], "created_at": now, "updated_at": now,
    }  # fmt: skip
