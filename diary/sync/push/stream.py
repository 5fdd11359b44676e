"""Read a push body record by record, so a 50,000-record push never holds 50,000 parsed records at once.

``chunks`` walks the changes object ``{table: {section: [item, ...]}}`` itself and hands each record to
the standard library's C JSON scanner (``JSONDecoder.raw_decode``), one record at a time, decoding the
body's UTF-8 a block at a time: a full parse (orjson) of a 50,000-episode body builds about 75 MB of
dicts. It yields the items in body order, ``size`` at a time, without judging them.

Anything that is not plainly a well-formed changes object, or that the standard library would read
differently from orjson (the whole-body parser the answer's messages come from: NaN, integers past
64 bits, infinite floats, lone surrogates), raises ``Unstreamable``; the caller then rolls back what it
wrote and answers from the whole-body path, which gives the exact 400 or 413 (SYNC.md: nothing applied).
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Iterator
from typing import Any

BLOCK = 1 << 20  # bytes of the body decoded at a time
_SECTIONS = frozenset({"created", "updated", "deleted"})
_WS = re.compile(r"[ \t\n\r]*")  # JSON's whitespace
_WS_CHARS = " \t\n\r"
# orjson turns an integer past 64 bits into a float; a body with 20 digits in a row goes the whole-body way.
_DIGITS = bytes.maketrans(b"0123456789", b"0000000000")
_LONG_NUMBER = b"0" * 20


class Unstreamable(Exception):
    """The body is malformed, has a shape problem, or is read differently by the two parsers."""


def _constant(name: str) -> Any:
    raise Unstreamable(name)  # NaN, Infinity: orjson refuses them


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise Unstreamable(text)  # orjson refuses a number that overflows a double
    return value


_decode = json.JSONDecoder(parse_float=_float, parse_constant=_constant).raw_decode


class _Text:
    """The body's text, decoded a block at a time; ``pos`` indexes ``buf``, which drops what was read."""

    def __init__(self, raw: bytes | bytearray):
        self.raw = memoryview(raw)
        self.offset = 0  # bytes of ``raw`` decoded so far
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.buf = ""
        self.pos = 0
        self.tail = b""  # the last bytes of the previous block, for numbers that straddle two blocks

    def more(self) -> bool:
        """Decode the next block onto the unread text; False at the end of the body."""
        if self.offset >= len(self.raw):
            return False
        block = bytes(self.raw[self.offset : self.offset + BLOCK])
        self.offset += len(block)
        if (self.tail + block).translate(_DIGITS).find(_LONG_NUMBER) >= 0:
            raise Unstreamable("a 20-digit number")
        if b"\\u" in self.tail[-5:] + block and re.search(rb"\\u[dD][89a-fA-F]", self.tail[-5:] + block):
            raise Unstreamable("a surrogate escape")  # orjson refuses lone surrogates; the pair is rare
        self.tail = block[-24:]
        try:
            text = self.decoder.decode(block, final=self.offset >= len(self.raw))
        except UnicodeDecodeError as exc:
            raise Unstreamable("not UTF-8") from exc
        self.buf = self.buf[self.pos :] + text
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not whitespace ('' at the end of the body)."""
        if self.pos < len(self.buf) and self.buf[self.pos] not in _WS_CHARS:
            return self.buf[self.pos]  # compact JSON, as apps send it: no regex
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise Unstreamable(f"expected {char!r}")
        self.pos += 1

    def next_char(self) -> str:
        """The next character that is not whitespace, consumed."""
        char = self.peek()
        self.pos += 1
        return char

    def fast_item(self, opener: str, items: list[Any]) -> bool:
        """Append the next item if it starts right here and ends inside the decoded text; False: no
        such luck (whitespace, a block end), ``value`` reads it."""
        buf, pos = self.buf, self.pos
        if pos >= len(buf) or buf[pos] != opener:
            return False
        try:
            value, end = _decode(buf, pos)
        except json.JSONDecodeError:
            return False
        items.append(value)  # an object or a string: it ends where it closes, whatever comes next
        self.pos = end
        return True

    def value(self) -> Any:
        """The next JSON value (``pos`` on its first character); a value cut by the end of a block is read
        again with the next block."""
        while True:
            try:
                value, end = _decode(self.buf, self.pos)
            except (json.JSONDecodeError, RecursionError) as exc:
                if self.more():
                    continue
                raise Unstreamable(str(exc)) from exc
            if end == len(self.buf) and not isinstance(value, (dict, list, str)) and self.more():
                continue  # a number may go on in the next block
            self.pos = end
            return value

    def members(self) -> Iterator[str]:
        """The keys of an object, leaving ``pos`` on each key's value; refuses a key given twice."""
        self.expect("{")
        seen: set[str] = set()
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            if self.peek() != '"':
                raise Unstreamable("expected a key")
            key = self.value()
            if key in seen:
                raise Unstreamable(f"{key!r} twice")  # orjson keeps the last one: the whole-body way decides
            seen.add(key)
            self.expect(":")
            yield key
            char = self.next_char()
            if char == "}":
                return
            if char != ",":
                raise Unstreamable("expected ',' or '}'")


def chunks(
    raw: bytes | bytearray, *, tables: frozenset[str], size: int, limit: int
) -> Iterator[tuple[str, str, list[Any]]]:
    """``(table, section, items)`` in body order, at most ``size`` items each (an empty section yields
    nothing). Records must be objects and deleted ids strings; tables must be among ``tables``; more
    than ``limit`` items in all raises ``Unstreamable`` (the whole-body path answers 413)."""
    text = _Text(raw)
    total = 0
    for table in text.members():
        if table not in tables or text.peek() != "{":
            raise Unstreamable(f"table {table!r}")
        for section in text.members():
            if section not in _SECTIONS:
                raise Unstreamable(f"section {section!r}")
            text.expect("[")
            items: list[Any] = []
            if text.peek() == "]":
                text.pos += 1
                continue
            opener = '"' if section == "deleted" else "{"
            while True:
                if not text.fast_item(opener, items):  # compact JSON, the item inside the block: one scan
                    if text.peek() != opener:
                        raise Unstreamable(f"{table}.{section}: an item of the wrong type")
                    items.append(text.value())
                total += 1
                if total > limit:
                    raise Unstreamable("too many records")
                if len(items) >= size:
                    yield table, section, items
                    items = []
                char = text.next_char()
                if char == "]":
                    break
                if char != ",":
                    raise Unstreamable("expected ',' or ']'")
            if items:
                yield table, section, items
    if text.peek() != "":
        raise Unstreamable("text after the body")
