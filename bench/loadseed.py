"""Seeding for bench/load.py (Django must be set up): people with 90 days of history, clinicians, their
signed-in web sessions, and the plan the locust users read.

People are made in bulk (one Argon2 hash, computed once, shared by all: nobody signs in with a password
during the run; they carry JWTs minted here). Everything else goes through the app's own services
where a row has behaviour attached: the default reminders (``reminders_create_defaults``), inbox
notifications (``notifications_create``), shares (``share_invite`` / ``share_redeem``), Web Push devices
(``device_register``). Episodes and check-ins are parsed by the tables' own specs and inserted in bulk
with stamps claimed from each person's sequence, like a sync push does. Clinicians sign in through
the real login form and the TOTP second factor (Django's test client, in this process).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyotp
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from diary.accounts.models import TotpDevice, User
from diary.accounts.services import user_make_clinician, user_register
from diary.checkins.models import CheckIn
from diary.checkins.spec import CHECKIN
from diary.core.fields import REST, zone
from diary.demo import _day_exposures, _episode, _poisson
from diary.episodes.models import Episode
from diary.episodes.spec import EPISODE
from diary.notifications.devices import device_register
from diary.notifications.inbox import NewNotification, notifications_create
from diary.notifications.models import Notification
from diary.sharing.services import share_invite, share_redeem
from diary.sync.models import SyncState
from diary.sync.registry import RENDERERS
from diary.sync.sequence import sequence_claim_many
from reminders.content import reminder_text
from reminders.models import ReminderRule
from reminders.services import reminders_create_defaults

DOMAIN = "@load.bench.invalid"
# A world-wide user base: at any hour some people are awake and their reminders fire.
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "America/Los_Angeles",
         "Asia/Kolkata", "Europe/London", "America/Sao_Paulo", "Africa/Lagos", "Pacific/Auckland")  # fmt: skip
HISTORY_DAYS = 90
BATCH = 100


def _chunks(items: list[Any], size: int = BATCH) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def wipe() -> None:
    """Every account and what hangs off it (this database is the benchmark's own)."""
    with connection.cursor() as cur:
        cur.execute("TRUNCATE accounts_user, django_session CASCADE")


def people_create(n: int) -> list[User]:
    pw_hash = make_password(secrets.token_urlsafe(16))  # Argon2, once
    users = [
        User(
            email=f"p{i:05d}{DOMAIN}",
            password=pw_hash,
            timezone=ZONES[i % len(ZONES)],
            display_name=f"Person {i}",
            wake_time=dt.time(7, 0),
            sleep_time=dt.time(23, 0),
        )
        for i in range(n)
    ]
    User.objects.bulk_create(users, batch_size=1000)
    users = list(User.objects.filter(email__endswith=DOMAIN, is_clinician=False).order_by("email"))
    SyncState.objects.bulk_create([SyncState(user=u) for u in users], batch_size=1000)
    for user in users:
        reminders_create_defaults(user=user)
    return users


def _history(user: User, rng: random.Random, today: dt.date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """90 days of check-ins (88% of days) and episodes whose rates follow the day's exposures (diary.demo)."""
    tz = zone(user.timezone)
    now = dt.datetime.now(tz)
    episodes, checkins = [], []
    for back in range(HISTORY_DAYS, 0, -1):
        day = today - dt.timedelta(days=back)
        ex = _day_exposures(rng)
        if rng.random() < 0.88:
            checkins.append({**ex, "date": day.isoformat()})
        water = int(ex["water_ml"])
        rates = {
            "cramp": 0.25 * (2.0 if water < 1500 else 1.0) * (1.8 if ex["exercise_intensity"] == "vigorous" else 1.0),
            "spasm": 0.12 * (2.0 if float(ex["sitting_h"]) > 8 else 1.0),
            "twitch": 0.15 * (1.8 if float(ex["sleep_h"]) < 6 else 1.0),
        }
        for kind, rate in rates.items():
            for _ in range(_poisson(rng, rate)):
                data = {**_episode(rng, kind, day, tz, ex), "tz": user.timezone}
                if dt.datetime.fromisoformat(str(data["started_at"])) < now:
                    episodes.append(data)
    return episodes, checkins


def history_create(users: list[User]) -> int:
    """Episodes and check-ins, parsed by the tables' specs, stamped from each person's sequence."""
    today = dt.datetime.now(dt.UTC).date()
    total = 0
    for batch in _chunks(users):
        made = {u.pk: _history(u, random.Random(u.pk), today) for u in batch}
        made = {user_id: (e, c) for user_id, (e, c) in made.items() if e or c}
        with transaction.atomic():
            firsts = sequence_claim_many(counts={user_id: len(e) + len(c) for user_id, (e, c) in made.items()})
            rows_e, rows_c = [], []
            for user_id, (episodes, checkins) in made.items():
                seq = firsts[user_id]
                for i, data in enumerate(episodes):
                    values, errors = EPISODE.clean(data, REST, strict=True)
                    assert not errors, errors
                    at = values["started_at"] + dt.timedelta(seconds=values["duration_s"] or 0)
                    values.update(created_at=at, updated_at=at)
                    rows_e.append(Episode(user_id=user_id, uid=f"h{i:04d}{secrets.token_hex(4)}", seq=seq, **values))
                    seq += 1
                for data in checkins:
                    values, errors = CHECKIN.clean(data, REST, strict=True)
                    assert not errors, errors
                    at = dt.datetime.combine(values["date"], dt.time(21, 0), tzinfo=dt.UTC)
                    values.update(created_at=at, updated_at=at)
                    rows_c.append(CheckIn(user_id=user_id, uid=data["date"], seq=seq, **values))
                    seq += 1
            Episode.objects.bulk_create(rows_e, batch_size=2000)
            CheckIn.objects.bulk_create(rows_c, batch_size=2000)
            total += len(rows_e) + len(rows_c)
    return total


def notifications_seed(users: list[User], per_person: int) -> int:
    """The latest ``per_person`` hydration reminders each person left unanswered (every 2 h while awake)."""
    rules = {r.user_id: r for r in ReminderRule.objects.filter(user__in=users, kind="hydration")}
    text = reminder_text(kind="hydration", label=None)
    made = 0
    for batch in _chunks(users):
        items = []
        for user in batch:
            rule, tz = rules[user.pk], zone(user.timezone)
            slot = dt.datetime.now(tz).replace(minute=0, second=0, microsecond=0)
            fired = 0
            while fired < per_person:
                slot -= dt.timedelta(hours=1)
                if slot.hour % 2 or not 8 <= slot.hour <= 22:
                    continue
                items.append(NewNotification(user_id=user.pk, kind="reminder", title=text.title, body=text.body,
                                             scheduled_for=slot, reminder_id=rule.uid))  # fmt: skip
                fired += 1
        with transaction.atomic():
            made += len(notifications_create(items=items))
    return made


def clinicians_create(users: list[User], per_clinician: int) -> list[tuple[User, str, list[str]]]:
    """Clinicians, each with the active shares of ``per_clinician`` people (no notes). Returns
    (clinician, password, share ids)."""
    out = []
    for k, patients in enumerate(_chunks(users, per_clinician)):
        password = secrets.token_urlsafe(18)
        doctor = user_make_clinician(user=user_register(
            email=f"dr{k:03d}{DOMAIN}", password=password, timezone="Europe/Berlin", display_name=f"Dr. {k}",
            default_reminders=False))  # fmt: skip
        shares = []
        for patient in patients:
            share, code = share_invite(patient=patient, data={"scopes": ["episodes", "checkins", "insights", "alerts"]})
            share_redeem(clinician=doctor, code=code)
            shares.append(share.uid)
        out.append((doctor, password, shares))
    return out


def clinician_session(doctor: User, password: str) -> str:
    """Sign in at /accounts/login/, pass the TOTP second factor at /clinician/2fa/; the session id."""
    client = Client()
    for _ in range(30):  # 20 doctors signing in from one address within a second meet the burst limit
        resp = client.post("/accounts/login/", {"username": doctor.email, "password": password})
        if resp.status_code != 429:
            break
        time.sleep(float(resp.get("Retry-After") or 1))  # as a browser's user would, after the message
    assert resp.status_code == 302, f"login answered {resp.status_code}"
    assert client.get("/clinician/2fa/").status_code == 200  # enrols the authenticator (a new secret)
    secret = TotpDevice.objects.get(user=doctor).secret
    resp = client.post("/clinician/2fa/", {"code": pyotp.TOTP(secret).now()})
    assert resp.status_code == 302 and resp["Location"] == "/clinician/", "second factor refused"
    return str(client.cookies["sessionid"].value)


def devices_create(users: list[User], endpoint_for: Callable[[], tuple[str, dict[str, str]]]) -> None:
    """One Web Push subscription per person (a phone's browser), on the loopback push service."""
    for user in users:
        endpoint, keys = endpoint_for()
        device_register(user=user, data={"platform": "webpush", "token": endpoint, "keys": keys, "label": "phone"})


def person_plan(user: User, seed: int) -> dict[str, Any]:
    """What the person's phone holds after its last sync: a token, the cursor, its latest episodes and
    the unanswered notifications it has not displayed yet."""

    def raw(table: str, qs: Any) -> list[dict[str, Any]]:
        columns, render = RENDERERS[table].wire(connection.vendor)
        return [render(row) for row in qs.values_list(*columns)]

    live = {"user_id": user.pk, "deleted_at__isnull": True}
    episodes = raw("episodes", Episode.objects.filter(**live).order_by("-started_at")[:3])
    inbox = Notification.objects.filter(**live, action__isnull=True, delivered_at__isnull=True)
    cursor = SyncState.objects.filter(user_id=user.pk).values_list("seq", flat=True).get()
    return {"token": str(AccessToken.for_user(user)), "tz": user.timezone, "cursor": cursor, "seed": seed,
            "episodes": episodes, "notifications": raw("notifications", inbox.order_by("-scheduled_for")[:10])}  # fmt: skip
