"""Conventions every endpoint keeps: the OpenAPI schema is valid and complete, paths answer with
and without a trailing slash (no redirects), unknown paths answer the JSON error shape."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from diary.alerts.catalogue import BOUNDS
from diary.core.pagination import DiaryCursorPagination
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

API_PATHS = [
    "/api/v1/auth/register", "/api/v1/auth/token", "/api/v1/auth/token/refresh", "/api/v1/auth/logout",
    "/api/v1/auth/password/change", "/api/v1/auth/password/reset", "/api/v1/auth/password/reset/confirm",
    "/api/v1/me", "/api/v1/episodes", "/api/v1/episodes/{uid}", "/api/v1/checkins", "/api/v1/checkins/{date}",
]  # fmt: skip


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory, django_db_blocker) -> dict:  # type: ignore[no-untyped-def,type-arg]
    out = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        # --validate checks it against the OpenAPI 3 meta-schema; --fail-on-warn: no guessed types.
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    return yaml.safe_load(Path(out).read_text())


def test_schema_documents_every_endpoint(schema: dict) -> None:  # type: ignore[type-arg]
    documented = {p.rstrip("/") for p in schema["paths"]}
    assert set(API_PATHS) <= documented, set(API_PATHS) - documented


def test_schema_has_bodies_enums_and_errors(schema: dict) -> None:  # type: ignore[type-arg]
    post = schema["paths"]["/api/v1/episodes/"]["post"]
    assert "requestBody" in post
    for code in ("201", "400", "401", "409"):
        assert code in post["responses"], code
    components = schema["components"]["schemas"]
    episode_in = components["EpisodeInRequest"]
    assert set(episode_in["required"]) == {"kind", "body_location", "started_at", "pain"}
    assert episode_in["properties"]["pain"]["maximum"] == 10
    kind = episode_in["properties"]["kind"]
    enum_ref = kind.get("$ref") or kind["allOf"][0]["$ref"]
    assert components[enum_ref.rsplit("/", 1)[1]]["enum"] == ["spasm", "cramp", "twitch"]
    assert set(components["Error"]["properties"]) == {"error", "message", "details"}


def test_every_operation_documents_the_rate_limit_and_an_outage(schema: dict) -> None:  # type: ignore[type-arg]
    """Every API view is throttled (429) and any may meet a database outage (503); a status the schema
    does not list is a failure for clients generated from it and for the fuzzer (tests/fuzz)."""
    missing = [
        f"{method.upper()} {path} {code}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for code in ("429", "503")
        if code not in operation["responses"]
    ]
    assert not missing, missing


def test_schema_states_the_bounds_the_api_enforces(schema: dict) -> None:  # type: ignore[type-arg]
    """Bounds the validators enforce are in the schema too, so that clients (and the fuzzer) generated
    from it send values the API takes."""

    def params(path: str) -> dict[str, dict]:  # type: ignore[type-arg]
        return {p["name"]: p["schema"] for p in schema["paths"][path]["get"]["parameters"]}

    for path in ("/api/v1/episodes/", "/api/v1/checkins/", "/api/v1/notifications/", "/api/v1/alerts/"):
        page_size = params(path)["page_size"]
        assert (page_size["minimum"], page_size["maximum"]) == (1, DiaryCursorPagination.max_page_size), path
    limit = params("/api/v1/sync/pull/")["limit"]
    assert (limit["minimum"], limit["maximum"]) == (1, settings.SYNC_MAX_PULL_LIMIT)
    components = schema["components"]["schemas"]
    thresholds = components["ThresholdsInRequest"]["properties"]
    assert {n: (v["minimum"], v["maximum"]) for n, v in thresholds.items()} == dict(BOUNDS)
    assert components["ShareInRequest"]["properties"]["scopes"]["minItems"] == 1


def test_docs_page_and_schema_are_served(anon: APIClient) -> None:
    assert anon.get("/api/docs/").status_code == 200
    assert anon.get("/api/schema").status_code == 200


@pytest.mark.parametrize("path", [p.replace("{uid}", "x1").replace("{date}", "2026-01-01") for p in API_PATHS])
def test_paths_answer_with_and_without_slash(api: APIClient, path: str) -> None:
    for variant in (path, path + "/"):
        r = api.options(variant)
        assert r.status_code == 200, (variant, r.status_code)


def test_unknown_paths_are_json_404(api: APIClient) -> None:
    assert_error(api.get("/api/v1/nowhere"), 404)
    assert_error(api.get("/api/v1/episodes/a/b"), 404)


def test_wrong_method_is_405(api: APIClient) -> None:
    assert_error(api.delete("/api/v1/episodes"), 405)
