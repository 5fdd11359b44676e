"""Server-side SVG charts (matplotlib): the same figures in the clinician page and the PDF.

Text stays text in the SVG (``svg.fonttype = none``), so numbers on a chart can be read, searched
and checked by a browser test. Each function takes plain data and returns one ``<svg>`` string.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False})
KIND_COLOURS = {"cramp": "#1b5fb4", "spasm": "#d1495b", "twitch": "#edae49"}


def _svg(fig: plt.Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # no XML prolog inside HTML


def episodes_per_week(weeks: Sequence[dt.date], counts: dict[str, Sequence[int]]) -> str:
    """Stacked bars: episodes per week by kind."""
    fig, ax = plt.subplots(figsize=(7, 2.6))
    bottom = [0] * len(weeks)
    for kind, values in counts.items():
        ax.bar(list(weeks), values, width=5, bottom=bottom, label=kind, color=KIND_COLOURS.get(kind, "#777"))  # type: ignore[arg-type]
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("episodes per week")
    ax.legend(frameon=False, ncols=3, loc="upper left")
    fig.autofmt_xdate()
    return _svg(fig)


def pain_over_time(weeks: Sequence[dt.date], pains: Sequence[Sequence[int]]) -> str:
    """Pain per week: the median as a line, the range as a band (a few dozen shapes, not one per episode)."""
    points = [(w, sorted(p)) for w, p in zip(weeks, pains, strict=True) if p]
    fig, ax = plt.subplots(figsize=(7, 2.2))
    if points:
        xs = [w for w, _ in points]
        ax.fill_between(xs, [p[0] for _, p in points], [p[-1] for _, p in points], color="#d1495b", alpha=0.15)  # type: ignore[arg-type]
        ax.plot(xs, [p[len(p) // 2] for _, p in points], color="#d1495b", marker="o", markersize=3)  # type: ignore[arg-type]
    ax.set_ylim(-0.5, 10.5)
    ax.set_ylabel("pain (0-10), weekly median and range")
    fig.autofmt_xdate()
    return _svg(fig)


def durations(by_kind: dict[str, Sequence[float]]) -> str:
    """Box plots of episode duration (minutes) by kind."""
    kinds = [k for k, v in by_kind.items() if v]
    fig, ax = plt.subplots(figsize=(7, 2.2))
    if kinds:
        ax.boxplot([by_kind[k] for k in kinds], tick_labels=kinds, orientation="horizontal", showfliers=False)
    ax.set_xlabel("duration (minutes)")
    return _svg(fig)


def body_locations(locations: Sequence[str], top: int = 8) -> str:
    counts = Counter(locations).most_common(top)[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * max(len(counts), 2) + 0.6))
    ax.barh([c[0] for c in counts], [c[1] for c in counts], color="#1b5fb4")
    for i, (_, n) in enumerate(counts):
        ax.text(n, i, f" {n}", va="center")
    ax.set_xlabel("episodes")
    return _svg(fig)


def trigger_findings(rows: Sequence[tuple[str, float, float, float]]) -> str:
    """A forest plot: label, rate ratio, CI low, CI high (log scale, 1 = no difference)."""
    fig, ax = plt.subplots(figsize=(7, 0.35 * max(len(rows), 2) + 0.7))
    for i, (_label, rr, low, high) in enumerate(rows):
        ax.plot([low, high], [i, i], color="#1d2433")
        ax.plot([rr], [i], "o", color="#d1495b")
        ax.text(high, i, f"  {rr:.2g} ({low:.2g}-{high:.2g})", va="center")
    ax.axvline(1, color="#999", linestyle="--", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.set_xlabel("rate ratio, exposed vs unexposed days (95% CI)")
    return _svg(fig)
