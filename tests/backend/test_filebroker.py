"""The embedded broker (backend/filebroker.py) never hands a consumer half a message.

kombu 5.7's own filesystem transport wrote each message in place, so a worker polling the folder could
read an empty or partial file and stop with "Unrecoverable error: JSONDecodeError". These tests drive the
transport through kombu's ordinary producer and consumer on a private folder; the soak test
(bench/embedded_soak.py, tests/smoke/test_embedded_soak.py) drives it with a real worker.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from kombu import Connection
from kombu.exceptions import ChannelError

from backend import filebroker

QUEUE = "celery"
OLDEST = f"{0:020d}"  # sorts before any message the transport names
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    found = {name: tmp_path / name for name in ("queue", "control", "bad")}
    for name in ("queue", "control"):
        found[name].mkdir()
    return found


@pytest.fixture
def conn(folders: dict[str, Path]) -> Iterator[Connection]:
    options = {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "control_folder": str(folders["control"]),
        "bad_folder": str(folders["bad"]),
        "polling_interval": 0.01,
    }
    with Connection("filesystem://", transport="backend.filebroker:Transport", transport_options=options) as c:
        yield c


def _messages(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(f".{QUEUE}.msg"))


def test_the_embedded_default_uses_this_transport(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    code = (
        "from backend.celery import app; c = app.connection_for_write(); "
        "print(type(c.transport).__module__, c.transport_options['bad_folder'])"
    )
    r = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**env, "DJANGO_SETTINGS_MODULE": "backend.settings.base", "DIARY_VAR_DIR": str(tmp_path)},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-2:] == ["backend.filebroker", str(tmp_path / "broker" / "bad")]


def test_empty_and_partial_files_are_set_aside_and_the_next_message_still_arrives(
    conn: Connection, folders: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    queue = folders["queue"]
    # What kombu's in-place write leaves for a fast reader: nothing yet, or the first bytes. Their
    # names sort first (older), so the consumer meets them before the good message.
    (queue / f"{OLDEST}_1_empty.{QUEUE}.msg").write_bytes(b"")
    (queue / f"{OLDEST}_2_partial.{QUEUE}.msg").write_bytes(b'{"body": "eyJ0YXNrIjog')
    (queue / f"{OLDEST}_3_binary.{QUEUE}.msg").write_bytes(b"\xff\xfe\x00")
    (queue / f"{OLDEST}_4_list.{QUEUE}.msg").write_bytes(b"[1, 2]")

    simple = conn.SimpleQueue(QUEUE)
    simple.put({"task": "after the bad ones"})
    simple.put({"task": "and one more"})
    with caplog.at_level(logging.ERROR, logger="backend.filebroker"):
        first = simple.get(timeout=5)
        second = simple.get(timeout=5)
    assert (first.payload, second.payload) == ({"task": "after the bad ones"}, {"task": "and one more"})
    first.ack()
    second.ack()
    simple.close()

    assert sorted(p.name for p in folders["bad"].iterdir()) == [
        f"{OLDEST}_1_empty.{QUEUE}.msg",
        f"{OLDEST}_2_partial.{QUEUE}.msg",
        f"{OLDEST}_3_binary.{QUEUE}.msg",
        f"{OLDEST}_4_list.{QUEUE}.msg",
    ]
    partial = folders["bad"] / f"{OLDEST}_2_partial.{QUEUE}.msg"
    assert partial.read_bytes() == b'{"body": "eyJ0YXNrIjog'  # kept as found
    assert not list(queue.glob("*.msg*")), list(queue.iterdir())  # nothing left, nothing claimed and stuck
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 4 and all("unreadable and was moved to" in m for m in logged), logged
    assert "JSONDecodeError" in logged[0] and "not list" in logged[3], logged


def test_a_channel_with_only_bad_files_reports_empty_instead_of_raising(
    conn: Connection, folders: dict[str, Path]
) -> None:
    (folders["queue"] / f"{OLDEST}_1_empty.{QUEUE}.msg").write_bytes(b"")
    channel = conn.default_channel
    with pytest.raises(Empty):
        channel._get(QUEUE)
    assert [p.name for p in folders["bad"].iterdir()] == [f"{OLDEST}_1_empty.{QUEUE}.msg"]


def test_put_makes_a_message_visible_only_when_it_is_complete(
    conn: Connection, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = folders["queue"]
    channel = conn.default_channel
    seen_before_rename: list[tuple[list[str], int, bytes]] = []
    real_replace = os.replace

    def watching_replace(src: Any, dst: Any) -> None:
        # The moment before the message gets its name: fully written, and invisible to a consumer.
        seen_before_rename.append((_messages(queue), channel._size(QUEUE), Path(src).read_bytes()))
        real_replace(src, dst)

    monkeypatch.setattr(filebroker.os, "replace", watching_replace)
    payload = {"body": "x" * 200_000, "headers": {}}
    channel._put(QUEUE, payload)

    ((visible, size, written),) = seen_before_rename
    assert visible == [] and size == 0
    assert len(written) > 200_000  # the whole message was on disk before it became visible
    assert len(_messages(queue)) == 1 and channel._size(QUEUE) == 1
    assert channel._get(QUEUE) == payload


def test_a_write_that_fails_half_way_leaves_nothing_behind(
    conn: Connection, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = folders["queue"]
    channel = conn.default_channel

    def half_then_disk_full(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(filebroker.os, "replace", half_then_disk_full)
    with pytest.raises(ChannelError):
        channel._put(QUEUE, {"body": "y" * 1000})
    assert list(queue.iterdir()) == []  # neither a partial message nor its temporary file
    with pytest.raises(Empty):
        channel._get(QUEUE)


def test_two_consumers_never_both_take_one_message(conn: Connection, folders: dict[str, Path]) -> None:
    producer = conn.default_channel
    for n in range(50):
        producer._put(QUEUE, {"n": n})
    with conn.clone() as other:
        a, b = conn.default_channel, other.default_channel
        taken: list[int] = []
        for channel in [a, b] * 30:
            try:
                taken.append(channel._get(QUEUE)["n"])
            except Empty:
                break
    assert sorted(taken) == list(range(50))
