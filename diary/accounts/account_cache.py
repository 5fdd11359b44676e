"""The signed-in account without a query: each process keeps the user rows it loaded, each under the
account's change stamp in Redis, read in the same round trip as the rate limit (backend/ratelimit.py).

Every change to an account row (a save, the epoch bump of a logout or password change, a deletion)
renews its stamp twice: at once, and again after the transaction commits (a request that read the old
row before the commit would otherwise keep it under the new stamp). A copy is used only while the stamp
read for this request is the one it was loaded under, so a change is seen by every process on the next
request: revocation stays immediate across processes.

If Redis is unreachable the request reads the row from the database (one query), as before this cache.
The one case the stamp cannot cover is a change made while Redis was unreachable, read by a process
after Redis came back with the old stamp: copies are therefore kept at most ``MAX_AGE`` seconds, the
bound the README states for that case.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from backend import ratelimit
from diary.accounts.models import User

MAX_AGE = 60.0  # seconds a copy may be used, whatever its stamp says
MAX_ENTRIES = 10_000  # accounts kept per process (least recently used go first)

_FIELDS = tuple(f.attname for f in User._meta.concrete_fields)
_rows: OrderedDict[int, tuple[str, float, tuple[Any, ...]]] = OrderedDict()
_lock = threading.Lock()


def stamp_key(user_id: int) -> str:
    return f"acct:{user_id}"


def cached_user(user_id: int, stamp: str | None) -> User | None:
    """A fresh ``User`` built from the copy kept under ``stamp`` (None: not kept, stale, or no stamp)."""
    if stamp is None:
        return None
    with _lock:
        found = _rows.get(user_id)
        if found is None:
            return None
        kept_stamp, kept_at, values = found
        if kept_stamp != stamp or time.monotonic() - kept_at > MAX_AGE:
            del _rows[user_id]
            return None
        _rows.move_to_end(user_id)
    return User.from_db("default", _FIELDS, values)  # a new instance per request: nothing leaks between them


def keep(user: User, stamp: str | None) -> None:
    """Keep the row just loaded under the stamp read *before* loading it."""
    if stamp is None:
        return
    values = tuple(getattr(user, name) for name in _FIELDS)
    with _lock:
        _rows[user.pk] = (stamp, time.monotonic(), values)
        _rows.move_to_end(user.pk)
        while len(_rows) > MAX_ENTRIES:
            _rows.popitem(last=False)


def account_changed(user_id: int) -> None:
    """Every process's copy of this account is stale: renew the stamp now and, inside a transaction,
    again after it commits."""
    with _lock:
        _rows.pop(user_id, None)
    keys = [stamp_key(user_id)]
    ratelimit.renew(keys)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: ratelimit.renew(keys))


def forget_all() -> None:
    with _lock:
        _rows.clear()


def _on_user_saved(sender: type[User], instance: User, **kwargs: Any) -> None:
    account_changed(instance.pk)


def watch_accounts() -> None:
    """Renew the stamp on every save and deletion of an account (AccountsConfig.ready connects it, so
    web, worker, admin and management commands all do)."""
    post_save.connect(_on_user_saved, sender=User, dispatch_uid="account_cache_saved")
    post_delete.connect(_on_user_saved, sender=User, dispatch_uid="account_cache_deleted")
