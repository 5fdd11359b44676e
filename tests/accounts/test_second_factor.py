"""A second factor on every clinician read, and TOTP guessing stopped (issue 15, items 1 and 2).

The URL map is walked, not listed: every route under /api/v1/clinician/ and /clinician/, and every
API view guarded by ``IsClinician`` (redeem), refuses a password-only session and a password-only
token, and admits the same clinician once a code from the authenticator app was checked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
import time_machine
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from diary.accounts.models import TotpDevice, User
from diary.accounts.totp import FREE_TRIES, MAX_WAIT, totp_device, wait_after
from diary.alerts.models import Alert
from diary.sharing.access import IsClinician
from diary.sharing.services import share_invite, share_redeem
from tests.conftest import PASSWORD, assert_error, episode_body, run_outbox

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/auth/token"


def code_at(secret: str, at: dt.datetime | None = None) -> str:
    return pyotp.TOTP(secret).at(at or timezone.now())


def enrolled(user: User) -> str:
    """Confirm an authenticator for ``user`` (as the page or the API would); its secret."""
    device = totp_device(user=user)
    device.confirmed_at = timezone.now()
    device.save(update_fields=["confirmed_at"])
    return device.secret


def signed_in(user: User) -> Client:
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    return client


def password_token(user: User) -> str:
    """What /api/v1/auth/token answered a clinician before this change: a password alone."""
    return str(RefreshToken.for_user(user).access_token)


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _walk(resolvers: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolvers:
        route = prefix + str(entry.pattern).lstrip("^")
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        else:
            yield route, entry


def clinician_routes() -> list[tuple[str, URLPattern, list[str]]]:
    """Every clinician route in the URL map, with the methods its view answers."""
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        cls = getattr(pattern.callback, "cls", None)
        guarded = cls is not None and IsClinician in getattr(cls, "permission_classes", [])
        if not (route.startswith(("api/v1/clinician/", "clinician")) or guarded) or pattern.name == "clinician-2fa":
            continue
        if cls is not None:
            methods = [m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)]
        else:
            methods = ["get", "post"] if pattern.name == "clinician-redeem" else ["get"]
        found.append((route, pattern, methods))
    return found


def test_the_walk_finds_api_pages_exports_and_the_pdf() -> None:
    names = {p.name for _, p, _ in clinician_routes()}
    assert {"clinician-patients", "clinician-episodes", "clinician-export-fhir", "clinician-export-episodes-csv",
            "clinician-alert-acknowledge", "share-redeem", "clinician-triage", "clinician-patient",
            "clinician-pdf"} <= names  # fmt: skip


@pytest.fixture
def world(owner: User, clinician: User) -> dict[str, str]:
    """A patient with an episode, a check-in and an open alert, shared with every scope."""
    owner_api = bearer(str(RefreshToken.for_user(owner).access_token))
    body = episode_body(pain=9, started_at=timezone.now().isoformat())
    assert owner_api.post("/api/v1/episodes", body, format="json").status_code == 201
    run_outbox()
    _, code = share_invite(patient=owner, data={"scopes": ["episodes", "checkins", "insights", "alerts", "notes"]})
    share = share_redeem(clinician=clinician, code=code)
    alert = Alert.objects.filter(user=owner).first()
    assert alert is not None
    return {"pid": share.uid, "uid": alert.uid}


def _url(pattern: URLPattern, world: dict[str, str]) -> str:
    return reverse(pattern.name or "", kwargs={k: world[k] for k in pattern.pattern.regex.groupindex})


def _send(client: Any, method: str, url: str) -> Any:
    return getattr(client, method)(url, {}, content_type="application/json") if method != "get" else client.get(url)


def test_a_password_only_session_or_token_reads_nothing(clinician: User, world: dict[str, str]) -> None:
    enrolled(clinician)
    session, token = signed_in(clinician), bearer(password_token(clinician))
    for route, pattern, methods in clinician_routes():
        url = _url(pattern, world)
        for method in methods:
            r = _send(session, method, url)
            if route.startswith("api/"):
                assert r.status_code in (401, 403), (method, url, "session", r.status_code)
                assert_error(_send(token, method, url), 403)
            else:  # a page: to the second-factor page
                assert r.status_code == 302 and r["Location"].startswith("/clinician/2fa/"), (method, url)


def test_after_the_second_factor_every_clinician_route_answers(clinician: User, world: dict[str, str]) -> None:
    secret = enrolled(clinician)
    session = signed_in(clinician)
    assert session.post("/clinician/2fa/", {"code": code_at(secret)}).status_code == 302
    r: Any = APIClient().post(TOKEN, {"email": clinician.email, "password": PASSWORD,
                                 "totp": code_at(secret, timezone.now() + dt.timedelta(seconds=30))}, format="json")  # fmt: skip
    assert r.status_code == 200, r.content
    token = bearer(r.json()["access"])
    for route, pattern, methods in clinician_routes():
        url = _url(pattern, world)
        clients = [session, token] if route.startswith("api/") else [session]
        for client in clients:
            r = client.get(url) if "get" in methods else _send(client, methods[0], url)
            assert r.status_code not in (401, 403) and r.status_code < 500, (url, r.status_code)
            if "get" in methods:
                assert r.status_code == 200, (url, r.status_code)


def test_the_token_endpoint_asks_a_clinician_for_the_code(clinician: User, owner: User) -> None:
    anon = APIClient()
    enrolled_secret = enrolled(clinician)
    body = {"email": clinician.email, "password": PASSWORD}
    err = assert_error(anon.post(TOKEN, body, format="json"), 401, "totp")
    assert err["error"] == "second_factor_required" and "authenticator app" in err["details"]["totp"][0]
    assert_error(anon.post(TOKEN, {**body, "totp": "000000"}, format="json"), 401, "totp")
    # A wrong password says nothing about codes.
    assert "totp" not in assert_error(anon.post(TOKEN, {**body, "password": "wrong"}, format="json"), 401)["details"]
    r = anon.post(TOKEN, {**body, "totp": code_at(enrolled_secret)}, format="json")
    assert r.status_code == 200
    assert AccessToken(r.json()["access"])["amr"] == ["pwd", "otp"]
    again = anon.post("/api/v1/auth/token/refresh", {"refresh": r.json()["refresh"]}, format="json")
    assert again.status_code == 200 and AccessToken(again.json()["access"])["amr"] == ["pwd", "otp"]
    assert bearer(again.json()["access"]).get("/api/v1/clinician/patients").status_code == 200
    # The same code again (replay) is refused.
    assert_error(anon.post(TOKEN, {**body, "totp": code_at(enrolled_secret)}, format="json"), 401, "totp")
    # A person keeping a diary signs in with a password, as before.
    person = anon.post(TOKEN, {"email": owner.email, "password": PASSWORD}, format="json")
    assert person.status_code == 200 and AccessToken(person.json()["access"])["amr"] == ["pwd"]


def test_a_clinician_enrols_through_the_api(clinician: User, owner: User) -> None:
    anon = APIClient()
    creds = {"email": clinician.email, "password": PASSWORD}
    err = assert_error(anon.post(TOKEN, creds, format="json"), 401, "totp")
    assert "enrol" in err["details"]["totp"][0]
    assert_error(anon.post("/api/v1/auth/totp/enrol", {**creds, "password": "wrong"}, format="json"), 401)
    assert_error(anon.post("/api/v1/auth/totp/enrol", {"email": owner.email, "password": PASSWORD}, format="json"), 401)
    r = anon.post("/api/v1/auth/totp/enrol", creds, format="json")
    assert r.status_code == 200 and r.json()["uri"].startswith("otpauth://totp/") and not r.json()["replaces_current"]
    secret = r.json()["secret"]
    assert_error(anon.post("/api/v1/auth/totp/confirm", {**creds, "totp": "123456"}, format="json"), 401, "totp")
    tokens = anon.post("/api/v1/auth/totp/confirm", {**creds, "totp": code_at(secret)}, format="json")
    assert tokens.status_code == 200 and AccessToken(tokens.json()["access"])["amr"] == ["pwd", "otp"]
    assert TotpDevice.objects.get(user=clinician).confirmed_at is not None
    # Enrolled: a password alone no longer gets a secret, nor confirms anything.
    assert_error(anon.post("/api/v1/auth/totp/enrol", creds, format="json"), 401, "totp")
    assert_error(anon.post("/api/v1/auth/totp/confirm", {**creds, "totp": code_at(secret)}, format="json"), 400, "totp")


def test_re_enrolment_needs_the_old_code_and_swaps_only_when_confirmed(clinician: User) -> None:
    old = enrolled(clinician)
    anon, creds = APIClient(), {"email": clinician.email, "password": PASSWORD}
    now = timezone.now()
    r = anon.post("/api/v1/auth/totp/enrol", {**creds, "totp": code_at(old, now)}, format="json")
    assert r.status_code == 200 and r.json()["replaces_current"]
    new = r.json()["secret"]
    assert new != old and TotpDevice.objects.get(user=clinician).secret == old  # the old app still works
    later = now + dt.timedelta(seconds=30)
    confirmed = anon.post("/api/v1/auth/totp/confirm", {**creds, "totp": code_at(new, later)}, format="json")
    assert confirmed.status_code == 200
    assert TotpDevice.objects.get(user=clinician).secret == new


def test_the_wait_grows_and_is_capped() -> None:
    waits = [wait_after(n) for n in range(1, 40)]
    assert waits[: FREE_TRIES - 1] == [0] * (FREE_TRIES - 1)
    assert 0 < waits[FREE_TRIES - 1] < waits[FREE_TRIES] < waits[FREE_TRIES + 1] and max(waits) == MAX_WAIT


def test_guessing_codes_at_the_token_endpoint_is_stopped(clinician: User, caplog: pytest.LogCaptureFixture) -> None:
    secret = enrolled(clinician)
    anon, creds = APIClient(), {"email": clinician.email, "password": PASSWORD}
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        right = code_at(secret)
        statuses = []
        for n in range(300):
            wrong = f"{(int(right) + 1 + n) % 1_000_000:06d}"
            statuses.append(anon.post(TOKEN, {**creds, "totp": wrong}, format="json").status_code)
        assert statuses[: FREE_TRIES - 1] == [401] * (FREE_TRIES - 1) and set(statuses[FREE_TRIES - 1 :]) == {429}
        refused = anon.post(TOKEN, {**creds, "totp": right}, format="json")
        body = assert_error(refused, 429, "totp")
        assert "try again in" in body["details"]["totp"][0] and "match" not in body["message"]
        assert int(refused["Retry-After"]) == wait_after(FREE_TRIES)
        clock.shift(wait_after(FREE_TRIES) + 1)  # the wait ends; the next step's code works
        ok = anon.post(TOKEN, {**creds, "totp": code_at(secret)}, format="json")
        assert ok.status_code == 200, ok.content
    assert TotpDevice.objects.get(user=clinician).failures == 0
    waits = [r for r in caplog.records if r.getMessage() == "totp wait"]
    assert len(waits) == 1 and getattr(waits[0], "user_id", None) == clinician.pk  # one alert line when the wait starts


def test_guessing_codes_on_the_page_is_stopped_and_the_wait_grows(clinician: User) -> None:
    secret = enrolled(clinician)
    page = signed_in(clinician)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(FREE_TRIES):
            page.post("/clinician/2fa/", {"code": "000000" if code_at(secret) != "000000" else "111111"})
        refused = page.post("/clinician/2fa/", {"code": code_at(secret)})
        assert refused.status_code == 200 and b"Too many wrong codes" in refused.content
        assert b"did not match" not in refused.content
        clock.shift(wait_after(FREE_TRIES) + 1)
        page.post("/clinician/2fa/", {"code": "999999" if code_at(secret) != "999999" else "888888"})  # one more
        clock.shift(wait_after(FREE_TRIES) + 1)  # the first wait is not enough now: it doubled
        assert b"Too many wrong codes" in page.post("/clinician/2fa/", {"code": code_at(secret)}).content
        clock.shift(wait_after(FREE_TRIES + 1))
        assert page.post("/clinician/2fa/", {"code": code_at(secret)}).status_code == 302


def test_the_schema_documents_the_code_and_the_enrolment() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    token = schema["paths"]["/api/v1/auth/token/"]["post"]
    ref = token["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "totp" in schema["components"]["schemas"][ref]["properties"]
    assert "second_factor_required" in token["responses"]["401"]["description"]
    for path in ("/api/v1/auth/totp/enrol/", "/api/v1/auth/totp/confirm/"):
        assert {"200", "400", "401", "429"} <= set(schema["paths"][path]["post"]["responses"])


def test_the_code_throttle_holds_while_redis_is_down(clinician: User, settings: Any) -> None:
    """The address throttles fail open without Redis; the per-account code count does not."""
    settings.CACHES = {
        "default": {
            "BACKEND": "backend.cache.FailOpenRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    from django.core.cache import cache

    cache.set("probe", 1)
    assert cache.get("probe") is None  # Redis really is unreachable here
    secret = enrolled(clinician)
    anon, creds = APIClient(), {"email": clinician.email, "password": PASSWORD}
    with time_machine.travel(timezone.now(), tick=False):
        right = code_at(secret)
        wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
        statuses = [anon.post(TOKEN, {**creds, "totp": wrong}, format="json").status_code for _ in range(FREE_TRIES)]
        assert statuses[-1] == 429
        assert anon.post(TOKEN, {**creds, "totp": right}, format="json").status_code == 429
