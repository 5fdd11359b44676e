"""Clinician thresholds and the clinician alert endpoints (acceptance D): bounds enforced with clear 4xx,
the most sensitive value of the sharing clinicians applies, every change is an audited revision, and a
clinician without an active share of the patient's alerts (none, revoked, expired, without the scope)
gets 404. The effect is real: a tuned threshold opens alerts through the outbox like any diary write."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import asdict
from typing import Any

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from diary.accounts.models import User
from diary.accounts.services import user_make_clinician
from diary.alerts.catalogue import BOUNDS, THRESHOLD_NAMES, Thresholds
from diary.alerts.models import Alert, ThresholdChange, ThresholdOverride
from diary.notifications.models import Notification
from diary.outbox.models import OutboxEvent
from diary.outbox.services import outbox_process
from diary.sharing.models import Share
from tests.conftest import assert_error, client_for, episode_body, make_user
from tests.diary.test_sharing_api import invite, share_with

pytestmark = pytest.mark.django_db

DEFAULTS = asdict(Thresholds())


def url(pid: str) -> str:
    return f"/api/v1/clinician/patients/{pid}/thresholds"


def alerts_url(pid: str) -> str:
    return f"/api/v1/clinician/patients/{pid}/alerts"


def ack_url(pid: str, alert_id: str) -> str:
    return f"/api/v1/clinician/patients/{pid}/alerts/{alert_id}/acknowledge"


def put(client: APIClient, pid: str, body: Any) -> Any:
    return client.put(url(pid), body, format="json")


def put_ok(client: APIClient, pid: str, body: dict[str, Any]) -> dict[str, Any]:
    r = put(client, pid, body)
    assert r.status_code == 200, r.json()
    return dict(r.json())


def run_outbox() -> None:
    """Process every pending outbox event, including the ones the handlers enqueue (clinician emails)."""
    for _ in range(10):
        pending = list(
            OutboxEvent.objects.filter(processed_at__isnull=True).order_by("pk").values_list("pk", flat=True)
        )
        if not pending:
            return
        for event_id in pending:
            assert outbox_process(event_id=event_id)
    raise AssertionError("the outbox did not drain")


def log_episode(patient: User, **overrides: Any) -> str:
    """A REST write by the patient, then the outbox work it caused (alert evaluation)."""
    body = episode_body(**{"symptoms": [], **overrides})
    r = client_for(patient).post("/api/v1/episodes", body, format="json")
    assert r.status_code == 201, r.json()
    run_outbox()
    return str(r.json()["id"])


def notification_kinds(user: User) -> list[str]:
    return list(Notification.objects.filter(user=user).exclude(kind="share").values_list("kind", flat=True))


def second_clinician(email: str = "doc2@example.com") -> User:
    return user_make_clinician(user=make_user(email))


@pytest.fixture
def pid(owner: User, clinician: User) -> str:
    return share_with(owner, clinician)


class TestRead:
    def test_defaults_before_any_change(self, clinician_api: APIClient, pid: str) -> None:
        r = clinician_api.get(url(pid))
        assert r.status_code == 200, r.json()
        body = r.json()
        assert body == {"version": "1", "defaults": DEFAULTS, "yours": {}, "effective": DEFAULTS}
        assert set(body["defaults"]) == set(THRESHOLD_NAMES)
        assert body["defaults"]["severe_pain"] == 8 and body["defaults"]["long_high_min"] == 120  # DOMAIN.md

    def test_trailing_slash(self, clinician_api: APIClient, pid: str) -> None:
        assert clinician_api.get(url(pid) + "/").status_code == 200


class TestSet:
    def test_set_twice_then_clear_each_an_audited_revision(
        self, clinician_api: APIClient, pid: str, owner: User, clinician: User
    ) -> None:
        body = put_ok(clinician_api, pid, {"severe_pain": 6})
        assert body["version"] == "1.1"
        assert body["yours"] == {"severe_pain": 6}
        assert body["effective"] == {**DEFAULTS, "severe_pain": 6}
        assert body["defaults"] == DEFAULTS
        assert clinician_api.get(url(pid)).json() == body

        assert put_ok(clinician_api, pid, {"severe_pain": 5})["version"] == "1.2"
        override = ThresholdOverride.objects.get(patient=owner)
        assert (override.clinician, override.name, override.value) == (clinician, "severe_pain", 5)

        cleared = put_ok(clinician_api, pid, {"severe_pain": None})
        assert cleared["version"] == "1.3"
        assert cleared["yours"] == {} and cleared["effective"] == DEFAULTS
        assert not ThresholdOverride.objects.filter(patient=owner).exists()

        audit = list(
            ThresholdChange.objects.filter(patient=owner)
            .order_by("revision")
            .values_list("clinician", "name", "old_value", "new_value", "revision")
        )
        assert audit == [
            (clinician.pk, "severe_pain", None, 6, 1),
            (clinician.pk, "severe_pain", 6, 5, 2),
            (clinician.pk, "severe_pain", 5, None, 3),
        ]
        assert all(c.changed_at is not None for c in ThresholdChange.objects.all())

    def test_several_fields_are_one_revision(self, clinician_api: APIClient, pid: str, owner: User) -> None:
        body = put_ok(clinician_api, pid, {"severe_pain": 7, "frequent_count": 6, "long_watch_min": 20})
        assert body["version"] == "1.1"
        assert body["yours"] == {"severe_pain": 7, "frequent_count": 6, "long_watch_min": 20}
        changes = ThresholdChange.objects.filter(patient=owner)
        assert sorted(changes.values_list("name", flat=True)) == ["frequent_count", "long_watch_min", "severe_pain"]
        assert set(changes.values_list("revision", flat=True)) == {1}
        # a later change of one field leaves the others alone
        body = put_ok(clinician_api, pid, {"frequent_count": None})
        assert body["yours"] == {"severe_pain": 7, "long_watch_min": 20} and body["version"] == "1.2"

    def test_setting_the_same_value_again_changes_nothing(
        self, clinician_api: APIClient, pid: str, owner: User
    ) -> None:
        put_ok(clinician_api, pid, {"severe_pain": 6})
        assert put_ok(clinician_api, pid, {"severe_pain": 6})["version"] == "1.1"
        assert put_ok(clinician_api, pid, {"persistent_pain": None})["version"] == "1.1"  # nothing to clear
        assert ThresholdChange.objects.filter(patient=owner).count() == 1

    def test_a_clinician_may_loosen_within_bounds(self, clinician_api: APIClient, pid: str) -> None:
        body = put_ok(clinician_api, pid, {"severe_pain": 10, "frequent_count": 30})
        assert body["effective"]["severe_pain"] == 10 and body["effective"]["frequent_count"] == 30

    @pytest.mark.parametrize("name", sorted(BOUNDS))
    def test_both_ends_of_the_bounds_are_accepted(self, clinician_api: APIClient, pid: str, name: str) -> None:
        low, high = BOUNDS[name]
        for value in (low, high):  # long_high_min 30 and long_watch_min 120 meet the other's default exactly
            body = put_ok(clinician_api, pid, {name: value})
            assert body["yours"][name] == value and body["effective"][name] == value


class TestBounds:
    @pytest.mark.parametrize(
        ("name", "value"),
        [(name, BOUNDS[name][0] - 1) for name in sorted(BOUNDS)]
        + [(name, BOUNDS[name][1] + 1) for name in sorted(BOUNDS)],
    )
    def test_out_of_bounds(self, clinician_api: APIClient, pid: str, owner: User, name: str, value: int) -> None:
        error = assert_error(put(clinician_api, pid, {name: value}), 400, name)
        low, high = BOUNDS[name]
        assert f"between {low} and {high}" in error["details"][name][0]
        assert not ThresholdOverride.objects.filter(patient=owner).exists()
        assert not ThresholdChange.objects.filter(patient=owner).exists()

    @pytest.mark.parametrize("value", ["6", 6.5, 6.0, True, [6], {"value": 6}])
    def test_not_a_whole_number(self, clinician_api: APIClient, pid: str, owner: User, value: Any) -> None:
        assert_error(put(clinician_api, pid, {"severe_pain": value}), 400, "severe_pain")
        assert not ThresholdOverride.objects.filter(patient=owner).exists()

    @pytest.mark.parametrize("body", [{"severe_pains": 6}, {"pain": 6}, {"weakness": 1}, {"nonsense": None}])
    def test_unknown_names(self, clinician_api: APIClient, pid: str, owner: User, body: dict[str, Any]) -> None:
        (name,) = body
        assert_error(put(clinician_api, pid, body), 400, name)
        assert not ThresholdChange.objects.filter(patient=owner).exists()

    @pytest.mark.parametrize("value", [0, 5, 100, None, False])
    def test_breathing_difficulty_can_never_be_switched_off(
        self, clinician_api: APIClient, pid: str, owner: User, value: Any
    ) -> None:
        assert_error(put(clinician_api, pid, {"breathing_difficulty": value}), 400, "breathing_difficulty")
        assert not ThresholdOverride.objects.filter(patient=owner).exists()
        assert not ThresholdChange.objects.filter(patient=owner).exists()

    def test_long_high_below_long_watch_in_one_request(self, clinician_api: APIClient, pid: str, owner: User) -> None:
        error = assert_error(put(clinician_api, pid, {"long_watch_min": 90, "long_high_min": 60}), 400, "long_high_min")
        assert "long_watch_min" in error["details"]["long_high_min"][0]
        assert not ThresholdOverride.objects.filter(patient=owner).exists()

    def test_long_watch_above_a_stored_long_high(self, clinician_api: APIClient, pid: str) -> None:
        put_ok(clinician_api, pid, {"long_high_min": 30})  # equal to the default watch level: allowed
        assert_error(put(clinician_api, pid, {"long_watch_min": 31}), 400, "long_high_min")

    def test_long_high_below_a_stored_long_watch(self, clinician_api: APIClient, pid: str, owner: User) -> None:
        put_ok(clinician_api, pid, {"long_watch_min": 100})
        assert_error(put(clinician_api, pid, {"long_high_min": 90}), 400, "long_high_min")
        # clearing the watch value makes the same number fine (default watch 30)
        body = put_ok(clinician_api, pid, {"long_watch_min": None, "long_high_min": 90})
        assert body["yours"] == {"long_high_min": 90}
        assert ThresholdChange.objects.filter(patient=owner).count() == 3

    def test_one_bad_field_writes_nothing(self, clinician_api: APIClient, pid: str, owner: User) -> None:
        put_ok(clinician_api, pid, {"severe_pain": 6})
        assert_error(put(clinician_api, pid, {"severe_pain": 7, "frequent_count": 1000}), 400, "frequent_count")
        assert_error(put(clinician_api, pid, {"severe_pain": None, "breathing_difficulty": None}), 400)
        assert list(ThresholdOverride.objects.filter(patient=owner).values_list("name", "value")) == [
            ("severe_pain", 6)
        ]
        assert ThresholdChange.objects.filter(patient=owner).count() == 1
        assert clinician_api.get(url(pid)).json()["version"] == "1.1"

    @pytest.mark.parametrize("body", [{}, [], ["severe_pain"], "severe_pain=6"])
    def test_body_must_be_a_non_empty_object(self, clinician_api: APIClient, pid: str, body: Any) -> None:
        assert_error(put(clinician_api, pid, body), 400, "body")

    def test_malformed_json(self, clinician_api: APIClient, pid: str) -> None:
        r = clinician_api.put(url(pid), b'{"severe_pain": ', content_type="application/json")
        assert assert_error(r, 400, "body")["error"] == "malformed_json"


class TestSeveralClinicians:
    def test_the_most_sensitive_value_applies_until_a_share_is_revoked(
        self, clinician_api: APIClient, pid: str, owner: User
    ) -> None:
        doc2 = second_clinician()
        pid2 = share_with(owner, doc2)
        doc2_api = client_for(doc2)
        put_ok(clinician_api, pid, {"severe_pain": 6, "frequent_count": 20})
        body2 = put_ok(doc2_api, pid2, {"severe_pain": 7, "frequent_days": 3})
        assert body2["yours"] == {"severe_pain": 7, "frequent_days": 3}
        expected = {**DEFAULTS, "severe_pain": 6, "frequent_count": 20, "frequent_days": 3}
        assert body2["effective"] == expected
        assert clinician_api.get(url(pid)).json()["effective"] == expected
        assert body2["version"] == "1.2"  # the patient's revisions, whoever made them

        assert client_for(owner).delete(f"/api/v1/shares/{pid}").status_code == 200
        after = doc2_api.get(url(pid2)).json()
        assert after["effective"] == {**DEFAULTS, "severe_pain": 7, "frequent_days": 3}
        assert_error(clinician_api.get(url(pid)), 404)
        # Revoking drops that clinician's numbers for good, audited as a new revision: a later share
        # with the same clinician starts from the defaults, and the version label moves on.
        assert after["version"] == "1.3"
        dropped = ThresholdChange.objects.filter(patient=owner, revision=3)
        assert sorted((c.name, c.old_value, c.new_value) for c in dropped) == [
            ("frequent_count", 20, None), ("severe_pain", 6, None),
        ]  # fmt: skip

    def test_an_expired_share_no_longer_counts(self, clinician_api: APIClient, pid: str, owner: User) -> None:
        doc2 = second_clinician()
        pid2 = share_with(owner, doc2)
        put_ok(client_for(doc2), pid2, {"severe_pain": 5})
        assert clinician_api.get(url(pid)).json()["effective"]["severe_pain"] == 5
        Share.objects.filter(uid=pid2).update(ends_at=timezone.now() - dt.timedelta(minutes=1))
        assert clinician_api.get(url(pid)).json()["effective"]["severe_pain"] == DEFAULTS["severe_pain"]

    def test_combined_long_durations_stay_ordered(self, clinician_api: APIClient, pid: str, owner: User) -> None:
        doc2 = second_clinician()
        pid2 = share_with(owner, doc2)
        put_ok(clinician_api, pid, {"long_high_min": 60})  # with the default watch level 30: fine
        put_ok(client_for(doc2), pid2, {"long_watch_min": 90})  # with the default high level 120: fine
        effective = clinician_api.get(url(pid)).json()["effective"]
        assert effective["long_high_min"] == 60
        assert effective["long_watch_min"] <= effective["long_high_min"]

    def test_a_share_without_alerts_does_not_count(self, clinician_api: APIClient, pid: str, owner: User) -> None:
        put_ok(clinician_api, pid, {"severe_pain": 6})
        doc2 = second_clinician()
        episodes_only = share_with(owner, doc2, scopes=["episodes"])
        assert_error(put(client_for(doc2), episodes_only, {"severe_pain": 5}), 404)
        # even a value stored for that clinician (say, from an earlier alerts share) does not apply
        ThresholdOverride.objects.create(patient=owner, clinician=doc2, name="severe_pain", value=5)
        assert clinician_api.get(url(pid)).json()["effective"]["severe_pain"] == 6


class TestAccess:
    """Acceptance D: without an active share of this person's alerts, every clinician endpoint is 404."""

    @pytest.fixture
    def alert_id(self, owner: User, pid: str) -> str:
        log_episode(owner, pain=9)
        return Alert.objects.get(user=owner, rule="severe_pain").uid

    def _all_404(self, client: APIClient, pid: str, alert_id: str, owner: User) -> None:
        for r in (
            client.get(url(pid)),
            put(client, pid, {"severe_pain": 6}),
            client.get(alerts_url(pid)),
            client.post(ack_url(pid, alert_id)),
        ):
            assert_error(r, 404)
        assert not ThresholdOverride.objects.filter(patient=owner).exists()
        assert not ThresholdChange.objects.filter(patient=owner).exists()
        assert Alert.objects.get(uid=alert_id).status == "open"

    def test_the_share_holder_is_let_in(self, clinician_api: APIClient, pid: str, alert_id: str, owner: User) -> None:
        assert clinician_api.get(url(pid)).status_code == 200
        assert clinician_api.get(alerts_url(pid)).status_code == 200

    def test_clinician_without_a_share(self, pid: str, alert_id: str, owner: User) -> None:
        stranger = second_clinician()
        self._all_404(client_for(stranger), pid, alert_id, owner)  # another clinician's patient id
        self._all_404(client_for(stranger), "nosuchpatient", alert_id, owner)

    def test_invitation_not_redeemed(self, owner: User, clinician_api: APIClient) -> None:
        pending = invite(client_for(owner))["id"]
        log_episode(owner, pain=9)
        self._all_404(clinician_api, pending, Alert.objects.get(user=owner).uid, owner)

    def test_revoked_share(
        self, clinician_api: APIClient, pid: str, alert_id: str, owner: User, clinician: User
    ) -> None:
        assert client_for(owner).delete(f"/api/v1/shares/{pid}").status_code == 200
        self._all_404(clinician_api, pid, alert_id, owner)

    def test_expired_share(self, clinician_api: APIClient, pid: str, alert_id: str, owner: User) -> None:
        Share.objects.filter(uid=pid).update(ends_at=timezone.now() - dt.timedelta(seconds=1))
        self._all_404(clinician_api, pid, alert_id, owner)

    def test_share_without_the_alerts_scope(self, owner: User, alert_id: str) -> None:
        doc = second_clinician()
        pid_no_alerts = share_with(owner, doc, scopes=["episodes", "checkins", "notes", "insights"])
        self._all_404(client_for(doc), pid_no_alerts, alert_id, owner)

    def test_a_revoked_clinician_cannot_even_clear_a_value(
        self, clinician_api: APIClient, pid: str, owner: User
    ) -> None:
        put_ok(clinician_api, pid, {"severe_pain": 6})
        client_for(owner).delete(f"/api/v1/shares/{pid}")
        assert_error(put(clinician_api, pid, {"severe_pain": None}), 404)  # cannot even clear it any more

    def test_person_accounts_are_refused(self, owner: User, other: User, pid: str, alert_id: str) -> None:
        for person in (owner, other):
            client = client_for(person)
            for r in (
                client.get(url(pid)),
                put(client, pid, {"severe_pain": 6}),
                client.get(alerts_url(pid)),
                client.post(ack_url(pid, alert_id)),
            ):
                assert assert_error(r, 403)["error"] == "forbidden"
        assert not ThresholdChange.objects.exists()
        assert Alert.objects.get(uid=alert_id).status == "open"

    def test_anonymous(self, anon: APIClient, pid: str, alert_id: str) -> None:
        for r in (
            anon.get(url(pid)),
            put(anon, pid, {"severe_pain": 6}),
            anon.get(alerts_url(pid)),
            anon.post(ack_url(pid, alert_id)),
        ):
            assert_error(r, 401)


class TestEffect:
    def test_a_tuned_threshold_opens_alerts(
        self, clinician_api: APIClient, pid: str, owner: User, clinician: User
    ) -> None:
        before = log_episode(owner, pain=6)
        assert not Alert.objects.filter(user=owner).exists()  # 6 < 8 by default

        put_ok(clinician_api, pid, {"severe_pain": 6})
        uid = log_episode(owner, pain=6)
        alert = Alert.objects.get(user=owner, rule="severe_pain")
        assert alert.episode_uid == uid != before
        assert (alert.severity, alert.status, alert.ruleset_version) == ("high", "open", "1.1")
        assert alert.evidence == "pain 6 out of 10 (threshold 6)"
        assert alert.numbers == {"pain": 6, "threshold": 6}
        # the person is told at once, the clinician by email (a high alert)
        assert notification_kinds(owner) == ["alert"]
        assert [m.to for m in mail.outbox] == [[clinician.email]]
        assert "has a new high alert" in mail.outbox[0].body  # the what is on the page, after sign-in

        # the clinician sees it with the why
        (listed,) = clinician_api.get(alerts_url(pid)).json()["results"]
        assert (
            listed["id"] == alert.uid
            and listed["evidence"] == "pain 6 out of 10 (threshold 6)"
            and listed["ruleset_version"] == "1.1"
        )

    def test_below_the_tuned_threshold_nothing_opens(self, clinician_api: APIClient, pid: str, owner: User) -> None:
        put_ok(clinician_api, pid, {"severe_pain": 6})
        log_episode(owner, pain=5)
        assert not Alert.objects.filter(user=owner).exists()

    def test_after_revocation_the_default_applies_again(self, clinician_api: APIClient, pid: str, owner: User) -> None:
        put_ok(clinician_api, pid, {"severe_pain": 6})
        client_for(owner).delete(f"/api/v1/shares/{pid}")
        log_episode(owner, pain=6)
        assert not Alert.objects.filter(user=owner).exists()
        log_episode(owner, pain=8)
        alert = Alert.objects.get(user=owner, rule="severe_pain")
        assert alert.evidence == "pain 8 out of 10 (threshold 8)"

    def test_the_most_sensitive_clinician_decides(self, clinician_api: APIClient, pid: str, owner: User) -> None:
        doc2 = second_clinician()
        put_ok(client_for(doc2), share_with(owner, doc2), {"severe_pain": 9})
        put_ok(clinician_api, pid, {"severe_pain": 7})
        log_episode(owner, pain=7)
        alert = Alert.objects.get(user=owner, rule="severe_pain")
        assert alert.evidence == "pain 7 out of 10 (threshold 7)" and alert.ruleset_version == "1.2"


class TestClinicianAlerts:
    def test_lists_only_this_patients_alerts(
        self, clinician_api: APIClient, pid: str, owner: User, other: User, clinician: User
    ) -> None:
        pid_other = share_with(other, clinician)
        mine = log_episode(owner, pain=9)
        log_episode(other, pain=10)
        r = clinician_api.get(alerts_url(pid))
        assert r.status_code == 200, r.json()
        body = r.json()
        assert set(body) == {"next", "previous", "results"}
        (alert,) = body["results"]
        assert alert["episode_id"] == mine and alert["rule"] == "severe_pain" and alert["status"] == "open"
        assert alert["evidence"] == "pain 9 out of 10 (threshold 8)" and alert["ruleset_version"] == "1"
        assert {"title", "guidance", "severity", "numbers", "opened_at", "acknowledged_at"} <= set(alert)
        (theirs,) = clinician_api.get(alerts_url(pid_other)).json()["results"]
        assert theirs["evidence"] == "pain 10 out of 10 (threshold 8)"

    def test_status_filter(self, clinician_api: APIClient, pid: str, owner: User) -> None:
        log_episode(owner, pain=9)
        log_episode(owner, symptoms=["weakness"], pain=2)
        weakness = Alert.objects.get(user=owner, rule="weakness")
        assert clinician_api.post(ack_url(pid, weakness.uid)).status_code == 200
        opened = clinician_api.get(alerts_url(pid), {"status": "open"}).json()["results"]
        assert [a["rule"] for a in opened] == ["severe_pain"]
        acked = clinician_api.get(alerts_url(pid), {"status": "acknowledged"}).json()["results"]
        assert [a["rule"] for a in acked] == ["weakness"]
        assert_error(clinician_api.get(alerts_url(pid), {"status": "closed"}), 400, "status")

    def test_acknowledge_stops_the_urgent_ladder(
        self, clinician_api: APIClient, pid: str, owner: User, clinician: User
    ) -> None:
        log_episode(owner, symptoms=["breathing_difficulty"], body_location="chest", pain=3)
        alert = Alert.objects.get(user=owner, rule="breathing_difficulty")
        assert alert.severity == "urgent" and alert.next_repeat_at is not None

        r = clinician_api.post(ack_url(pid, alert.uid))
        assert r.status_code == 200, r.json()
        assert r.json()["status"] == "acknowledged" and r.json()["acknowledged_at"] is not None
        alert.refresh_from_db()
        assert alert.status == "acknowledged" and alert.acknowledged_by == clinician
        assert alert.next_repeat_at is None and alert.contact_due_at is None
        # the person sees it acknowledged; a second acknowledge changes nothing
        mine = client_for(owner).get(f"/api/v1/alerts/{alert.uid}").json()
        assert mine["status"] == "acknowledged"
        again = clinician_api.post(ack_url(pid, alert.uid))
        assert again.status_code == 200 and again.json()["acknowledged_at"] == r.json()["acknowledged_at"]

    def test_an_alert_of_another_patient_is_404(
        self, clinician_api: APIClient, pid: str, owner: User, other: User, clinician: User
    ) -> None:
        share_with(other, clinician)  # the clinician may see the other person's alerts, but not through pid
        log_episode(other, pain=9)
        theirs = Alert.objects.get(user=other)
        assert_error(clinician_api.post(ack_url(pid, theirs.uid)), 404)
        assert_error(clinician_api.post(ack_url(pid, "nosuchalert")), 404)
        theirs.refresh_from_db()
        assert theirs.status == "open" and theirs.acknowledged_by is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_changes_by_several_clinicians_get_distinct_revisions() -> None:
    owner = make_user("owner@example.com")
    doctors = [user_make_clinician(user=make_user(f"doc{i}@example.com")) for i in range(4)]
    pids = [share_with(owner, doc) for doc in doctors]
    barrier = threading.Barrier(len(doctors))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def worker(doc: User, pid: str, value: int) -> None:
        try:
            client = client_for(doc)
            barrier.wait()
            statuses.append(put(client, pid, {"severe_pain": value, "frequent_count": value}).status_code)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=worker, args=(doc, pid, 5 + i))
        for i, (doc, pid) in enumerate(zip(doctors, pids, strict=True))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert statuses == [200] * 4
    per_revision = {
        rev: set(ThresholdChange.objects.filter(revision=rev).values_list("clinician", flat=True))
        for rev in ThresholdChange.objects.values_list("revision", flat=True).distinct()
    }
    assert sorted(per_revision) == [1, 2, 3, 4]  # one revision per change set, none shared
    assert all(len(clinicians) == 1 for clinicians in per_revision.values())
    body = client_for(doctors[-1]).get(url(pids[-1])).json()
    assert body["version"] == "1.4"
    assert body["effective"]["severe_pain"] == 5 and body["effective"]["frequent_count"] == 5
