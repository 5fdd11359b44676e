"""API fuzzing with schemathesis, against the OpenAPI schema the app serves (``/api/schema/``).

Two people, A and B, each keep a full diary, and each shares it with a clinician (tests/fuzz/conftest.py).
Three runs, in-process over WSGI against PostgreSQL:

* ``test_person_api``: every operation, as A with A's bearer token; stateless (schemathesis' coverage
  and fuzzing phases for each operation). The database is in autocommit as in production, so writes
  commit and pile up across examples.
* ``test_clinician_api``: the clinician endpoints (with redeeming a code, and /me), as a clinician who
  has an active share from A only; B shares with another clinician, and once shared with this one
  (revoked).
* ``test_person_workflows``: stateful, as A. drf-spectacular emits no OpenAPI links, but schemathesis
  4.32 infers them from the schema (dependency analysis: ``POST /reminders`` -> ``GET/PUT/PATCH/DELETE
  /reminders/{uid}`` by the ``id`` in the answer, a list's ``results/*/id`` -> the item's operations,
  a notification's ``alert_id`` -> the alert, ...: over a hundred links here), and
  ``schema.as_state_machine()`` runs sequences along them. Each scenario runs in a transaction rolled
  back at its end: Hypothesis replays scenarios and needs each to start from the same data (without
  that it stops with FlakyStrategyDefinition). The clinician endpoints are not in it: their patient id
  comes from redeeming a code, which no answer links to; the stateless run covers them.

Every answer must show: no 5xx, a documented status code, the documented content type and a body that
matches the schema (schemathesis' built-in checks), and nothing of B's (``no_other_persons_data``: B's
email, B's clinician's email, the marker in every text B wrote, the ids of B's rows). Answers only show
reads, so after each run (and each stateful scenario) B's data must also be exactly as it was: no
request of A's or of A's clinician may have changed, deleted or revoked anything of B's
(conftest.fingerprint). Path parameters
are drawn from generated text and from real ids, A's and B's, so that the fuzzer gets past the 404
into the code behind it and tries B's rows from A's account; zone fields in bodies sometimes get a
real zone, so that writes get past validation (conftest.aim_inputs).

Two built-in checks are off:

* ``positive_data_acceptance`` (a schema-valid request must not be a 400): the API checks what an
  OpenAPI schema cannot say (IANA zones, a reminder window that ends after it starts, a push endpoint
  that is a public https URL, the current password, a reset token), so it rightly refuses some
  schema-valid requests.
* ``negative_data_rejection`` (a schema-invalid request must be a 4xx): the API is lenient on purpose
  where the schema is strict. An empty filter (``?to=``) means no filter, as django-filter has it, and
  ``/water?date=`` means today; the sync endpoints take ``null`` for a number, as WatermelonDB sends
  it; ``?unread=`` is true only for ``1`` and ``true``; a check-in's ``id`` may stand in for its
  ``date`` (the two are the same day). That is all it reported with 50 examples an operation.

No operation is excluded: none can lock the fuzzing person out. Deleting the account and changing the
password need the current password; logging out and a password reset need a token the fuzzer never
sees. The per-person rate limit is lifted for these runs (conftest.unthrottled); the sign-in limits
stay, and every operation documents 429 and 503 (tests/backend/test_api_conventions.py).

Budget (about 1.5 minutes here): ``FUZZ_MAX_EXAMPLES`` examples for each operation in the fuzzing phase
(default 25), plus the coverage phase's deterministic cases; ``FUZZ_STATEFUL_SCENARIOS`` scenarios of
at most ``FUZZ_STATEFUL_STEPS`` calls (defaults 60 and 10). The seed is fixed (``FUZZ_SEED``) and
generation is derandomized, so CI sends the same requests every time; no Hypothesis database is
written. For a deeper run by hand: ``FUZZ_MAX_EXAMPLES=200 FUZZ_SEED=$RANDOM pytest tests/fuzz``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, settings

from tests.fuzz.conftest import (
    World,
    aim_inputs,
    bearer,
    connection_kept_across_requests,
    fingerprint,
    load_schema,
)

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))
STATEFUL_SCENARIOS = int(os.environ.get("FUZZ_STATEFUL_SCENARIOS", "60"))
STATEFUL_STEPS = int(os.environ.get("FUZZ_STATEFUL_STEPS", "10"))
SEED = int(os.environ.get("FUZZ_SEED", "20261125"))

CONFIG: dict[str, Any] = {
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    "phases": {"stateful": {"max-steps": STATEFUL_STEPS}},
    # Every other built-in check runs: not_a_server_error, status_code_conformance,
    # content_type_conformance, response_schema_conformance, response_headers_conformance,
    # ignored_auth, unsupported_method, allow_header_conformance, and in the stateful run
    # use_after_free and ensure_resource_availability. Why these two are off: the module docstring.
    "checks": {"positive_data_acceptance": {"enabled": False}, "negative_data_rejection": {"enabled": False}},
}
HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # function_scoped_fixture: the world is made once per test, not per example, on purpose; the others
    # (too_slow, filter_too_much, data_too_large, ...) flag slow or filtered generation, which the
    # regex path parameters and large bodies of this schema cause: max_examples is the budget.
    suppress_health_check=list(HealthCheck),
)
# The clinician endpoints, redeeming a code, and the account itself.
CLINICIAN_PATHS = r"^/api/v1/(clinician/|shares/redeem/$|me/$)"


def _schema(request: pytest.FixtureRequest, world: World, *, as_clinician: bool) -> Any:
    # schemathesis 4.32.5's lazy loader reads the test item's ``_nodeid``, which pytest 9.2 no longer has
    # (it became ``_id``); giving it the node id back is all it needs.
    request.node._nodeid = request.node.nodeid
    schema = load_schema(CONFIG)
    aim_inputs(schema, world.pools(as_clinician=as_clinician))
    return schema


@pytest.fixture
def person_schema(request: pytest.FixtureRequest, world: World) -> Any:
    return _schema(request, world, as_clinician=False)


@pytest.fixture
def clinician_schema(request: pytest.FixtureRequest, world: World) -> Any:
    return _schema(request, world, as_clinician=True)


person = schemathesis.pytest.from_fixture("person_schema")
clinician = schemathesis.pytest.from_fixture("clinician_schema").include(path_regex=CLINICIAN_PATHS)


@HYPOTHESIS
@person.parametrize()
def test_person_api(case: Any, world: World) -> None:
    case.call_and_validate(headers=world.person_headers, additional_checks=[world.no_leak])


@HYPOTHESIS
@clinician.parametrize()
def test_clinician_api(case: Any, world: World) -> None:
    case.call_and_validate(headers=world.clinician_headers, additional_checks=[world.no_leak])


def test_person_workflows(person_schema: Any, world: World) -> None:
    headers, leak = world.person_headers, world.no_leak
    machine = person_schema.as_state_machine()
    assert person_schema.statistic.transitions.total > 100, "links are inferred from the schema"

    class Workflow(machine):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            self._scenario = transaction.atomic()
            self._scenario.__enter__()

        def teardown(self) -> None:
            world.assert_other_untouched()  # before the rollback hides what the scenario wrote
            transaction.set_rollback(True)
            self._scenario.__exit__(None, None, None)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            # As the base class does, plus our check, and the headers named as given by the test
            # (ignored_auth tells explicit credentials from generated ones by them).
            case.validate_response(
                response, headers=headers, additional_checks=[leak], transport_kwargs=kwargs, recorder=self.recorder
            )

    with connection_kept_across_requests():
        Workflow.run(settings=settings(HYPOTHESIS, max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS))


# Where each kind of B's identifier shows when B (or B's clinician) asks: email and profile marker,
# row ids, notes, labels, the clinician's email on the share, exports.
B_SEES = [
    "/api/v1/me/", "/api/v1/episodes/", "/api/v1/checkins/", "/api/v1/reminders/", "/api/v1/notifications/",
    "/api/v1/devices/", "/api/v1/alerts/", "/api/v1/shares/", "/api/v1/shares/access-log/",
    "/api/v1/me/export/episodes.csv/", "/api/v1/me/export/fhir/",
]  # fmt: skip


def test_the_leak_checks_see_the_other_persons_data(person_schema: Any, world: World) -> None:
    """The checks are not vacuous: what B is shown trips the answer check, what A is shown passes; a
    change B makes to their own diary trips the check that B's data is untouched."""
    leak = world.no_leak
    for path in B_SEES:
        case = person_schema[path]["GET"].Case()
        leak(None, case.call(headers=bearer(world.person.user)), case)
        with pytest.raises(AssertionError, match="showing B's data"):
            leak(None, case.call(headers=bearer(world.other.user)), case)
    episodes = person_schema["/api/v1/clinician/patients/{pid}/episodes/"]["GET"]
    case = episodes.Case(path_parameters={"pid": world.person_share})
    leak(None, case.call(headers=bearer(world.clinician)), case)
    case = episodes.Case(path_parameters={"pid": world.other_shares[0]})
    with pytest.raises(AssertionError, match="showing B's data"):
        leak(None, case.call(headers=bearer(world.other_clinician)), case)
    delete = person_schema["/api/v1/episodes/{uid}/"]["DELETE"].Case(
        path_parameters={"uid": world.other.ids["episodes"][0]}
    )
    assert delete.call(headers=bearer(world.other.user)).status_code == 204
    with pytest.raises(AssertionError, match="B's data changed"):
        world.assert_other_untouched()
    world.other_before = fingerprint(world.other.user)  # B may change their own diary
