"""Plain-language wording of pattern findings. Pure Python (no Django)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from diary.core.words import KINDS_PLURAL
from diary.core.words import word as say_code

if TYPE_CHECKING:
    from diary.patterns.stats import RateComparison

KIND_PLURAL = KINDS_PLURAL
NOT_A_DIAGNOSIS = (
    "These are patterns in your own diary, not a diagnosis. A link in your data does not prove a cause; "
    "talk to a clinician about anything that worries you."
)


def words(vocabulary: str, code: str) -> str:
    """A code in words (``diary.core.words``, the one place every surface names codes):
    ``words("body_location", "upper_back")`` -> ``upper back``; a ``custom:`` trigger is quoted."""
    return say_code(vocabulary, code)


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def subject(kinds: list[str]) -> str:
    """What to call the episodes: "cramps" when all of them are cramps, else "episodes"."""
    return KIND_PLURAL.get(kinds[0], "episodes") if len(kinds) == 1 else "episodes"


def num(x: float | None, digits: int = 2) -> str:
    """A number to ``digits`` significant digits, plainly: 2.3, 0.45, 12, 140."""
    if x is None or not math.isfinite(x):
        return "unbounded"
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{x:.{decimals}f}"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def ci_text(lo: float | None, hi: float | None) -> str:
    if hi is None or not math.isfinite(hi):
        return f"95% CI {num(lo)} or more"
    return f"95% CI {num(lo)} to {num(hi)}"


def duration(seconds: float) -> str:
    """45 s, 2 min 10 s, 1 h 5 min."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        m, r = divmod(s, 60)
        return f"{m} min" if r == 0 or m >= 10 else f"{m} min {r} s"
    h, r = divmod(s, 3600)
    m = r // 60
    return f"{h} h" if m == 0 else f"{h} h {m} min"


def share(x: float) -> str:
    return f"{round(100 * x)}%"


def times_as_frequent(rate_ratio: float | None) -> str:
    """'2.3 times as frequent' / 'less than half as frequent' style wording of a rate ratio."""
    if rate_ratio is None or not math.isfinite(rate_ratio):
        return "far more frequent"
    return f"{num(rate_ratio)} times as frequent"


def rate_clause(noun: str, c: RateComparison, when: str) -> str:
    """'cramps were 2.3 times as frequent on days you drank under 1.5 L (95% CI 1.4 to 3.8, 41 days)'."""
    ci = ci_text(c.ci_low, c.ci_high)
    if c.x_u == 0 and c.x_e > 0:
        return f"all {c.x_e} {noun} were {when} ({ci}, {plural(c.t_e, 'day')})"
    return f"{noun} were {times_as_frequent(c.rate_ratio)} {when} ({ci}, {plural(c.t_e, 'day')})"
