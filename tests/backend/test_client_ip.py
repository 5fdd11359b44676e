"""The client address comes from the socket unless TRUSTED_PROXIES says which X-Forwarded-For hop to
believe (backend/client_ip.py); every per-address throttle keys on it."""

from __future__ import annotations

import ipaddress

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from backend.client_ip import client_address, parse_trusted_proxies
from diary.accounts.models import User
from diary.accounts.throttles import AuthBurstThrottle, AuthThrottle

RATES = {"auth": "3/min", "auth_burst": "100/sec"}


def net(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


class TestTheRule:
    def test_without_trusted_proxies_the_header_is_ignored(self) -> None:
        assert client_address("203.0.113.9", "198.51.100.1, 10.0.0.1", ()) == "203.0.113.9"

    def test_a_hop_count_takes_the_hop_the_proxy_wrote(self) -> None:
        # the client wrote "1.1.1.1" itself; the one proxy appended the real peer 198.51.100.7
        assert client_address("10.0.0.2", "1.1.1.1, 198.51.100.7", 1) == "198.51.100.7"
        assert client_address("10.0.0.3", "1.1.1.1, 198.51.100.7, 10.0.0.2", 2) == "198.51.100.7"
        assert client_address("10.0.0.2", "", 1) == "10.0.0.2"  # no header: the peer
        assert client_address("10.0.0.2", "198.51.100.7", 3) == "198.51.100.7"  # fewer hops: the left-most

    def test_networks_take_the_right_most_untrusted_hop(self) -> None:
        trusted = net("10.0.0.0/8", "192.168.1.7/32")
        assert client_address("192.168.1.7", "6.6.6.6, 198.51.100.7, 10.1.2.3", trusted) == "198.51.100.7"
        # a peer that is not a trusted proxy is the client, whatever it writes
        assert client_address("203.0.113.9", "10.1.2.3", trusted) == "203.0.113.9"
        assert client_address("10.0.0.1", "not-an-address, 10.0.0.5", trusted) == "10.0.0.5"
        assert client_address("10.0.0.1", "[2001:db8::5]:443", trusted) == "2001:db8::5"
        assert client_address("10.0.0.1", "198.51.100.7:5678", trusted) == "198.51.100.7"

    def test_the_setting(self) -> None:
        assert parse_trusted_proxies("") == ()
        assert parse_trusted_proxies("2") == 2
        assert parse_trusted_proxies("10.0.0.0/8, 192.168.1.7") == net("10.0.0.0/8", "192.168.1.7/32")
        with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
            parse_trusted_proxies("10.0.0.0/8,proxy.example")


def _sign_in(client: APIClient, user: User, forwarded: str) -> int:
    body = {"email": user.email, "password": "wrong"}
    return client.post("/api/v1/auth/token", body, format="json", HTTP_X_FORWARDED_FOR=forwarded).status_code


class TestThrottles:
    @pytest.fixture(autouse=True)
    def _rates(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(AuthThrottle, "THROTTLE_RATES", RATES)
        monkeypatch.setattr(AuthBurstThrottle, "THROTTLE_RATES", RATES)

    def test_a_spoofed_forwarded_for_is_ignored(self, anon: APIClient, owner: User) -> None:
        """The issue-15 walk-around: a made-up X-Forwarded-For on each attempt got a fresh budget."""
        codes = [_sign_in(anon, owner, f"198.51.100.{i}") for i in range(8)]
        assert codes == [401] * 3 + [429] * 5

    def test_the_right_hop_counts_behind_a_trusted_proxy(self, anon: APIClient, owner: User, settings) -> None:  # type: ignore[no-untyped-def]
        settings.TRUSTED_PROXIES = 1  # the test client's 127.0.0.1 is the proxy
        # one real client behind the proxy, inventing left-hand hops: still one address
        codes = [_sign_in(anon, owner, f"6.6.6.{i}, 198.51.100.7") for i in range(4)]
        assert codes == [401] * 3 + [429]
        # other clients behind the same proxy have budgets of their own
        assert [_sign_in(anon, owner, f"198.51.100.{i}") for i in range(20, 24)] == [401] * 4

    def test_trusted_networks(self, anon: APIClient, owner: User, settings) -> None:  # type: ignore[no-untyped-def]
        settings.TRUSTED_PROXIES = parse_trusted_proxies("127.0.0.0/8,10.0.0.0/8")
        codes = [_sign_in(anon, owner, f"6.6.6.{i}, 198.51.100.7, 10.0.0.9") for i in range(4)]
        assert codes == [401] * 3 + [429]
        assert _sign_in(anon, owner, "198.51.100.8, 10.0.0.9") == 401

    def test_ipv6_clients_count_per_64(self, anon: APIClient, owner: User, settings) -> None:  # type: ignore[no-untyped-def]
        settings.TRUSTED_PROXIES = 1
        codes = [_sign_in(anon, owner, f"2001:db8:1:2::{i:x}") for i in range(1, 5)]
        assert codes == [401] * 3 + [429]
