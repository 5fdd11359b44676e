"""Field specifications shared by the REST API and the sync wire (pure Python, no Django).

One spec per table parses both wire forms into the same Python values, so REST and sync enforce
the very same rules: REST speaks natural JSON (ISO 8601 times, arrays), the sync wire speaks
WatermelonDB raw records (ms since the epoch, arrays as JSON-encoded strings). Parsing is plain
Python on purpose: a 50,000-record push runs it 50,000 times.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

REST = "rest"
RAW = "raw"
UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_LATEST_MS = 32503680000000  # year 3000


class FieldError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_zone(name: object) -> bool:
    return isinstance(name, str) and name in _zones()


@lru_cache(maxsize=1024)
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def ms_to_datetime(ms: int) -> dt.datetime:
    return _EPOCH + _MS * ms


def now_ms() -> dt.datetime:
    """Now, truncated to the millisecond (the sync wire's precision)."""
    now = dt.datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def datetime_to_ms(value: dt.datetime) -> int:
    return (value - _EPOCH) // dt.timedelta(milliseconds=1)


@dataclass(frozen=True)
class Field:
    name: str
    nullable: bool = True
    default: Any = None
    # Columns the client may never set (ignored on input, rendered on output).
    read_only: bool = False
    # The model attribute holding the column, when the wire name would mislead in Python (an alert's
    # ``episode_id`` is an episode's uid, not a foreign key): the wire keeps ``name``. Read-only
    # columns only: the write paths key cleaned values by wire name and store them as model fields.
    attr: str = ""

    def __post_init__(self) -> None:
        if self.attr and not self.read_only:
            raise ValueError(f"{self.name}: a model attribute other than the wire name needs read_only")

    @property
    def model_attr(self) -> str:
        return self.attr or self.name

    def parse(self, value: Any, wire: str) -> Any:
        if value is None or (value == "" and wire == RAW and self.nullable and not isinstance(self, Text)):
            # WatermelonDB stores null in a non-optional string column as "": on the sync wire an
            # empty string in a nullable coded column means "not set", not an unknown code.
            if self.nullable:
                return None
            raise FieldError("may not be null")
        return self.convert(value, wire)

    def convert(self, value: Any, wire: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def fast(self) -> tuple[int, Any, Any]:
        """How ``RecordSpec.clean`` accepts the usual valid value without calling ``parse``: a kind of
        check (``FAST_*``) and its two bounds. A value the check does not accept goes through ``parse``,
        which decides (and words every error), so the check may only accept what ``parse`` accepts
        unchanged (``FAST_MS``: what ``convert`` turns into the same datetime)."""
        return FAST_NONE, None, None


# The checks of ``Field.fast``: none; a str in a set; an int in a range; an int of ms in a range (made a
# datetime); a str of at most ``lo`` characters without NUL; a float in a range; a bool.
FAST_NONE, FAST_CODE, FAST_INT, FAST_MS, FAST_TEXT, FAST_FLOAT, FAST_BOOL = range(7)
_MS = dt.timedelta(milliseconds=1)
_MISSING = object()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Choice(Field):
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "_codes", frozenset(self.choices))  # a set to look codes up in

    def convert(self, value: Any, wire: str) -> Any:
        if not isinstance(value, str):
            raise FieldError("must be a string code")
        if value not in self._codes:  # type: ignore[attr-defined]
            raise FieldError(f"unknown code {value[:40]!r}; expected one of: {', '.join(self.choices)}")
        return value

    def fast(self) -> tuple[int, Any, Any]:
        # "" is never a code: on the sync wire it means null, which ``parse`` decides
        return (FAST_NONE, None, None) if "" in self.choices else (FAST_CODE, self._codes, None)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Int(Field):
    minimum: int = 0
    maximum: int = 2**31 - 1

    def convert(self, value: Any, wire: str) -> Any:
        if type(value) is not int:  # the common case first: a plain int, checked once
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # JSON numbers such as 3.0 from JavaScript clients
            elif not _is_int(value):
                raise FieldError("must be an integer")
        if not self.minimum <= value <= self.maximum:
            raise FieldError(f"must be between {self.minimum} and {self.maximum}")
        return value

    def fast(self) -> tuple[int, Any, Any]:
        return FAST_INT, self.minimum, self.maximum


@dataclass(frozen=True)
class Number(Field):
    minimum: float = 0.0
    maximum: float = 1e9

    def convert(self, value: Any, wire: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise FieldError("must be a number")
        if not self.minimum <= value <= self.maximum:
            raise FieldError(f"must be between {self.minimum:g} and {self.maximum:g}")
        return float(value)

    def fast(self) -> tuple[int, Any, Any]:
        # a float in range is finite (NaN compares false), and ``float`` of it is itself
        return (FAST_FLOAT, self.minimum, self.maximum) if math.isfinite(self.maximum) else (FAST_NONE, None, None)


@dataclass(frozen=True)
class Bool(Field):
    def convert(self, value: Any, wire: str) -> Any:
        if not isinstance(value, bool):
            raise FieldError("must be true or false")
        return value

    def fast(self) -> tuple[int, Any, Any]:
        return FAST_BOOL, None, None


@dataclass(frozen=True)
class Text(Field):
    max_length: int = 2000

    def convert(self, value: Any, wire: str) -> Any:
        if not isinstance(value, str):
            raise FieldError("must be a string")
        if len(value) > self.max_length:
            raise FieldError(f"at most {self.max_length} characters")
        if "\x00" in value:
            raise FieldError("may not contain NUL characters")
        return value

    def fast(self) -> tuple[int, Any, Any]:
        return FAST_TEXT, self.max_length, None


@dataclass(frozen=True)
class Zone(Field):
    def convert(self, value: Any, wire: str) -> Any:
        if not is_zone(value):
            raise FieldError(f"{str(value)[:60]!r} is not an IANA time zone (e.g. Europe/Berlin)")
        return value

    def fast(self) -> tuple[int, Any, Any]:
        return FAST_CODE, _zones(), None


@dataclass(frozen=True)
class Instant(Field):
    """A point in time: ISO 8601 with an offset on REST, integer ms since the epoch on the sync wire."""

    def convert(self, value: Any, wire: str) -> Any:
        if type(value) is int or wire == RAW or _is_int(value):
            if type(value) is not int:
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                elif not _is_int(value):
                    raise FieldError("must be an integer number of milliseconds since the epoch")
            if not 0 <= value <= _LATEST_MS:
                raise FieldError("is out of range")
            return ms_to_datetime(value)
        if not isinstance(value, str):
            raise FieldError("must be an ISO 8601 date-time with an offset")
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise FieldError("must be an ISO 8601 date-time with an offset") from None
        if parsed.tzinfo is None:
            raise FieldError("must include a UTC offset (e.g. 2026-03-01T07:30:00+01:00)")
        try:
            in_utc = parsed.astimezone(UTC)  # also what PostgreSQL needs: it refuses offsets past 15:59
        except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
            raise FieldError("is out of range") from None
        # Millisecond precision, as on the sync wire: a value read back over sync compares equal.
        return in_utc.replace(microsecond=parsed.microsecond // 1000 * 1000)

    def fast(self) -> tuple[int, Any, Any]:
        return FAST_MS, 0, _LATEST_MS  # an int is ms on either wire


@dataclass(frozen=True)
class LocalDate(Field):
    def convert(self, value: Any, wire: str) -> Any:
        if not isinstance(value, str) or len(value) != 10:
            raise FieldError("must be a date YYYY-MM-DD")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise FieldError("must be a date YYYY-MM-DD") from None


@dataclass(frozen=True)
class ClockTime(Field):
    def convert(self, value: Any, wire: str) -> Any:
        if not isinstance(value, str) or not _HHMM.match(value):
            raise FieldError("must be a local time HH:MM")
        return dt.time(int(value[:2]), int(value[3:]))


@dataclass(frozen=True)
class _Array(Field):
    """An array column: a JSON array on REST, a JSON-encoded string on the sync wire; null is []."""

    max_items: int = 30

    def parse(self, value: Any, wire: str) -> Any:
        if value is None or value == "":
            return []
        return self.convert(value, wire)

    def items(self, value: Any, noun: str) -> list[Any]:
        if isinstance(value, str):
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise FieldError(f"must be a JSON array{noun}") from None
        if not isinstance(value, list):
            raise FieldError(f"must be an array{noun}")
        if len(value) > self.max_items:
            raise FieldError(f"at most {self.max_items} items")
        return value


_REMEMBERED_LISTS, _REMEMBERED_LENGTH = 2048, 200  # per code list column: at most about 400 KB


@dataclass(frozen=True)
class CodeList(_Array):
    """A set of codes; on the sync wire a JSON-encoded string, on REST a JSON array."""

    choices: tuple[str, ...] = ()
    custom_prefix: str | None = None
    custom_max_length: int = 60
    max_items: int = 30
    nullable: bool = False
    default: Any = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "_codes", frozenset(self.choices))  # a set to look codes up in
        # The codes of a sync-wire string, remembered: people log the same few lists again and again
        # ("[]" most of all), and a push parses one per record and column. Errors are not remembered.
        object.__setattr__(self, "_of_text", lru_cache(maxsize=_REMEMBERED_LISTS)(self._codes_of_text))

    def convert(self, value: Any, wire: str) -> Any:
        if value.__class__ is str and len(value) <= _REMEMBERED_LENGTH:
            return list(self._of_text(value))  # type: ignore[attr-defined]  # a list of its own per record
        return self._listed(value)

    def _codes_of_text(self, text: str) -> tuple[str, ...]:
        return tuple(self._listed(text))

    def _listed(self, value: Any) -> list[str]:
        value = self.items(value, " of codes")
        out: list[str] = []
        codes: frozenset[str] = self._codes  # type: ignore[attr-defined]
        for item in value:
            if not isinstance(item, str):
                raise FieldError("every item must be a string code")
            if item in codes:
                pass
            elif self.custom_prefix and item.startswith(self.custom_prefix):
                text = item[len(self.custom_prefix) :].strip()
                if not text or len(text) > self.custom_max_length:
                    raise FieldError(f"{self.custom_prefix}<text> takes 1 to {self.custom_max_length} characters")
                item = self.custom_prefix + text
            else:
                hint = f" or {self.custom_prefix}<text>" if self.custom_prefix else ""
                raise FieldError(f"unknown code {item[:40]!r}; expected one of: {', '.join(self.choices)}{hint}")
            if item not in out:
                out.append(item)
        return out


@dataclass(frozen=True)
class ValueList(_Array):
    """A JSON array of clock times (``HH:MM``) or of integers in a range; a string on the sync wire."""

    item: Field = field(default_factory=lambda: ClockTime("item"))
    max_items: int = 48
    nullable: bool = False

    def convert(self, value: Any, wire: str) -> Any:
        value = self.items(value, "")
        out = []
        for item in value:
            try:
                parsed = self.item.convert(item, wire)
            except FieldError as exc:
                raise FieldError(f"every item {exc.reason}") from None
            if parsed not in out:
                out.append(parsed)
        # stored as JSON: clock times as "HH:MM"
        return sorted(p.strftime("%H:%M") if isinstance(p, dt.time) else p for p in out)


CrossCheck = Callable[[dict[str, Any]], dict[str, str]]
Parser = Callable[[Any, str], Any]
_Walk = tuple[str, Parser, Parser | None, bool, Any, int, Any, Any]


def _plain_convert(spec_field: Field) -> Parser | None:
    """The field's ``convert`` when its ``parse`` only handles null and "" before calling it (every field
    here); None for a field that parses otherwise."""
    return spec_field.convert if type(spec_field).parse in (Field.parse, _Array.parse) else None


@dataclass(frozen=True)
class RecordSpec:
    """The columns of one table and the checks that span several of them."""

    table: str
    fields: tuple[Field, ...]
    checks: tuple[CrossCheck, ...] = ()
    required: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})
        object.__setattr__(self, "_names", tuple(f.name for f in self.fields))
        # What ``clean`` walks per record, looked up once: name, parser, empty value (a new list per use
        # for arrays), and the check that takes a usual value without calling the parser (``Field.fast``).
        writable = tuple(
            (f.name, f.parse, _plain_convert(f), isinstance(f, _Array), f.default, *f.fast())
            for f in self.fields
            if not f.read_only
        )
        object.__setattr__(self, "_writable", writable)

    @property
    def names(self) -> tuple[str, ...]:
        names: tuple[str, ...] = self._names  # type: ignore[attr-defined]  # built once: read per pushed record
        return names

    def writable(self) -> Iterable[Field]:
        return (f for f in self.fields if not f.read_only)

    def clean(
        self,
        data: Mapping[str, Any],
        wire: str,
        *,
        base: Mapping[str, Any] | None = None,
        strict: bool = False,
        ignore: frozenset[str] = frozenset(),
    ) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """Parse ``data``; with ``base`` (a stored record) missing keys keep its values (PATCH).

        Returns the cleaned values and the errors by field. ``strict`` (REST) reports keys that
        are no column of the table; the sync wire ignores them (newer clients may send more).
        """
        out: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        by_name: dict[str, Field] = self.by_name  # type: ignore[attr-defined]
        if strict:
            for key in data:
                if key not in by_name and key not in ignore:
                    errors[key] = ["unknown field"]
        writable: tuple[_Walk, ...] = self._writable  # type: ignore[attr-defined]
        for name, parse, convert, is_array, default, fast, lo, hi in writable:
            value = data.get(name, _MISSING)
            if value is not _MISSING:
                # The usual valid value, taken as it is (a push runs this for every column of every record);
                # anything else goes to the field's parser, which decides and words the error.
                if fast == FAST_CODE:
                    if value.__class__ is str and value in lo:
                        out[name] = value
                        continue
                elif fast == FAST_MS:
                    if value.__class__ is int and lo <= value <= hi:
                        out[name] = _EPOCH + _MS * value
                        continue
                elif fast in (FAST_INT, FAST_FLOAT):
                    if value.__class__ is (int if fast == FAST_INT else float) and lo <= value <= hi:
                        out[name] = value
                        continue
                elif fast == FAST_TEXT:
                    if value.__class__ is str and len(value) <= lo and "\x00" not in value:
                        out[name] = value
                        continue
                elif fast == FAST_BOOL and (value is True or value is False):
                    out[name] = value
                    continue
                try:
                    # A value that is neither null nor "" goes straight to ``convert``, as ``parse`` sends it.
                    out[name] = (
                        convert(value, wire) if convert and value is not None and value != "" else parse(value, wire)
                    )
                except FieldError as exc:
                    errors[name] = [exc.reason]
            elif base is not None:
                out[name] = base.get(name)
            elif name in self.required:
                errors[name] = ["this field is required"]
            else:
                out[name] = [] if is_array else default
        if not errors:
            for check in self.checks:
                for name, reason in check(out).items():
                    errors.setdefault(name, []).append(reason)
        return out, errors
