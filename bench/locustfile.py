"""Locust users for bench/load.py: one ``PersonUser`` per seeded person, one ``ClinicianUser`` per clinician.

Not meant to be run by hand: bench/load.py seeds the database, writes the plan (tokens, sync cursors,
share ids, sessions, pacing) to ``LOAD_PLAN`` and starts ``locust --headless -f bench/locustfile.py``.
Each user works through its hour of actions (bench/loadmix.py) in random order, paced so that the
whole crowd offers the target rate; every request is recorded raw (start time, name, milliseconds,
error) to ``LOAD_SAMPLES`` when the run ends, so bench/load.py computes exact percentiles.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, events, task

from bench.loadmix import (
    PERSON_ACTIONS,
    Action,
    Clinician,
    Person,
    action_patient_page,
)

PLAN: dict[str, Any] = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
SAMPLES: list[tuple[float, str, float, str]] = []  # (start epoch s, endpoint, ms, error or "")
_people = itertools.count()
_clinicians = itertools.count()


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, exception: Any, start_time: float, **kw: Any) -> None:
    SAMPLES.append((start_time, name, response_time, "" if exception is None else str(exception)[:200]))


@events.quitting.add_listener
def _dump(environment: Any, **kw: Any) -> None:
    Path(os.environ["LOAD_SAMPLES"]).write_text(json.dumps(SAMPLES))


class Paced(FastHttpUser):
    """One action every ``pace`` seconds on a fixed grid whose phase is random per user. (locust's
    constant_pacing measures from the moment a user is spawned, so every user of a spawn batch would
    act in the same instant: bursts of a hundred requests instead of a steady rate.)"""

    abstract = True
    pace = 1.0

    def start_pacing(self) -> None:
        self._next = time.perf_counter() + random.random() * self.pace
        gevent.sleep(self._next - time.perf_counter())

    def wait_time(self) -> float:
        now = time.perf_counter()
        self._next = max(self._next + self.pace, now)  # late: start the next one now, never a catch-up burst
        return self._next - now


def _drive(user: FastHttpUser, action: Action, headers: dict[str, str]) -> None:
    """Run one action: each request through locust's client, its answer sent back into the action."""
    answer: bytes | None = None
    try:
        req = next(action)
        while True:
            with user.client.request(
                req.method,
                req.path,
                name=req.name,
                data=req.body,  # type: ignore[arg-type]  # bytes go through as they are
                headers=headers,
                allow_redirects=False,
                catch_response=True,
            ) as resp:
                body = resp.content or b""
                problem = None
                if resp.status_code not in req.expect:
                    problem = f"HTTP {resp.status_code}: {body[:200]!r}"
                elif req.check is not None:
                    problem = req.check(body)
                if problem:
                    resp.failure(problem)
                    return  # a failed step ends the action, as the app would stop its sync
                resp.success()
            answer = body
            req = action.send(answer)
    except StopIteration:
        return


class PersonUser(Paced):
    fixed_count = int(PLAN["people_count"])
    pace = float(PLAN["person_pacing_s"])
    network_timeout = connection_timeout = 30.0

    def on_start(self) -> None:
        me = PLAN["people"][next(_people) % len(PLAN["people"])]
        self.person = Person.from_plan(me)
        self.todo: list[str] = []
        self.start_pacing()

    @task
    def next_action(self) -> None:
        if not self.todo:
            self.todo = self.person.plan()
        name = self.todo.pop()
        _drive(self, PERSON_ACTIONS[name](self.person), self.person.headers)


class ClinicianUser(Paced):
    fixed_count = int(PLAN["clinicians_count"])
    pace = float(PLAN["clinician_pacing_s"])
    network_timeout = connection_timeout = 30.0

    def on_start(self) -> None:
        me = PLAN["clinicians"][next(_clinicians) % len(PLAN["clinicians"])]
        self.clinician = Clinician(session=me["session"], patients=me["patients"], rng=random.Random(me["seed"]))
        self.start_pacing()

    @task
    def open_patient_page(self) -> None:
        _drive(self, action_patient_page(self.clinician), self.clinician.headers)
