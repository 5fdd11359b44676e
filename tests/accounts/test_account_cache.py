"""The signed-in account without a query (diary/accounts/account_cache.py): a bearer request reads the
user row once per process and change, and every change (epoch bump, save, deletion) is seen by the next
request, in this process and in any other (the change stamp in Redis)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from redis import Redis

from backend import ratelimit
from diary.accounts import account_cache
from diary.accounts.models import User
from tests.conftest import assert_error, client_for

# The kept account copies are checked against a stamp in Redis (the SQLite pass has none).
pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def user_reads(client, path: str = "/api/v1/me") -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as queries:
        status = client.get(path).status_code
    return status, sum('FROM "accounts_user"' in q["sql"] for q in queries.captured_queries)


def redis_client(settings) -> Redis:  # type: ignore[no-untyped-def,type-arg]
    return Redis.from_url(settings.CACHES["default"]["LOCATION"])


class TestAccountCache:
    def test_the_second_request_reads_no_user_row(self, owner: User) -> None:
        api = client_for(owner)
        assert user_reads(api) == (200, 1)
        assert user_reads(api) == (200, 0)
        assert user_reads(api) == (200, 0)

    def test_a_change_made_by_another_process_is_seen_on_the_next_request(self, owner: User) -> None:
        api = client_for(owner)
        assert user_reads(api) == (200, 1)
        # Another process ends the tokens: the row and the stamp change; this process's copy stays.
        User.objects.filter(pk=owner.pk).update(token_epoch=F("token_epoch") + 1)
        assert ratelimit.renew([account_cache.stamp_key(owner.pk)])
        assert_error(api.get("/api/v1/me"), 401)

    def test_a_copy_is_used_only_under_its_own_stamp(self, owner: User) -> None:
        api = client_for(owner)
        assert user_reads(api) == (200, 1)
        User.objects.filter(pk=owner.pk).update(display_name="changed elsewhere")  # no stamp change
        assert api.get("/api/v1/me").json()["display_name"] == ""  # the copy: the stamp did not change
        assert ratelimit.renew([account_cache.stamp_key(owner.pk)])
        assert api.get("/api/v1/me").json()["display_name"] == "changed elsewhere"

    def test_a_saved_change_is_seen_at_once(self, owner: User) -> None:
        api = client_for(owner)
        assert api.patch("/api/v1/me", {"timezone": "Asia/Tokyo"}, format="json").status_code == 200
        assert user_reads(api) == (200, 1)  # the save renewed the stamp
        assert api.get("/api/v1/me").json()["timezone"] == "Asia/Tokyo"

    def test_a_deleted_account_is_refused_even_when_kept(self, owner: User) -> None:
        api = client_for(owner)
        assert user_reads(api) == (200, 1)
        User.objects.filter(pk=owner.pk).delete()
        assert_error(api.get("/api/v1/me"), 401)

    def test_a_refused_token_does_not_spend_the_persons_budget(self, owner: User, settings) -> None:  # type: ignore[no-untyped-def]
        api = client_for(owner)
        assert api.get("/api/v1/me").status_code == 200
        log = f"{ratelimit.PREFIX}throttle_user_{owner.pk}"
        counted = redis_client(settings).zcard(log)
        assert counted == 1
        User.objects.filter(pk=owner.pk).update(token_epoch=F("token_epoch") + 1)
        assert ratelimit.renew([account_cache.stamp_key(owner.pk)])
        assert_error(api.get("/api/v1/me"), 401)
        assert redis_client(settings).zcard(log) == counted

    def test_copies_expire(self, owner: User, monkeypatch: pytest.MonkeyPatch) -> None:
        api = client_for(owner)
        assert user_reads(api) == (200, 1)
        monkeypatch.setattr(account_cache, "MAX_AGE", 0.0)
        assert user_reads(api) == (200, 1)

    def test_without_redis_every_request_reads_the_row(self, owner: User, settings) -> None:  # type: ignore[no-untyped-def]
        settings.CACHES = {
            "default": {
                "BACKEND": "backend.cache.FailOpenRedisCache",
                "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
                "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
            }
        }
        api = client_for(owner)
        assert user_reads(api) == (200, 1)
        assert user_reads(api) == (200, 1)
        User.objects.filter(pk=owner.pk).update(token_epoch=F("token_epoch") + 1)
        assert_error(api.get("/api/v1/me"), 401)  # revocation needs no Redis
