"""Writes of daily check-ins; the id of a check-in is its local date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from diary.accounts.models import User
from diary.checkins.models import CheckIn
from diary.checkins.spec import CHECKIN
from diary.core.errors import DomainValidationError
from diary.core.fields import REST
from diary.outbox.routes import CHECKIN_WRITTEN
from diary.sync.tables import TableDef
from diary.sync.writes import record_delete, record_write

CHECKINS = TableDef(
    name="checkins",
    model=CheckIn,
    spec=CHECKIN,
    topic=CHECKIN_WRITTEN,
    erase_on_delete={"notes": None, "medications": []},
    id_column="date",
    noun="check-in",
)
REST_READ_ONLY = frozenset({"id"})


def _uid_for(data: Mapping[str, Any], url_date: str | None) -> str:
    """The id, the ``date`` and the URL must name one day; any disagreement is a 400."""
    given = {k: data[k] for k in ("id", "date") if data.get(k) is not None}
    if url_date is not None:
        given["url"] = url_date
    if not given:
        raise DomainValidationError({"date": ["this field is required"]})
    not_text = sorted(k for k, v in given.items() if not isinstance(v, str))  # an object or a list is no day
    if not_text:
        raise DomainValidationError({k: ["must be a date YYYY-MM-DD"] for k in not_text})
    values = set(given.values())
    if len(values) > 1:
        where = " and ".join(f"{k}={v!r}" for k, v in given.items())
        raise DomainValidationError({"date": [f"the check-in id is its date; these disagree: {where}"]})
    day = values.pop()
    try:
        if len(day) != 10:
            raise ValueError
        dt.date.fromisoformat(day)
    except ValueError:
        raise DomainValidationError({"date": ["must be a date YYYY-MM-DD"]}) from None
    return day


def checkin_create(*, user: User, data: Mapping[str, Any], wire: str = REST) -> CheckIn:
    uid = _uid_for(data, None)
    row, _ = record_write(
        table=CHECKINS,
        user=user,
        uid=uid,
        data={**data, "date": uid},
        wire=wire,
        mode="create",
        ignore=REST_READ_ONLY,
    )
    return row  # type: ignore[return-value]


def checkin_put(*, user: User, date: str, data: Mapping[str, Any], wire: str = REST) -> tuple[CheckIn, bool]:
    """Create or replace the check-in of ``date`` (PUT: idempotent)."""
    uid = _uid_for(data, date)
    row, created = record_write(
        table=CHECKINS,
        user=user,
        uid=uid,
        data={**data, "date": uid},
        wire=wire,
        mode="put",
        ignore=REST_READ_ONLY,
    )
    return row, created  # type: ignore[return-value]


def checkin_patch(*, user: User, date: str, data: Mapping[str, Any], wire: str = REST) -> CheckIn:
    uid = _uid_for(data, date)
    row, _ = record_write(table=CHECKINS, user=user, uid=uid, data=data, wire=wire, mode="patch", ignore=REST_READ_ONLY)
    return row  # type: ignore[return-value]


def checkin_delete(*, user: User, date: str) -> None:
    record_delete(table=CHECKINS, user_id=user.pk, uid=date)
