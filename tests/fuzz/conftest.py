"""The world the fuzzer runs in: two people with a full diary each, a clinician each, and the check that
no response shows one person's data to anyone else.

Every row is made through the services (the write path the API uses), so the fuzzer meets the data a
real account has: episodes with red flags (alerts and their notifications), check-ins, glasses of
water, reminders, a push device, insights, shares with their access log and a clinician's thresholds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone

from diary.accounts.models import User
from diary.accounts.second_factor import tokens_for
from diary.accounts.services import user_make_clinician, user_update_profile
from diary.accounts.throttles import PersonThrottle
from diary.alerts.models import Alert, ThresholdOverride
from diary.alerts.thresholds import thresholds_set
from diary.checkins.models import WaterIntake
from diary.checkins.services import checkin_create
from diary.checkins.water import water_log
from diary.episodes.services import episode_create
from diary.notifications.devices import device_register
from diary.notifications.models import Device, Notification
from diary.patterns.services import insights_run
from diary.sharing.models import Share
from diary.sharing.scoped import access_record
from diary.sharing.services import share_invite, share_redeem, share_revoke
from diary.sync.models import SyncState
from reminders.models import ReminderRule
from reminders.services import reminder_create
from tests.conftest import episode_body, iso_ago, make_user, run_outbox
from tests.support.pushservers import b64url, ec_public_raw

ALL_SCOPES = ["episodes", "checkins", "notes", "insights", "alerts"]

# Collections whose item paths take an id (/api/v1/<collection>/{uid}): real ids feed those.
COLLECTIONS = ("episodes", "checkins", "water", "reminders", "notifications", "devices", "alerts", "shares")


@dataclass
class Diary:
    """One person's rows as the API names them: ids by collection, and the text only they wrote."""

    user: User
    marker: str
    ids: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class World:
    person: Diary  # A: the fuzzer signs in as them
    other: Diary  # B: nothing of theirs may ever show
    clinician: User  # has an active share from A only (and a revoked one from B)
    other_clinician: User  # B's clinician
    person_share: str  # A's share to the clinician: the clinician's patient id for A
    other_shares: list[str]  # B's shares: to their clinician (active), to ours (revoked), an invitation
    other_before: dict[str, Any]  # B's fingerprint once the world was made

    @functools.cached_property
    def person_headers(self) -> dict[str, str]:
        return bearer(self.person.user)

    @functools.cached_property
    def clinician_headers(self) -> dict[str, str]:
        return bearer(self.clinician)

    @functools.cached_property
    def no_leak(self) -> Callable[..., None]:
        return no_leak_check(self)

    def assert_other_untouched(self) -> None:
        after = fingerprint(self.other.user)
        changed = {k: (self.other_before[k], after[k]) for k in after if after[k] != self.other_before[k]}
        assert not changed, f"B's data changed while only A and A's clinician made requests: {changed}"

    @property
    def secrets(self) -> frozenset[str]:
        """Strings that only B's data contains: B's email, B's clinician's email, the marker planted in
        every text field B wrote, and the ids of B's rows (check-in ids are dates, shared by everyone,
        so they are not among them; their notes carry the marker)."""
        ids = {uid for name, uids in self.other.ids.items() if name != "checkins" for uid in uids}
        return frozenset({self.other.user.email, self.other_clinician.email, self.other.marker, *ids})

    def pools(self, *, as_clinician: bool) -> dict[str, tuple[list[str], list[str]]]:
        """Per path-parameter pool: (ids the caller may reach, B's ids that must stay out of reach)."""
        pools = {name: (self.person.ids.get(name, []), self.other.ids.get(name, [])) for name in COLLECTIONS}
        if as_clinician:
            pools["pid"] = ([self.person_share], self.other_shares)
        return pools


def fingerprint(user: User) -> dict[str, Any]:
    """Everything of one person's that someone else could change through the API. Every write to a
    synced row (episodes, check-ins, reminders, notifications, alerts) advances the person's sequence,
    so the sequence stands for all of those."""
    return {
        "sequence": SyncState.objects.get(user=user).seq,
        "account": list(User.objects.filter(pk=user.pk).values_list(
            "email", "password", "is_active", "is_clinician", "display_name", "timezone", "home_timezone",
            "device_timezone", "wake_time", "sleep_time", "emergency_contact_name", "emergency_contact_email",
        )),
        "shares": list(Share.objects.filter(patient=user).order_by("pk").values_list(
            "uid", "clinician_id", "scopes", "window_start", "window_end", "ends_at", "redeemed_at", "revoked_at"
        )),
        "thresholds": list(
            ThresholdOverride.objects.filter(patient=user).order_by("pk").values_list("clinician_id", "name", "value")
        ),
        "devices": list(Device.objects.filter(user=user).order_by("pk").values_list("uid", "token", "label", "active")),
        "water": list(WaterIntake.objects.filter(user=user).order_by("pk").values_list("uid", "logged_at", "amount_ml")),
    }  # fmt: skip


def bearer(user: User) -> dict[str, str]:
    """An access token, as the app gets after signing in (one per test: each one is a row); a
    clinician's passed the second factor."""
    return {"Authorization": f"Bearer {tokens_for(user, second_factor=user.is_clinician)['access']}"}


def _webpush_keys() -> dict[str, str]:
    return {
        "p256dh": b64url(ec_public_raw(ec.generate_private_key(ec.SECP256R1()))),
        "auth": b64url(secrets.token_bytes(16)),
    }


def _uid(tag: str, kind: str) -> str:
    return f"{tag}-{kind}-{secrets.token_hex(8)}"


def fill_diary(user: User, *, tag: str, days_back: int) -> Diary:
    """A lived-in diary: three episodes (one urgent and one high red flag), two check-ins, a glass of
    water, a reminder, a device, insights; every free-text field carries the person's marker."""
    marker = f"{tag}-marker-{secrets.token_hex(6)}"
    user_update_profile(
        user=user,
        changes={
            "display_name": marker,
            "emergency_contact_name": marker,
            "emergency_contact_email": f"{marker}@example.net",
        },
    )
    diary = Diary(user=user, marker=marker)
    episodes = [
        episode_body(id=_uid(tag, "ep"), notes=marker, started_at=iso_ago(hours=5)),
        episode_body(id=_uid(tag, "ep"), notes=marker, pain=9, started_at=iso_ago(hours=30)),
        episode_body(
            id=_uid(tag, "ep"), notes=marker, pain=5, body_location="chest", symptoms=["breathing_difficulty"],
            started_at=iso_ago(days=2),
        ),
    ]  # fmt: skip
    diary.ids["episodes"] = [episode_create(user=user, data=body).uid for body in episodes]
    today = timezone.now().date()
    diary.ids["checkins"] = [
        checkin_create(
            user=user,
            data={"date": (today - dt.timedelta(days=days_back + i)).isoformat(), "water_ml": 900, "notes": marker},
        ).uid
        for i in range(2)
    ]
    diary.ids["water"] = [water_log(user=user, data={"id": _uid(tag, "water"), "amount_ml": 250})[0].uid]
    reminder = {"id": _uid(tag, "rem"), "kind": "stretching", "schedule": "times", "times": ["08:00"], "label": marker}
    reminder_create(user=user, data=reminder)
    diary.ids["reminders"] = list(ReminderRule.objects.filter(user=user).values_list("uid", flat=True))
    device, _ = device_register(
        user=user,
        data={
            "platform": "webpush",
            "token": f"https://push.example.com/{_uid(tag, 'sub')}",
            "keys": _webpush_keys(),
            "label": marker,
        },
    )
    diary.ids["devices"] = [device.uid]
    run_outbox()  # red flags: alerts, and the notifications that tell of them
    run_outbox()
    diary.ids["alerts"] = list(Alert.objects.filter(user=user).values_list("uid", flat=True))
    insights_run(user=user)
    return diary


def _share(patient: User, clinician: User | None) -> Share:
    share, code = share_invite(patient=patient, data={"scopes": ALL_SCOPES})
    return share_redeem(clinician=clinician, code=code) if clinician is not None else share


@contextlib.contextmanager
def connection_kept_across_requests() -> Iterator[None]:
    """Requests made in-process, in this thread, inside a transaction the test holds: the app must not
    close the connection at the end of a request (it would end the transaction), which is what
    Django's test client arranges the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def unthrottled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lift the per-person rate limit (1200/min): the fuzzer sends thousands of requests a minute as one
    person, and past the limit every answer would be the (documented) 429 and nothing else would be
    tested. The limit itself is tested in tests/backend/test_security.py. DRF binds the rates when the
    class is defined, so the class attribute is what to patch (as tests/accounts does)."""
    monkeypatch.setattr(PersonThrottle, "THROTTLE_RATES", {**PersonThrottle.THROTTLE_RATES, "user": None})


@pytest.fixture
def world(transactional_db: None, webpush_on: None, unthrottled: None) -> Iterator[World]:
    """A real database in autocommit, as in production: the app runs in-process and commits. Afterwards
    B's data must be as it was: answers only show reads, this catches writes (a delete answers 204 and
    shows nothing, whose ever row it was)."""
    person = fill_diary(
        make_user(f"a-{secrets.token_hex(4)}@example.com", default_reminders=True), tag="a", days_back=1
    )
    other = fill_diary(
        make_user(f"b-{secrets.token_hex(4)}@example.com", timezone="America/New_York", default_reminders=True),
        tag="b",
        days_back=5,
    )
    clinician = user_make_clinician(user=make_user(f"doc-a-{secrets.token_hex(4)}@example.com", display_name="Dr A"))
    other_clinician = user_make_clinician(
        user=make_user(f"doc-b-{secrets.token_hex(4)}@example.com", display_name=f"Dr {other.marker}")
    )
    person_share = _share(person.user, clinician)
    _share(person.user, None)  # an invitation nobody redeemed yet
    other_active = _share(other.user, other_clinician)
    other_revoked = share_revoke(patient=other.user, uid=_share(other.user, clinician).uid)
    other_pending = _share(other.user, None)
    for share in (person_share, other_active):  # reads the person sees in their access log
        access_record(share=share, what="episodes")
    thresholds_set(patient=other.user, clinician=other_clinician, changes={"severe_pain": 7})
    for diary in (person, other):
        diary.ids["shares"] = list(Share.objects.filter(patient=diary.user).values_list("uid", flat=True))
        diary.ids["notifications"] = list(Notification.objects.filter(user=diary.user).values_list("uid", flat=True))
    world = World(
        person=person,
        other=other,
        clinician=clinician,
        other_clinician=other_clinician,
        person_share=person_share.uid,
        other_shares=[other_active.uid, other_revoked.uid, other_pending.uid],
        other_before=fingerprint(other.user),
    )
    yield world
    world.assert_other_untouched()


def no_leak_check(world: World) -> Callable[..., None]:
    """A schemathesis check: the response (body and headers) holds none of B's strings, unless the
    request itself carried it (a 404 may name the id it was asked for; that tells nothing)."""
    hidden = world.secrets

    def no_other_persons_data(ctx: Any, response: Any, case: Any) -> None:
        request = response.request
        sent = f"{request.url} {request.body!r} {dict(request.headers)!r}"
        shown = response.content.decode("utf-8", "replace") + repr(dict(response.headers))
        leaked = sorted(s for s in hidden if s in shown and s not in sent)
        if leaked:
            raise AssertionError(f"{case.operation.label} answered {response.status_code} showing B's data: {leaked}")

    return no_other_persons_data


# Fields the schema can only call "a string": a real IANA zone gets a body past validation, so the
# fuzzer reaches the writes behind it (and with odd offsets, the local-day maths).
ZONE_FIELDS = ("tz", "timezone", "home_timezone", "device_timezone")
ZONES = ["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Pacific/Chatham", "Pacific/Kiritimati"]


def aim_inputs(schema: Any, pools: dict[str, tuple[list[str], list[str]]]) -> None:
    """Let path parameters take real ids as well as generated text: the caller's own (to get past the
    404 into the code behind it) and B's (to try reading, changing or deleting what is not theirs).
    A PUT never gets B's ids: it would create the caller's own row under that id, which is allowed.
    Zone fields in bodies may take real zones as well."""

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
        if not path_parameters:
            return st.just(path_parameters)
        operation = context.operation
        segments = operation.path.strip("/").split("/")
        drawn: dict[str, st.SearchStrategy[Any]] = {}
        for name, generated in path_parameters.items():
            drawn[name] = st.just(generated)
            if name == "pid":
                pool = pools.get("pid")
            elif name == "uid" and "clinician" in segments:
                pool = pools.get("alerts")
            else:
                pool = pools.get(segments[2]) if len(segments) > 2 else None
            if not pool:
                continue
            own, others = pool
            values = own + ([] if operation.method.upper() == "PUT" else others)
            if values:
                drawn[name] = st.one_of(st.sampled_from(values), st.just(generated))
        return st.fixed_dictionaries(drawn)

    @schema.hook
    def flatmap_body(context: Any, body: Any) -> Any:
        if not isinstance(body, dict) or not any(isinstance(body.get(k), str) for k in ZONE_FIELDS):
            return st.just(body)
        zones = {
            k: st.one_of(st.just(body[k]), st.sampled_from(ZONES)) for k in ZONE_FIELDS if isinstance(body.get(k), str)
        }
        return st.fixed_dictionaries(zones).map(lambda chosen: {**body, **chosen})


def load_schema(config: dict[str, Any]) -> Any:
    from backend.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/", application, config=schemathesis.Config.from_dict(config))
