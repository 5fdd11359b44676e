"""Sharing over REST: a person invites a clinician with a short single-use code and scopes, a clinician
account redeems it, the person lists and revokes. Unknown, used, expired and revoked codes look alike
(404), redeeming is throttled, and revocation bites on the clinician's next request."""

from __future__ import annotations

import datetime as dt
import re
import threading
from typing import Any, cast

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from diary.accounts.models import User
from diary.accounts.services import user_make_clinician
from diary.accounts.throttles import RedeemThrottle
from diary.notifications.models import Notification
from diary.sharing.models import Share
from diary.sharing.services import code_hash
from tests.conftest import assert_error, client_for, make_user

pytestmark = pytest.mark.django_db

CROCKFORD = "[0-9A-HJKMNP-TV-Z]"
CODE = re.compile(rf"^{CROCKFORD}{{4}}-{CROCKFORD}{{4}}-{CROCKFORD}{{4}}$")
DEFAULT_SCOPES = ["alerts", "checkins", "episodes", "insights"]
UNKNOWN_CODE = "ZZZZ-ZZZZ-ZZZZ"


def invite(api: APIClient, **body: Any) -> dict[str, Any]:
    r = api.post("/api/v1/shares", body, format="json")
    assert r.status_code == 201, r.json()
    return r.json()


def redeem(client: APIClient, code: Any) -> Any:
    return client.post("/api/v1/shares/redeem", {"code": code}, format="json")


def share_with(patient: User, clinician: User, **body: Any) -> str:
    """An active share of ``patient`` with ``clinician`` made over REST; returns its id (the clinician's pid)."""
    created = invite(client_for(patient), **body)
    r = redeem(client_for(clinician), created["code"])
    assert r.status_code == 200, r.json()
    assert r.json()["patient_id"] == created["id"]
    return str(created["id"])


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


class TestInvite:
    def test_person_gets_a_code_a_link_and_the_default_scopes(self, api: APIClient, owner: User) -> None:
        before = timezone.now()
        r = api.post("/api/v1/shares", {}, format="json")
        assert r.status_code == 201, r.json()
        body = r.json()
        assert CODE.match(body["code"]), body["code"]
        assert len(body["id"]) == 16 and body["id"].isalnum()
        assert body["link"] == f"{settings.PUBLIC_BASE_URL}/clinician/redeem?code={body['code']}"
        assert body["scopes"] == DEFAULT_SCOPES and "notes" not in body["scopes"]
        expires = parse(body["code_expires_at"])
        assert before + dt.timedelta(days=7, seconds=-5) <= expires <= timezone.now() + dt.timedelta(days=7)
        assert body["redeemed_at"] is None and body["revoked_at"] is None and body["clinician"] is None
        assert body["window_start"] is None and body["window_end"] is None and body["ends_at"] is None
        share = Share.objects.get(uid=body["id"])
        assert share.patient == owner and share.clinician is None
        # only the hash is kept: the code itself is shown once
        assert share.code_hash != body["code"] and body["code"] not in share.code_hash
        assert share.code_hash == code_hash(body["code"])

    def test_codes_differ_between_invitations(self, api: APIClient) -> None:
        codes = {invite(api)["code"] for _ in range(5)}
        assert len(codes) == 5

    def test_notes_window_and_end_when_asked(self, api: APIClient) -> None:
        ends = (timezone.now() + dt.timedelta(days=30)).replace(microsecond=0)
        body = invite(
            api,
            scopes=["notes", "episodes", "episodes"],
            window_start="2026-01-01",
            window_end="2026-01-31",
            ends_at=ends.isoformat(),
        )
        assert body["scopes"] == ["episodes", "notes"]
        assert (body["window_start"], body["window_end"]) == ("2026-01-01", "2026-01-31")
        assert parse(body["ends_at"]) == ends
        share = Share.objects.get(uid=body["id"])
        assert share.window_start == dt.date(2026, 1, 1) and share.ends_at == ends

    def test_all_scopes_are_accepted(self, api: APIClient) -> None:
        assert invite(api, scopes=list(Share.SCOPES))["scopes"] == sorted(Share.SCOPES)

    def test_an_end_the_database_cannot_hold_is_refused_not_stored(self, api: APIClient) -> None:
        # 9999-12-31T23:59:59-14:00 is 10000-01-01T13:59:59Z: PostgreSQL stores it, psycopg cannot read it back.
        # Accepting it bricks the person's share list and their revoke (500 DataError on every read of the row).
        r = api.post("/api/v1/shares", {"ends_at": "9999-12-31T23:59:59-14:00"}, format="json")
        assert_error(r, 400, "ends_at")
        assert api.get("/api/v1/shares").status_code == 200

    def test_an_end_with_an_offset_postgresql_refuses_is_stored_in_utc(self, api: APIClient) -> None:
        """Found by the fuzzer: Python reads offsets up to 23:59, PostgreSQL refused this one (a 500)."""
        ends = (timezone.now() + dt.timedelta(days=30)).replace(microsecond=0)
        local = ends.astimezone(dt.timezone(dt.timedelta(hours=23, minutes=30)))
        body = invite(api, ends_at=local.isoformat())
        assert parse(body["ends_at"]) == ends and Share.objects.get(uid=body["id"]).ends_at == ends

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"scopes": ["episodes", "diagnoses"]}, "scopes"),
            ({"scopes": []}, "scopes"),
            ({"scopes": "episodes"}, "scopes"),
            ({"scopes": None}, "scopes"),
            ({"scopes": ["episodes", 3]}, "scopes"),
            ({"window_start": "2026-02-10", "window_end": "2026-02-01"}, "window_end"),
            ({"window_start": "2026-13-01"}, "window_start"),
            ({"window_end": "yesterday"}, "window_end"),
            ({"window_start": 20260101}, "window_start"),
            ({"ends_at": "2020-01-01T00:00:00+00:00"}, "ends_at"),
            ({"ends_at": "2099-01-01T00:00:00"}, "ends_at"),
            ({"ends_at": "next week"}, "ends_at"),
            ({"ends_at": 1900000000}, "ends_at"),
            ({"clinician": "doc@example.com"}, "clinician"),
        ],
    )
    def test_bad_input_names_the_field(self, api: APIClient, body: dict[str, Any], field: str) -> None:
        error = assert_error(api.post("/api/v1/shares", body, format="json"), 400, field)
        assert error["error"] == "invalid"
        assert Share.objects.count() == 0

    def test_unknown_scope_is_named(self, api: APIClient) -> None:
        error = assert_error(api.post("/api/v1/shares", {"scopes": ["diagnoses"]}, format="json"), 400, "scopes")
        assert "diagnoses" in error["details"]["scopes"][0]

    def test_several_bad_fields_at_once(self, api: APIClient) -> None:
        body = {"scopes": [], "window_start": "nope", "ends_at": "2020-01-01T00:00:00Z", "extra": 1}
        assert_error(api.post("/api/v1/shares", body, format="json"), 400, "scopes", "window_start", "ends_at", "extra")

    def test_body_must_be_an_object(self, api: APIClient) -> None:
        assert_error(api.post("/api/v1/shares", ["episodes"], format="json"), 400, "body")

    def test_clinician_may_not_invite(self, clinician_api: APIClient) -> None:
        error = assert_error(clinician_api.post("/api/v1/shares", {}, format="json"), 403)
        assert error["error"] == "forbidden"
        assert Share.objects.count() == 0

    def test_anonymous(self, anon: APIClient) -> None:
        assert_error(anon.post("/api/v1/shares", {}, format="json"), 401)
        assert_error(anon.get("/api/v1/shares"), 401)
        assert_error(anon.post("/api/v1/shares/redeem", {"code": UNKNOWN_CODE}, format="json"), 401)


class TestRedeem:
    def test_clinician_redeems_and_the_person_is_told(
        self, api: APIClient, owner: User, clinician_api: APIClient, clinician: User
    ) -> None:
        created = invite(api, scopes=["episodes", "alerts"])
        r = redeem(clinician_api, created["code"])
        assert r.status_code == 200, r.json()
        assert r.json() == {"patient_id": created["id"], "scopes": ["alerts", "episodes"]}
        share = Share.objects.get(uid=created["id"])
        assert share.clinician == clinician and share.redeemed_at is not None
        (note,) = Notification.objects.filter(user=owner)
        assert note.kind == "share"
        assert clinician.email in note.title and clinician.email in note.body
        assert "alerts" in note.body and "episodes" in note.body
        assert not Notification.objects.filter(user=clinician).exists()

    def test_notification_names_the_clinician_by_display_name(self, api: APIClient, owner: User) -> None:
        doc = user_make_clinician(user=make_user("ada@example.com", display_name="Dr Ada Lovelace"))
        redeem(client_for(doc), invite(api)["code"])
        (note,) = Notification.objects.filter(user=owner, kind="share")
        assert note.title == "Dr Ada Lovelace can now see your diary"

    def test_code_is_single_use(self, api: APIClient, owner: User, clinician_api: APIClient) -> None:
        code = invite(api)["code"]
        assert redeem(clinician_api, code).status_code == 200
        assert_error(redeem(clinician_api, code), 404)
        second = user_make_clinician(user=make_user("doc2@example.com"))
        assert_error(redeem(client_for(second), code), 404)
        assert Share.objects.get().clinician is not None and Share.objects.get().clinician != second
        assert Notification.objects.filter(user=owner, kind="share").count() == 1

    @pytest.mark.parametrize("typed", ["lower", "no_dashes", "spaces"])
    def test_case_and_dashes_do_not_matter(self, api: APIClient, clinician_api: APIClient, typed: str) -> None:
        code = invite(api)["code"]
        entered = {
            "lower": code.lower(),
            "no_dashes": code.replace("-", ""),
            "spaces": code.replace("-", " ").lower(),
        }[typed]
        r = redeem(clinician_api, entered)
        assert r.status_code == 200, r.json()

    def test_i_l_o_typos_map_to_one_and_zero(self, api: APIClient, clinician_api: APIClient) -> None:
        created = invite(api)
        # A known code full of 1s and 0s (a generated one may hold none): store its hash.
        Share.objects.filter(uid=created["id"]).update(code_hash=code_hash("1010-AB10-0001"))
        r = redeem(clinician_api, "IOLO-ab1o-oOOl")
        assert r.status_code == 200, r.json()
        assert r.json()["patient_id"] == created["id"]

    def test_expired_revoked_used_and_unknown_codes_look_alike(self, api: APIClient, clinician_api: APIClient) -> None:
        expired, revoked, used = invite(api), invite(api), invite(api)
        Share.objects.filter(uid=expired["id"]).update(code_expires_at=timezone.now() - dt.timedelta(seconds=1))
        assert api.delete(f"/api/v1/shares/{revoked['id']}").status_code == 200
        assert redeem(clinician_api, used["code"]).status_code == 200
        answers = [
            redeem(clinician_api, code) for code in (expired["code"], revoked["code"], used["code"], UNKNOWN_CODE)
        ]
        bodies = [assert_error(r, 404) for r in answers]
        assert bodies[0]["error"] == "not_found"
        assert all(b == bodies[0] for b in bodies), bodies
        assert Share.objects.get(uid=expired["id"]).clinician is None
        assert Share.objects.get(uid=revoked["id"]).clinician is None

    def test_an_invitation_past_its_end_cannot_be_redeemed(
        self, api: APIClient, owner: User, clinician_api: APIClient
    ) -> None:
        # ends_at may come before the code expires (a 1-day share, a 7-day code). Redeeming afterwards
        # must not answer 200 and tell the person "... can now see your diary" for access that is over.
        created = invite(api, ends_at=(timezone.now() + dt.timedelta(hours=1)).isoformat())
        Share.objects.filter(uid=created["id"]).update(ends_at=timezone.now() - dt.timedelta(seconds=1))
        unknown = assert_error(redeem(clinician_api, UNKNOWN_CODE), 404)
        assert assert_error(redeem(clinician_api, created["code"]), 404) == unknown
        assert not Notification.objects.filter(user=owner, kind="share").exists()

    @pytest.mark.parametrize("code", ["", "ABC", "A" * 40, 123456789012, None, ["ABCD-EFGH-JKMN"]])
    def test_malformed_codes_answer_404(self, clinician_api: APIClient, code: Any) -> None:
        assert_error(redeem(clinician_api, code), 404)

    def test_person_account_cannot_redeem(self, api: APIClient, other_api: APIClient) -> None:
        created = invite(api)
        assert_error(redeem(other_api, created["code"]), 403)
        assert_error(redeem(api, created["code"]), 403)
        assert Share.objects.get().redeemed_at is None

    def test_redeem_is_throttled(self, clinician_api: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
        # DRF binds THROTTLE_RATES when the throttle class is defined, so override_settings(REST_FRAMEWORK=...)
        # does not reach it; patch the class like tests/accounts does, with the settings' rates changed.
        rates = dict(cast(dict[str, str], settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]))
        rates["redeem"] = "3/min"
        monkeypatch.setattr(RedeemThrottle, "THROTTLE_RATES", rates)
        cache.clear()
        codes = [redeem(clinician_api, UNKNOWN_CODE).status_code for _ in range(4)]
        assert codes == [404, 404, 404, 429]
        error = assert_error(redeem(clinician_api, UNKNOWN_CODE), 429)
        assert error["error"] == "throttled"
        # ... and the schema says so (the fuzzer counts an undocumented status as a failure)
        schema = clinician_api.get("/api/schema/?format=json").json()
        assert "429" in schema["paths"]["/api/v1/shares/redeem/"]["post"]["responses"]

    def test_throttle_counts_good_codes_too(
        self, api: APIClient, clinician_api: APIClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(RedeemThrottle, "THROTTLE_RATES", {"redeem": "2/min"})
        cache.clear()
        good = invite(api)["code"]
        assert redeem(clinician_api, UNKNOWN_CODE).status_code == 404
        assert redeem(clinician_api, UNKNOWN_CODE).status_code == 404
        assert_error(redeem(clinician_api, good), 429)  # a guesser cannot slip a real code past the limit
        assert Share.objects.get().redeemed_at is None


class TestListAndRevoke:
    def test_lists_own_shares_with_the_clinician(
        self, api: APIClient, other_api: APIClient, owner: User, clinician: User
    ) -> None:
        pending = invite(api, scopes=["episodes"])
        redeemed = share_with(owner, clinician)
        r = api.get("/api/v1/shares")
        assert r.status_code == 200
        listed = {s["id"]: s for s in r.json()}
        assert set(listed) == {pending["id"], redeemed}
        assert listed[pending["id"]]["clinician"] is None and listed[pending["id"]]["redeemed_at"] is None
        assert listed[redeemed]["clinician"] == {"name": clinician.display_name, "email": "doc@example.com"}
        assert listed[redeemed]["redeemed_at"] is not None
        assert all("code" not in s and "link" not in s for s in r.json())  # the code is shown once only
        assert other_api.get("/api/v1/shares").json() == []

    def test_list_is_newest_first(self, api: APIClient) -> None:
        ids = [invite(api)["id"] for _ in range(3)]
        assert [s["id"] for s in api.get("/api/v1/shares").json()] == ids[::-1]

    def test_clinician_may_not_list_or_revoke(self, owner: User, clinician: User, clinician_api: APIClient) -> None:
        pid = share_with(owner, clinician)
        assert_error(clinician_api.get("/api/v1/shares"), 403)
        assert_error(clinician_api.delete(f"/api/v1/shares/{pid}"), 403)
        assert Share.objects.get(uid=pid).revoked_at is None

    def test_revoke(self, api: APIClient, owner: User, clinician: User) -> None:
        pid = share_with(owner, clinician)
        r = api.delete(f"/api/v1/shares/{pid}")
        assert r.status_code == 200, r.json()
        assert r.json()["id"] == pid and r.json()["revoked_at"] is not None
        assert Share.objects.get(uid=pid).revoked_at is not None
        # idempotent: a second revoke keeps the first instant
        again = api.delete(f"/api/v1/shares/{pid}/")
        assert again.status_code == 200 and again.json()["revoked_at"] == r.json()["revoked_at"]
        (listed,) = api.get("/api/v1/shares").json()
        assert listed["revoked_at"] == r.json()["revoked_at"]

    def test_another_persons_share_is_404(self, api: APIClient, other_api: APIClient) -> None:
        created = invite(api)
        assert_error(other_api.delete(f"/api/v1/shares/{created['id']}"), 404)
        assert_error(other_api.delete("/api/v1/shares/nosuchshare"), 404)
        assert Share.objects.get().revoked_at is None

    def test_revocation_bites_on_the_next_clinician_request(
        self, api: APIClient, owner: User, clinician: User, clinician_api: APIClient
    ) -> None:
        pid = share_with(owner, clinician)
        url = f"/api/v1/clinician/patients/{pid}/alerts"
        r = clinician_api.get(url)
        assert r.status_code == 200, r.json()
        assert api.delete(f"/api/v1/shares/{pid}").status_code == 200
        assert_error(clinician_api.get(url), 404)
        assert_error(clinician_api.get(f"/api/v1/clinician/patients/{pid}/thresholds"), 404)


@pytest.mark.django_db(transaction=True)
def test_two_clinicians_redeeming_one_code_at_once_bind_exactly_one() -> None:
    owner = make_user("owner@example.com")
    doctors = [user_make_clinician(user=make_user(f"doc{i}@example.com")) for i in range(4)]
    code = invite(client_for(owner))["code"]
    barrier = threading.Barrier(len(doctors))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def worker(doc: User) -> None:
        try:
            client = client_for(doc)
            barrier.wait()
            statuses.append(redeem(client, code).status_code)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(doc,)) for doc in doctors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(statuses) == [200, 404, 404, 404]
    share = Share.objects.get()
    assert share.clinician in doctors and share.redeemed_at is not None
    assert Notification.objects.filter(user=owner, kind="share").count() == 1
