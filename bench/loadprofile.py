"""Where the time goes: the hottest endpoint of a load run (bench/load.py), profiled in-process.

Django must be set up (bench/load.py does it): the requests go through Django's test client with the
same settings and database as the run.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import pstats
import random
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench import loadmix as mix

ROOT = Path(__file__).resolve().parent.parent

ACTION_OF = {mix.PULL: "sync", mix.PUSH: "sync", mix.EPISODE_POST: "episode", mix.CHECKIN_PUT: "checkin",
             mix.INSIGHTS: "insights", mix.INBOX: "notification", mix.NOTIFICATION_PATCH: "notification"}  # fmt: skip


def _by_package(prof: cProfile.Profile) -> list[str]:
    """Own time summed by package (django, psycopg, this project's apps, ...)."""
    own: dict[str, float] = defaultdict(float)
    for (path, _, _), (_, _, tottime, _, _) in pstats.Stats(prof).stats.items():  # type: ignore[attr-defined]
        if "site-packages/" in path:
            key = path.split("site-packages/")[1].split("/")[0]
        elif path.startswith(str(ROOT)):
            key = "/".join(Path(path).relative_to(ROOT).parts[:2])
        else:
            key = "python stdlib and builtins"
        own[key] += tottime
    total = sum(own.values()) or 1.0
    top = sorted(own.items(), key=lambda kv: -kv[1])[:8]
    return ["own time by package: " + ", ".join(f"{k} {v / total:.0%}" for k, v in top)]


def profile(endpoint: str, plan: dict[str, Any], n: int = 60) -> list[str]:
    """The endpoint's requests run in-process (Django test client, same settings and database) under
    cProfile: wall and CPU time and SQL queries per request, own time by package, the project's
    functions by cumulative time and the hottest functions by own time."""
    client = Client()
    prof = cProfile.Profile()
    walls: list[float] = []
    cpus: list[float] = []
    queries: list[int] = []
    for i in range(n):
        if endpoint == mix.PATIENT_PAGE:
            c = plan["clinicians"][i % len(plan["clinicians"])]
            actor: Any = mix.Clinician(session=c["session"], patients=c["patients"], rng=random.Random(i))
            action = mix.action_patient_page(actor)
        else:
            actor = mix.Person.from_plan(plan["people"][i % len(plan["people"])], seed=10_000 + i)
            action = mix.PERSON_ACTIONS[ACTION_OF[endpoint]](actor)
        with contextlib.suppress(StopIteration):
            req = next(action)
            while True:
                hot = req.name == endpoint
                with CaptureQueriesContext(connection) as q:
                    wall, cpu = time.perf_counter(), time.process_time()
                    if hot:
                        prof.enable()
                    resp = client.generic(req.method, req.path, req.body or b"", content_type="application/json",
                                          headers=actor.headers)  # fmt: skip
                    if hot:
                        prof.disable()
                        walls.append((time.perf_counter() - wall) * 1000)
                        cpus.append((time.process_time() - cpu) * 1000)
                if hot:
                    queries.append(len(q.captured_queries))
                req = action.send(resp.content)
    out = [f"profile of {endpoint} (the most server time: count x idle p50): {len(walls)} requests in-process "
           f"(Django test client: no HTTP, no other load), median {statistics.median(walls):.1f} ms wall, "
           f"{statistics.median(cpus):.1f} ms CPU under cProfile, {statistics.median(queries):.0f} SQL queries each",
           *_by_package(prof)]  # fmt: skip
    for title, sort, restrict in (("this project's functions by cumulative time", "cumulative", rf"{ROOT}/(diary|reminders|backend)/"),
                                  ("hottest functions by own time", "tottime", "")):  # fmt: skip
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats(sort).print_stats(*([restrict, 14] if restrict else [14]))
        text = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
        start = next((k for k, ln in enumerate(text) if ln.lstrip().startswith("ncalls")), 0)
        out += [f"{title}:", *(ln.replace(str(ROOT) + "/", "").replace(".venv/lib/python3.11/site-packages/", "")[:140]
                                for ln in text[start:])]  # fmt: skip
    return out
