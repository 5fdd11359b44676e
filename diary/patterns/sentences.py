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


# how_often's words for the ratios read as a fraction or a multiple: (lowest ratio, words), highest first
_FRACTIONS = ((0.42, "about half as often"), (0.29, "about a third as often"), (0.22, "about a quarter as often"),
              (0.18, "about a fifth as often"))  # fmt: skip
_MULTIPLES = ((3.5, ""), (2.75, "about three times as often"), (2.25, "about 2.5 times as often"),
              (1.75, "about twice as often"), (1.35, "about 1.5 times as often"))  # fmt: skip


def how_often(rate_ratio: float | None) -> str:
    """A rate ratio as people say it: 'about twice as often', 'about a third as often', 'about 20% less
    often', 'about as often'. Never '0 times' (0: 'no episodes on those days') nor '0.80 times as
    frequent'. The exact ratio goes in brackets beside it (``ratio_numbers``)."""
    if rate_ratio is None or not math.isfinite(rate_ratio):
        return "far more often"
    r = rate_ratio
    if r <= 0:
        return "no episodes on those days"
    if 0.9 < r < 1.1:
        return "about as often"
    if r >= 1:
        for lowest, words in _MULTIPLES:
            if r >= lowest:
                return words or f"about {round(r)} times as often"
        return f"about {5 * round(20 * (r - 1))}% more often"  # 1.1 to 1.35: 10% to 35%
    if r >= 0.62:
        return f"about {5 * round(20 * (1 - r))}% less often"  # 0.62 to 0.9: 10% to 40%
    for lowest, words in _FRACTIONS:
        if r >= lowest:
            return words
    return "less than a fifth as often"


def ratio_numbers(c: RateComparison, days: str = "day") -> str:
    """The numbers behind a ratio, for the brackets: '2.3 times, 95% CI 1.4 to 3.8, 41 days'."""
    return f"{num(c.rate_ratio)} times, {ci_text(c.ci_low, c.ci_high)}, {plural(c.t_e, days)}"


def rate_clause(noun: str, c: RateComparison, when: str) -> str:
    """'cramps happened about twice as often on days you drank under 1.5 L (2.3 times, 95% CI 1.4 to 3.8,
    41 days)'; with no episode at all on one side the counts say it instead of a ratio."""
    ci = ci_text(c.ci_low, c.ci_high)
    if c.x_u == 0 and c.x_e > 0:
        return f"all {c.x_e} {noun} were {when} ({ci}, {plural(c.t_e, 'day')}; none on {plural(c.t_u, 'other day')})"
    if c.x_e == 0:
        return f"there were no {noun} {when} ({plural(c.t_e, 'day')}; {c.x_u} on {plural(c.t_u, 'other day')}, {ci})"
    return f"{noun} happened {how_often(c.rate_ratio)} {when} ({ratio_numbers(c)})"


def listing(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
