"""The transports the settings configure, built once per process."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from diary.notifications.delivery.apns import ApnsTransport
from diary.notifications.delivery.base import Transport
from diary.notifications.delivery.fcm import FcmTransport
from diary.notifications.delivery.webpush import WebPushTransport


def _setting(name: str) -> Any:
    return getattr(settings, name, None)


def _flag(name: str) -> bool:
    value = _setting(name)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _build(platform: str, factory: Callable[[], Transport]) -> Transport:
    try:
        return factory()
    except (OSError, ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"push transport {platform!r} is configured but cannot start: {exc}") from exc


@functools.cache
def configured_transports() -> dict[str, Transport]:
    """platform -> transport, for each platform whose required settings are all set.

    Web Push needs VAPID_PRIVATE_KEY and VAPID_SUBJECT; FCM needs FCM_CREDENTIALS_FILE; APNs needs APNS_KEY_FILE,
    APNS_KEY_ID, APNS_TEAM_ID and APNS_TOPIC. Settings that are present but unusable (a missing file, a bad key)
    raise ImproperlyConfigured rather than silently dropping the platform.
    """
    factories: dict[str, Callable[[], Transport]] = {}
    if _setting("VAPID_PRIVATE_KEY") and _setting("VAPID_SUBJECT"):
        factories["webpush"] = functools.partial(
            WebPushTransport, private_key=_setting("VAPID_PRIVATE_KEY"), subject=_setting("VAPID_SUBJECT")
        )
    if _setting("FCM_CREDENTIALS_FILE"):
        factories["fcm"] = functools.partial(
            FcmTransport,
            credentials_file=_setting("FCM_CREDENTIALS_FILE"),
            project_id=_setting("FCM_PROJECT_ID") or None,
            endpoint=_setting("FCM_ENDPOINT") or None,
        )
    if all(_setting(name) for name in ("APNS_KEY_FILE", "APNS_KEY_ID", "APNS_TEAM_ID", "APNS_TOPIC")):
        factories["apns"] = functools.partial(
            ApnsTransport,
            key_file=_setting("APNS_KEY_FILE"),
            key_id=_setting("APNS_KEY_ID"),
            team_id=_setting("APNS_TEAM_ID"),
            topic=_setting("APNS_TOPIC"),
            use_sandbox=_flag("APNS_USE_SANDBOX"),
            host=_setting("APNS_HOST") or None,
            ca_file=_setting("APNS_CA_FILE") or None,
        )
    return {platform: _build(platform, factory) for platform, factory in factories.items()}


def transport_for(platform: str) -> Transport | None:
    """The transport for a device's platform, or None when that platform is not configured."""
    return configured_transports().get(platform)


def reset() -> None:
    """Forget the built transports (tests, after override_settings), closing their connections."""
    if configured_transports.cache_info().currsize:
        for transport in configured_transports().values():
            close = getattr(transport, "close", None)
            if close is not None:
                close()
    configured_transports.cache_clear()
