"""Redeeming a share never deadlocks with the worker writing for the same person.

Measured before the fix: ``POST /api/v1/shares/redeem`` right after a new person's first episode
answered 500 ``deadlock detected`` in 1 to 3 of 3 tries. The redeem locked the share and, through
``select_related("patient")`` under ``FOR UPDATE``, the patient's user row; then it waited for the
person's sequence row (the "X can now see your diary" notification). The worker evaluating the
episode's red flags held that sequence row and waited on the user row (inserting an alert takes a
key-share lock on it). Now every write takes the person's sequence row first and the redeem locks
only the share row.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections

from diary.accounts.services import user_make_clinician
from diary.alerts.models import Alert
from diary.sharing.models import Share
from tests.conftest import client_for, episode_body, make_user, run_outbox

ROUNDS = 12


def _race(*jobs: Any) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Any) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_redeem_racing_the_workers_commit_never_deadlocks() -> None:
    statuses: list[int] = []
    for i in range(ROUNDS):
        owner = make_user(f"race{i}@example.com")
        doctor = user_make_clinician(user=make_user(f"race-doc{i}@example.com"))
        patient_api = client_for(owner)
        body = {"scopes": ["episodes", "alerts"]}
        code = patient_api.post("/api/v1/shares", body, format="json").json()["code"]
        # The person's first episode, urgent: the worker's commit evaluates red flags and raises an alert.
        urgent = episode_body(symptoms=["breathing_difficulty"], body_location="chest", pain=5)
        assert patient_api.post("/api/v1/episodes", urgent, format="json").status_code == 201
        doctor_api = client_for(doctor)

        def redeem(api: Any = doctor_api, code: str = code) -> None:
            statuses.append(api.post("/api/v1/shares/redeem", {"code": code}, format="json").status_code)

        errors = _race(redeem, run_outbox)
        assert not errors, errors
        assert Alert.objects.filter(user=owner).exists()
        assert Share.objects.get(patient=owner).clinician == doctor
    assert statuses == [200] * ROUNDS, statuses
