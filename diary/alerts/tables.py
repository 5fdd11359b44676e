from __future__ import annotations

from typing import Any

from diary.alerts.models import Alert
from diary.alerts.spec import ALERT
from diary.sync.tables import TableDef


def _acknowledge(values: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """Setting acknowledged_at moves an open alert to acknowledged (SYNC.md ``alerts``)."""
    if values.get("acknowledged_at") is not None and stored.get("status") == "open":
        return {**values, "status": "acknowledged"}
    return values


ALERTS = TableDef(name="alerts", model=Alert, spec=ALERT, server_owned=True, client_update=_acknowledge)
