"""Sign-in throttles on the web page, the admin and the API token endpoint (diary/accounts/signin_limits.py):
per address and per account, one message that does not tell whether the account exists, and no
success that gives another address its budget back."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from diary.accounts.models import User
from diary.accounts.signin_limits import _AccountFailures, _AccountFailuresDay
from diary.accounts.throttles import AuthBurstThrottle, AuthThrottle
from tests.conftest import PASSWORD, assert_error, make_user

pytestmark = pytest.mark.django_db

WAIT = re.compile(rb"Too many sign-in attempts\. For your safety, try again in \d+ (seconds|minutes)")


@pytest.fixture
def rates(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    rates = {"auth": "6/min", "auth_burst": "100/sec", "signin_account": "3/hour", "signin_account_day": "5/day"}
    for cls in (AuthThrottle, AuthBurstThrottle, _AccountFailures, _AccountFailuresDay):
        monkeypatch.setattr(cls, "THROTTLE_RATES", rates)
    return rates


def post(browser: Client, path: str, email: str, password: str, addr: str = "127.0.0.1") -> tuple[int, bytes]:
    r = browser.post(path, {"username": email, "password": password}, REMOTE_ADDR=addr)
    return r.status_code, r.content


class TestWebSignIn:
    def test_brute_force_is_stopped_with_one_message_for_known_and_unknown_accounts(
        self, owner: User, rates: dict[str, str]
    ) -> None:
        browser = Client()
        known = [post(browser, "/accounts/login/", owner.email, f"guess{i}", addr="198.51.100.1") for i in range(5)]
        unknown = [
            post(browser, "/accounts/login/", "nobody@example.com", f"guess{i}", "198.51.100.2") for i in range(5)
        ]
        for answers in (known, unknown):
            assert [code for code, _ in answers] == [200, 200, 200, 429, 429]
            assert all(b"did not match" in body for _, body in answers[:3])
            assert all(WAIT.search(body) and b"did not match" not in body for _, body in answers[3:])
        # the right password is not even checked while the account waits, from any address
        r = browser.post(
            "/accounts/login/", {"username": owner.email, "password": PASSWORD}, REMOTE_ADDR="203.0.113.50"
        )
        assert r.status_code == 429 and WAIT.search(r.content)
        assert 3500 < int(r["Retry-After"]) <= 3600  # the account's hour, though this address is fresh
        assert "_auth_user_id" not in browser.session

    def test_per_address_every_attempt_counts(self, db: None, rates: dict[str, str]) -> None:
        """Password spraying: one address, a different account each time."""
        browser = Client()
        codes = [post(browser, "/accounts/login/", f"p{i}@example.com", "x", "198.51.100.9")[0] for i in range(8)]
        assert codes == [200] * 6 + [429] * 2
        assert post(browser, "/accounts/login/", "p9@example.com", "x", "198.51.100.10")[0] == 200

    def test_a_success_from_one_address_never_resets_another(self, owner: User, rates: dict[str, str]) -> None:
        other = make_user("victim@example.com")
        attacker, person = Client(), Client()
        # the attacker at B spends B's budget on other accounts ...
        assert [post(attacker, "/accounts/login/", f"x{i}@example.com", "x", "198.51.100.66")[0] for i in range(6)] == [
            200
        ] * 6
        # ... the person at A signs in (twice, after a typo) ...
        assert post(person, "/accounts/login/", other.email, "typo", "203.0.113.1")[0] == 200
        assert post(person, "/accounts/login/", other.email, PASSWORD, "203.0.113.1")[0] == 302
        # ... and B is still refused, and the account's failure still counts
        assert post(attacker, "/accounts/login/", other.email, "guess", "198.51.100.66")[0] == 429
        assert [post(Client(), "/accounts/login/", other.email, "g", f"192.0.2.{i}")[0] for i in range(3)] == [
            200,
            200,
            429,
        ]

    def test_the_wait_grows_past_the_hourly_limit(self, owner: User, rates: dict[str, str]) -> None:
        from backend import ratelimit
        from diary.accounts.signin_limits import _account_key, account_wait

        hourly = account_wait(owner.email)
        assert hourly is None
        for i in range(3):
            post(Client(), "/accounts/login/", owner.email, "g", f"192.0.2.{i}")
        hourly = account_wait(owner.email)
        assert hourly is not None and 3500 < hourly <= 3600
        # two more failures (as if an hour had passed) reach the daily limit: the wait becomes a day's
        for _ in range(2):
            ratelimit.add(f"signin_account_day:{_account_key(owner.email)}", 5, 86400)
        daily = account_wait(owner.email)
        assert daily is not None and daily > 80000


class TestAdminSignIn:
    def test_brute_force_is_stopped(self, db: None, rates: dict[str, str]) -> None:
        admin = make_user("root@example.com")
        User.objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
        browser = Client()
        answers = [post(browser, "/admin/login/", admin.email, f"guess{i}", "198.51.100.3") for i in range(5)]
        assert [code for code, _ in answers] == [200, 200, 200, 429, 429]
        assert all(WAIT.search(body) for _, body in answers[3:])
        ghost = [post(browser, "/admin/login/", "ghost@example.com", f"g{i}", "198.51.100.4") for i in range(5)]
        assert [code for code, _ in ghost] == [200, 200, 200, 429, 429]  # no account: the same answers
        assert all(WAIT.search(body) and b"correct" not in body for _, body in ghost[3:] + answers[3:])
        assert post(browser, "/admin/login/", admin.email, PASSWORD, "203.0.113.3")[0] == 429  # the account waits


class TestTokenEndpoint:
    def test_failures_per_account_hold_across_addresses(self, owner: User, rates: dict[str, str]) -> None:
        api = APIClient()
        body = {"email": owner.email, "password": "wrong"}
        codes = [
            api.post("/api/v1/auth/token", body, format="json", REMOTE_ADDR=f"192.0.2.{i}").status_code
            for i in range(5)
        ]
        assert codes == [401, 401, 401, 429, 429]
        right = {"email": owner.email, "password": PASSWORD}
        assert_error(api.post("/api/v1/auth/token", right, format="json", REMOTE_ADDR="203.0.113.7"), 429)
        # the same answer for an address that has no account
        for i in range(3):
            api.post(
                "/api/v1/auth/token",
                {"email": "nobody@example.com", "password": "x"},
                format="json",
                REMOTE_ADDR=f"192.0.2.{20 + i}",
            )
        ghost = api.post(
            "/api/v1/auth/token",
            {"email": "nobody@example.com", "password": "x"},
            format="json",
            REMOTE_ADDR="192.0.2.30",
        )
        assert ghost.status_code == 429 and ghost.json()["error"] == "throttled"

    def test_web_and_api_share_the_address_budget(self, owner: User, rates: dict[str, str]) -> None:
        browser, api = Client(), APIClient()
        for i in range(6):
            post(browser, "/accounts/login/", f"s{i}@example.com", "x", "198.51.100.77")
        r = api.post(
            "/api/v1/auth/token",
            {"email": "t@example.com", "password": "x"},
            format="json",
            REMOTE_ADDR="198.51.100.77",
        )
        assert_error(r, 429)
