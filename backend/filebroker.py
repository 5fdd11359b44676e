"""kombu's filesystem transport (the embedded default's broker), made unable to deliver half a message.

kombu 5.7 writes a message file in place under its final name (``<ms>_<uuid>.<queue>.msg``), while a
consumer polls the folder every 0.1 s and parses whatever file has that name. A consumer that lists
the folder between the writer's ``open`` and ``write`` reads an empty or partial file, and its
JSONDecodeError stops the Celery worker ("Unrecoverable error"), and with it reminders and alerts.

Here:

- ``_put`` writes the message under a name the consumer's filter skips (``.<uuid>.part``: no
  ``.<queue>.msg`` ending) in the same folder, then ``os.replace``s it to its final name. A rename
  inside one folder is atomic, so a message is either absent or complete.
- ``_get`` claims a file by renaming it (atomic too, so two consumers never both take it), then
  parses it. A file it cannot read or decode (written by something else, truncated by a crash or a
  full disk) is logged and moved to the ``bad_folder`` for a person to look at, and the consumer goes
  on to the next message instead of raising. Nothing is lost by skipping it: every task here is an
  idempotent wake-up whose work the outbox sweeper re-sends.
"""

from __future__ import annotations

import logging
import os
import uuid
from contextlib import suppress
from pathlib import Path
from queue import Empty
from time import monotonic_ns
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

PART_SUFFIX = ".part"  # a message being written
CLAIMED_SUFFIX = ".claimed"  # a message a consumer took and is reading


class Channel(filesystem.Channel):
    # kombu names the second argument "message" in one base class and "payload" in the other.
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        folder = self.data_folder_out
        # Consumers take messages in name order: nanoseconds, zero-padded, keep one producer's FIFO.
        final = os.path.join(folder, f"{monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg")
        part = os.path.join(folder, f".{uuid.uuid4()}{PART_SUFFIX}")
        try:
            with open(part, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(part, final)
        except OSError as exc:
            with suppress(OSError):
                os.unlink(part)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue: str, timeout: Any = None) -> Any:
        wanted = f"{queue}.msg"
        folder = self.data_folder_in
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != wanted:
                continue
            path = os.path.join(folder, name)
            claimed = path + CLAIMED_SUFFIX
            try:
                os.rename(path, claimed)
            except OSError:
                continue  # another consumer took it
            try:
                with open(claimed, "rb") as f:
                    raw = f.read()
                payload = loads(bytes_to_str(raw))
                if not isinstance(payload, dict):
                    raise ValueError(f"a message is a JSON object, not {type(payload).__name__}")
            except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                self._set_aside(claimed, name, exc)
                continue
            self._done(claimed, name)
            return payload
        raise Empty()

    def _set_aside(self, claimed: str, name: str, exc: Exception) -> None:
        bad = Path(self.bad_folder)
        try:
            bad.mkdir(parents=True, exist_ok=True)
            os.replace(claimed, bad / name)
            where = str(bad / name)
        except OSError:
            with suppress(OSError):
                os.unlink(claimed)
            where = "nowhere (deleted)"
        logger.error(
            "broker message %s is unreadable and was moved to %s: %s: %s", name, where, type(exc).__name__, exc
        )

    def _done(self, claimed: str, name: str) -> None:
        with suppress(OSError):
            if self.store_processed:
                Path(self.processed_folder).mkdir(parents=True, exist_ok=True)
                os.replace(claimed, os.path.join(self.processed_folder, name))
            else:
                os.unlink(claimed)

    @property
    def bad_folder(self) -> str:
        options = self.transport_options
        return str(options.get("bad_folder") or os.path.join(self.data_folder_in, "bad"))


class Transport(filesystem.Transport):
    Channel = Channel
