"""``manage.py check`` resolves every synced table of the registry (diary/sync/registry.py), which is
otherwise resolved on the first sync request, so a typo or a moved TableDef fails at start-up."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error

from diary.sync.registry import SYNCED, TABLE_PATHS


def tables_resolve(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        missing = [name for name in TABLE_PATHS if SYNCED[name].name != name]
    except (ImportError, TypeError) as exc:
        return [Error(f"the synced tables do not resolve: {exc}", id="sync.E001")]
    return [Error(f"synced table {name!r} resolves to another table", id="sync.E001") for name in missing]
