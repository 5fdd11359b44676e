"""Read a push body record by record, so a 50,000-record push never holds 50,000 parsed records at once.

``chunks`` reads the changes object ``{table: {section: [item, ...]}}`` in one pass of ijson's C parser
(yajl2_c, fed ``BLOCK`` bytes at a time from the body in memory, not copied) and builds each record from its events: a
full parse (orjson) of a 50,000-episode body builds about 75 MB of dicts. It yields the items in body order,
``size`` at a time, without judging them.

Anything ijson refuses, anything that is not plainly a well-formed changes object, and anything yajl reads
differently from orjson (the whole-body parser the answer's messages come from) raises ``Unstreamable``; the
caller then rolls back what it wrote and answers from the whole-body path, which gives the exact 400 or 413
(SYNC.md: nothing applied). The differences: yajl takes \\v and \\f as whitespace, reads a high surrogate
escape without its low half as "?" or joins it to the next escape, and nests deeper than orjson's 1,024.
yajl refuses what orjson refuses besides (NaN, infinite floats, bad UTF-8, control characters) and also
integers outside +-(2**63 - 1), which orjson reads from -2**63 to 2**64 - 1 and past that as floats: those
go the whole-body way too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import ijson
from ijson.backends import yajl2_c  # the C backend (in the PyPI wheels): the pure-Python one reads numbers apart

# bytes of the body handed to the parser at a time: ijson hands over a block's events together, so a small
# block keeps them few (the 50,000-record body: 0.35-0.45 s of CPU with 16 KB blocks, 0.87-0.91 s with 1 MB)
BLOCK = 1 << 14
MAX_DEPTH = 64  # containers inside a record; orjson refuses past 1,024, ijson's builder recurses past ~1,000
_SECTIONS = frozenset({"created", "updated", "deleted"})
_SCALARS = frozenset({"string", "number", "boolean", "null"})
# a high surrogate escape not followed by a low one (an escaped backslash before "ud8.." also matches: it
# only sends the body the whole-body way)
_LONE_HIGH = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])")


class Unstreamable(Exception):
    """The body is malformed, has a shape problem, or is read differently by the two parsers."""


def chunks(
    raw: bytes | bytearray, *, tables: frozenset[str], size: int, limit: int
) -> Iterator[tuple[str, str, list[Any]]]:
    """``(table, section, items)`` in body order, at most ``size`` items each (an empty section yields
    nothing). Records must be objects and deleted ids strings; tables must be among ``tables``; more
    than ``limit`` items in all raises ``Unstreamable`` (the whole-body path answers 413)."""
    if b"\x0b" in raw or b"\x0c" in raw:
        raise Unstreamable("\\v or \\f")  # whitespace to yajl, not JSON; inside a string both refuse it
    if b"\\u" in raw and _LONE_HIGH.search(raw):
        raise Unstreamable("a lone surrogate escape")
    events = yajl2_c.basic_parse(_Reader(raw), buf_size=BLOCK, use_float=True)
    try:
        yield from _changes(events, tables=tables, size=size, limit=limit)
    except (ijson.JSONError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise Unstreamable(str(exc)) from exc


class _Reader:
    """The body in memory as a file, without the copy ``io.BytesIO`` makes of a bytearray (the view's body)."""

    def __init__(self, raw: bytes | bytearray):
        self.view, self.pos = memoryview(raw), 0

    def readinto(self, buf: bytearray) -> int:
        n = min(len(buf), len(self.view) - self.pos)
        buf[:n] = self.view[self.pos : self.pos + n]
        self.pos += n
        return n

    def read(self, size: int) -> bytes:
        data = self.view[self.pos : self.pos + size].tobytes()
        self.pos += len(data)
        return data


def _changes(
    events: Iterator[tuple[str, Any]], *, tables: frozenset[str], size: int, limit: int
) -> Iterator[tuple[str, str, list[Any]]]:
    total = 0
    if next(events)[0] != "start_map":
        raise Unstreamable("not an object")
    for table in _keys(events):
        if table not in tables or next(events)[0] != "start_map":
            raise Unstreamable(f"table {table!r}")
        for section in _keys(events):
            if section not in _SECTIONS or next(events)[0] != "start_array":
                raise Unstreamable(f"section {section!r}")
            opener = "string" if section == "deleted" else "start_map"
            items: list[Any] = []
            for event, value in events:
                if event == "end_array":
                    break
                if event != opener:
                    raise Unstreamable(f"{table}.{section}: an item of the wrong type")
                items.append(value if opener == "string" else _record(events))
                total += 1
                if total > limit:
                    raise Unstreamable("too many records")
                if len(items) >= size:
                    yield table, section, items
                    items = []
            if items:
                yield table, section, items
    if next(events, None) is not None:  # yajl raises on text after the body; nothing may follow
        raise Unstreamable("text after the body")


def _keys(events: Iterator[tuple[str, Any]]) -> Iterator[str]:
    """The keys of the object just opened, each before its value's events; refuses a key given twice."""
    seen: set[str] = set()
    for event, key in events:
        if event == "end_map":
            return
        if key in seen:
            raise Unstreamable(f"{key!r} twice")  # orjson keeps the last one: the whole-body way decides
        seen.add(key)
        yield key


def _record(events: Iterator[tuple[str, Any]]) -> dict[str, Any]:
    """The object whose ``start_map`` was just read, built from its events (what ``ijson.ObjectBuilder``
    does, inlined: a record's fields are most of a push's events)."""
    record: dict[str, Any] = {}
    top: Any = record
    in_map, key = True, ""
    above: list[tuple[Any, bool, str]] = []
    for event, value in events:
        if event == "map_key":
            key = value
        elif event in _SCALARS:
            if in_map:
                top[key] = value
            else:
                top.append(value)
        elif event == "end_map" or event == "end_array":
            if not above:
                return record
            top, in_map, key = above.pop()
        else:
            child: Any = {} if event == "start_map" else []
            if in_map:
                top[key] = child
            else:
                top.append(child)
            if len(above) >= MAX_DEPTH:
                raise Unstreamable("nested too deep")
            above.append((top, in_map, key))
            top, in_map = child, event == "start_map"
    raise Unstreamable("cut short")  # not reached: yajl raises at the end of a body cut short
