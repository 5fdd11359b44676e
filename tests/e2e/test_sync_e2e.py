"""The published WatermelonDB client (tests/e2e/client.mjs) against the live server (SYNC.md).

Each scenario asserts the final state of the server and of every device database."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any, cast

import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from diary.accounts.models import User
from diary.checkins.models import CheckIn
from diary.core.fields import datetime_to_ms
from diary.episodes.models import Episode
from diary.sync import tasks
from tests.conftest import client_for, make_user
from tests.diary.sync.helpers import changes, push, raw_episode
from tests.e2e.harness import Device

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

T0 = datetime_to_ms(dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)) // 1000 * 1000


def episode(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": "cramp", "subtype": "nocturnal", "body_location": "calf", "side": "left", "started_at": T0,
        "tz": "Europe/Berlin", "duration_s": 60, "pain": 4, "symptoms": "[]", "triggers": '["dehydration"]',
        "activity": "sleep", "relief": "[]", "relief_score": 5, "notes": "",
    }  # fmt: skip
    base.update(fields)
    return base


def token(user: User) -> str:
    return str(RefreshToken.for_user(user).access_token)


@pytest.fixture
def person(db: None) -> User:
    return make_user("phone-owner@example.com")


@pytest.fixture
def devices(live_server: Any, person: User) -> Iterator[list[Device]]:
    made = [Device(name, base_url=live_server.url, token=token(person)) for name in ("phone", "tablet")]
    yield made
    for device in made:
        device.close()


def server_episodes(user: User) -> dict[str, Episode]:
    return {e.uid: e for e in Episode.objects.filter(user=user, deleted_at__isnull=True)}


def ok(result: Any) -> Any:
    assert result["ok"] and not result["protocolProblems"], result
    return result


def test_two_devices_logging_offline_converge(devices: list[Device], person: User) -> None:
    phone, tablet = devices
    a = phone.create("episodes", episode(pain=7))
    b = tablet.create("episodes", episode(body_location="neck", kind="spasm", subtype="tonic"))
    for device in (phone, tablet, phone):
        ok(device.sync())
    assert set(server_episodes(person)) == {a, b}
    assert set(phone.rows("episodes")) == set(tablet.rows("episodes")) == {a, b}
    assert phone.rows("episodes")[b]["body_location"] == "neck" and tablet.rows("episodes")[a]["pain"] == 7


def test_a_delete_sticks(devices: list[Device], person: User) -> None:
    phone, tablet = devices
    a = phone.create("episodes", episode())
    ok(phone.sync())
    ok(tablet.sync())
    phone.delete("episodes", a)
    ok(phone.sync())
    ok(phone.sync())  # the next pull must not bring it back
    ok(tablet.sync())
    assert phone.get("episodes", a) is None and tablet.get("episodes", a) is None
    assert Episode.objects.get(uid=a).deleted_at is not None


def test_edit_on_one_device_delete_on_the_other(devices: list[Device], person: User) -> None:
    phone, tablet = devices
    a = phone.create("episodes", episode())
    ok(phone.sync())
    ok(tablet.sync())
    phone.delete("episodes", a)
    tablet.update("episodes", a, {"pain": 9})
    ok(phone.sync())
    ok(tablet.sync())  # the remote deletion wins over the unsynced edit
    ok(phone.sync())
    assert a not in server_episodes(person)
    assert phone.get("episodes", a) is None and tablet.get("episodes", a) is None


def test_racing_pushes_409_then_converge_keeping_both_edits(devices: list[Device], person: User) -> None:
    phone, tablet = devices
    a = phone.create("episodes", episode(pain=3))
    ok(phone.sync())
    ok(tablet.sync())
    phone.update("episodes", a, {"pain": 8})
    tablet.update("episodes", a, {"notes": "after a long run"})
    ok(phone.sync())
    # The tablet's cursor predates the phone's push. Push it the way synchronize() would if the
    # phone's push had landed between the tablet's pull and push: with the old cursor.
    stale = tablet.all("episodes")[0]["raw"]
    cursor = Episode.objects.get(uid=a).seq - 1
    answer = push(client_for(person), cursor, changes(episodes={"updated": [stale]}), status=409)
    assert answer["conflicts"] == {"episodes": [a]}
    ok(tablet.sync())  # pull merges per column (local notes, remote pain), then pushes
    ok(phone.sync())
    row = Episode.objects.get(uid=a)
    assert (row.pain, row.notes) == (8, "after a long run")
    for device in (phone, tablet):
        assert (device.rows("episodes")[a]["pain"], device.rows("episodes")[a]["notes"]) == (8, "after a long run")


class LosingProxy(http.server.ThreadingHTTPServer):
    """Forwards to the live server, but loses the answer to the first push (a dropped connection)."""

    def __init__(self, target: str) -> None:
        self.target, self.lost = target, 0
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: LosingProxy

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        request = urllib.request.Request(self.server.target + self.path, data=body, method=self.command)  # noqa: S310
        for name in ("Authorization", "Content-Type"):
            if self.headers.get(name):
                request.add_header(name, self.headers[name])
        try:
            with urllib.request.urlopen(request, timeout=60) as upstream:  # noqa: S310 (loopback only)
                status, payload = upstream.status, upstream.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        if "/sync/push" in self.path and self.server.lost == 0:
            self.server.lost += 1  # the server applied it; the answer never reaches the device
            status, payload = 502, b'{"error": "bad_gateway"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_lost_push_response_creates_nothing_twice(live_server: Any, person: User) -> None:
    proxy = LosingProxy(live_server.url)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        with Device("phone", base_url=f"http://127.0.0.1:{proxy.server_address[1]}", token=token(person)) as phone:
            a = phone.create("episodes", episode())
            phone.create("checkins", {"date": "2026-11-01", "water_ml": 900}, id="2026-11-01")
            failed = phone.sync()
            assert not failed["ok"] and proxy.lost == 1
            assert phone.get("episodes", a)["status"] == "created"  # type: ignore[index]
            ok(phone.sync())  # the same records are pushed again
            assert {r["status"] for r in phone.all("episodes") + phone.all("checkins")} == {"synced"}
    finally:
        proxy.shutdown()
    assert Episode.objects.filter(user=person).count() == 1
    assert CheckIn.objects.filter(user=person).count() == 1


def test_two_devices_logging_the_same_day_end_with_one_check_in_holding_both(
    devices: list[Device], person: User
) -> None:
    phone, tablet = devices
    day = "2026-11-02"
    phone.create("checkins", {"date": day, "water_ml": 1800}, id=day)
    tablet.create("checkins", {"date": day, "stress": 6, "notes": "deadline"}, id=day)
    ok(phone.sync())
    ok(tablet.sync())
    ok(phone.sync())
    row = CheckIn.objects.get(user=person, uid=day)
    assert (row.water_ml, row.stress, row.notes) == (1800, 6, "deadline")
    for device in (phone, tablet):
        local = device.rows("checkins")[day]
        assert (local["water_ml"], local["stress"], local["notes"]) == (1800, 6, "deadline")


def test_a_paged_first_sync_of_20000_records(live_server: Any, person: User) -> None:
    days = [(dt.date(2021, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(1_800)]
    body = changes(
        episodes={"created": [raw_episode(f"p{i}") for i in range(18_200)]},
        checkins={"created": [{"id": d, "date": d, "water_ml": 1500} for d in days]},
    )
    push(client_for(person), 1, body)
    with Device("new-phone", base_url=live_server.url, token=token(person), timeout=300) as phone:
        result = ok(phone.sync(limit=2_000, timeout=300))
        assert result["pulls"] == 10
        assert len(phone.rows("episodes")) == 18_200 and len(phone.rows("checkins")) == 1_800


def test_a_cursor_older_than_the_purge_watermark_gets_a_replacement(devices: list[Device], person: User) -> None:
    phone, tablet = devices
    keep = phone.create("episodes", episode(pain=2))
    gone = phone.create("episodes", episode(pain=5))
    ok(phone.sync())
    ok(tablet.sync())
    phone.delete("episodes", gone)
    ok(phone.sync())
    Episode.objects.filter(uid=gone).update(deleted_at=timezone.now() - dt.timedelta(days=400))
    assert tasks.purge_tombstones() == 1
    result = ok(tablet.sync())  # the tablet never heard of the deletion, and the tombstone is gone
    assert result["strategies"][0] == "replacement"
    assert set(tablet.rows("episodes")) == {keep} == set(server_episodes(person))


def test_another_person_never_pulls_or_overwrites_the_first_persons_records(
    live_server: Any, devices: list[Device], person: User
) -> None:
    phone, _ = devices
    a = phone.create("episodes", episode(pain=7, notes="mine"))
    ok(phone.sync())
    stranger = make_user("stranger@example.com")
    with Device("stranger", base_url=live_server.url, token=token(stranger)) as theirs:
        ok(theirs.sync())
        assert theirs.rows("episodes") == {}
        theirs.create("episodes", episode(pain=0, notes="theirs"), id=a)  # the very same id
        ok(theirs.sync())
        theirs.delete("episodes", a)
        ok(theirs.sync())
    ok(phone.sync())
    mine = Episode.objects.get(user=person, uid=a)
    assert (mine.pain, mine.notes, mine.deleted_at) == (7, "mine", None)
    assert phone.rows("episodes")[a]["notes"] == "mine"
    assert Episode.objects.get(user=stranger, uid=a).deleted_at is not None


def test_a_server_created_alert_arrives_on_the_next_pull(devices: list[Device], person: User) -> None:
    from diary.alerts.models import Alert
    from diary.alerts.tables import ALERTS
    from diary.sync.writes import server_rows_create

    phone, tablet = devices
    ok(phone.sync())
    (made,) = server_rows_create(
        table=ALERTS,
        user_id=person.pk,
        rows=[{"rule": "breathing_difficulty", "severity": "urgent", "title": "Breathing difficulty",
               "guidance": "Call emergency services now.", "episode_uid": "ep-1", "status": "open",
               "opened_at": timezone.now()}],
    )  # fmt: skip
    alert = cast(Alert, made)
    ok(phone.sync())
    local = phone.rows("alerts")[alert.uid]
    # The model's episode_uid travels under the wire column SYNC.md names, episode_id.
    assert (local["severity"], local["status"], local["episode_id"]) == ("urgent", "open", "ep-1")
    phone.update("alerts", alert.uid, {"acknowledged_at": datetime_to_ms(timezone.now())})
    ok(phone.sync())
    alert.refresh_from_db()
    assert alert.status == "acknowledged"
    ok(tablet.sync())
    assert tablet.rows("alerts")[alert.uid]["status"] == "acknowledged"
