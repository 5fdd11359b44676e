"""``manage.py check`` resolves every handler path of the routing table, so a typo or a moved
function fails at start-up and in CI rather than in a worker at the first event of that topic."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error
from django.utils.module_loading import import_string

from diary.outbox.routes import AFTER_COMMIT, URGENT, every_path


def routes_resolve(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for path in every_path():
        try:
            handler = import_string(path)
        except ImportError as exc:
            errors.append(Error(f"outbox route {path!r} does not resolve: {exc}", id="outbox.E001"))
            continue
        if not callable(handler):
            errors.append(Error(f"outbox route {path!r} is not callable", id="outbox.E002"))
    routed = {path for paths in AFTER_COMMIT.values() for path in paths}
    for path in sorted(URGENT - routed):
        errors.append(Error(f"urgent outbox handler {path!r} is not routed by any topic", id="outbox.E003"))
    return errors
