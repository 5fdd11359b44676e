"""Demo data: a person with 90 days of realistic episodes and check-ins, and a clinician.

The diary is generated, not random noise: night calf cramps are more likely after low-water and
vigorous-exercise days, back spasms follow long sitting, eyelid twitches follow short sleep and
caffeine, so pattern detection has something true to find. Deterministic for a given day.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from diary.accounts.models import User
from diary.accounts.services import user_make_clinician, user_register
from diary.checkins.services import checkin_put
from diary.core.fields import zone
from diary.episodes.services import episode_put
from diary.sharing.services import share_invite, share_redeem

DEMO_TZ = "Europe/Berlin"


@dataclass(frozen=True)
class DemoLogins:
    patient: tuple[str, str] = ("demo@example.com", "demo-diary-2026")
    clinician: tuple[str, str] = ("clinician@example.com", "clinician-demo-2026")


def _day_exposures(rng: random.Random) -> dict[str, Any]:
    vigorous = rng.random() < 0.2
    hot = rng.random() < 0.25
    return {
        "water_ml": int(rng.triangular(700, 3200, 1900) // 50 * 50),
        "caffeine_servings": rng.choice([0, 1, 1, 2, 2, 3, 4]),
        "alcohol_units": rng.choice([0.0, 0.0, 0.0, 1.0, 2.0]),
        "exercise_min": rng.choice([0, 20, 30, 45, 60]) if not vigorous else rng.choice([45, 60, 90]),
        "exercise_intensity": "vigorous" if vigorous else rng.choice(["none", "light", "moderate"]),
        "hot_weather": hot,
        "sleep_h": round(rng.gauss(7.0, 1.0), 1),
        "stress": max(0, min(10, int(rng.gauss(4, 2)))),
        "sitting_h": round(max(0.0, rng.gauss(6, 2)), 1),
        "stretched": rng.random() < 0.4,
        "medications": ["statin"],
        "menstruating": False,
        "fluid_changes": rng.random() < 0.08,
    }


def seed_demo(*, days: int = 90, today: dt.date | None = None) -> DemoLogins:
    """Create the demo accounts and diary unless they exist. Returns the logins."""
    logins = DemoLogins()
    if User.objects.filter(email=logins.patient[0]).exists():
        return logins
    rng = random.Random(2026)  # nosec B311
    tz = zone(DEMO_TZ)
    today = today or dt.datetime.now(tz).date()
    with transaction.atomic():
        person = user_register(
            email=logins.patient[0], password=logins.patient[1], timezone=DEMO_TZ, display_name="Demo Person",
            wake_time=dt.time(7, 0), sleep_time=dt.time(23, 0),
        )  # fmt: skip
        clinician = user_register(
            email=logins.clinician[0], password=logins.clinician[1], timezone=DEMO_TZ, display_name="Dr. Demo"
        )
        user_make_clinician(user=clinician)
        clinician.is_staff = clinician.is_superuser = True
        clinician.save(update_fields=["is_staff", "is_superuser"])

    n = 0
    for back in range(days, 0, -1):
        day = today - dt.timedelta(days=back)
        ex = _day_exposures(rng)
        if rng.random() < 0.88:  # people skip a check-in now and then
            checkin_put(user=person, date=day.isoformat(), data={**ex, "date": day.isoformat()})
        water = int(ex["water_ml"])
        rate_cramp = 0.25 * (2.0 if water < 1500 else 1.0) * (1.8 if ex["exercise_intensity"] == "vigorous" else 1.0)
        rate_back = 0.12 * (2.0 if float(ex["sitting_h"]) > 8 else 1.0)
        rate_twitch = (
            0.15 * (1.8 if float(ex["sleep_h"]) < 6 else 1.0) * (1.5 if int(ex["caffeine_servings"]) >= 3 else 1.0)
        )
        for kind, rate in (("cramp", rate_cramp), ("spasm", rate_back), ("twitch", rate_twitch)):
            for _ in range(_poisson(rng, rate)):
                n += 1
                data = _episode(rng, kind, day, tz, ex)
                if dt.datetime.fromisoformat(str(data["started_at"])) < dt.datetime.now(tz):
                    episode_put(user=person, uid=f"demo{n:05d}", data=data)
    # The person shares everything but free-text notes with the demo clinician.

    _, code = share_invite(patient=person, data={"scopes": ["episodes", "checkins", "insights", "alerts"]})
    share_redeem(clinician=clinician, code=code)
    return logins


def _poisson(rng: random.Random, lam: float) -> int:
    k, p, threshold = 0, 1.0, pow(2.718281828459045, -lam)
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def _episode(rng: random.Random, kind: str, day: dt.date, tz: dt.tzinfo, ex: dict[str, Any]) -> dict[str, Any]:
    triggers: list[str] = []
    if kind == "cramp":
        hour = rng.choice([1, 2, 3, 4, 5, 23, 18, 19])
        location, subtype = rng.choice(
            [("calf", "nocturnal"), ("calf", "nocturnal"), ("foot", "at_rest"), ("hamstring", "exertional")]
        )
        duration, pain = rng.randint(20, 240), rng.randint(4, 8)
        activity, relief = ("sleep" if hour < 6 or hour == 23 else "rest"), ["stretching", "massage"]
        if int(ex["water_ml"]) < 1500:
            triggers.append("dehydration")
        if ex["exercise_intensity"] == "vigorous":
            triggers.append("strenuous_exercise")
    elif kind == "spasm":
        hour = rng.randint(9, 20)
        location, subtype = rng.choice([("lower_back", "skeletal"), ("neck", "tonic"), ("upper_back", "skeletal")])
        duration, pain = rng.randint(60, 1800), rng.randint(3, 7)
        activity, relief = rng.choice(["sitting", "working", "standing"]), ["heat", "stretching"]
        triggers += ["prolonged_sitting", "poor_posture"][: rng.randint(0, 2)]
    else:
        hour = rng.randint(8, 22)
        location, subtype = rng.choice(
            [
                ("eyelid", "fasciculation"),
                ("eyelid", "fasciculation"),
                ("calf", "fasciculation"),
                ("biceps", "fasciculation"),
            ]
        )
        duration, pain = rng.randint(2, 60), rng.choice([0, 0, 1])
        activity, relief = rng.choice(["working", "rest", "sitting"]), ["rest"]
        if float(ex["sleep_h"]) < 6:
            triggers.append("poor_sleep")
        if int(ex["caffeine_servings"]) >= 3:
            triggers.append("caffeine")
    minute = rng.randint(0, 59)
    # An hour after midnight belongs to the next local day.
    local_day = day + dt.timedelta(days=1) if hour < 6 else day
    started = dt.datetime.combine(local_day, dt.time(hour, minute), tzinfo=tz)
    return {
        "kind": kind, "subtype": subtype, "body_location": location,
        "side": rng.choice(["left", "right"]) if location not in ("neck", "lower_back", "upper_back") else "midline",
        "started_at": started.isoformat(), "tz": DEMO_TZ, "duration_s": duration, "pain": pain,
        "triggers": triggers, "activity": activity, "relief": relief, "relief_score": rng.randint(3, 9),
        "symptoms": ["lingering_pain"] if kind == "cramp" and pain >= 7 and rng.random() < 0.3 else [],
    }  # fmt: skip
