"""Server-side SVG charts, written by hand: the same figures in the clinician page, the PDF and the
person's report.

Each function takes plain data (labels already in words) and returns one ``<svg>`` string of a few
dozen shapes: rectangles, lines and text. Text stays text, so numbers on a chart can be read, searched
and checked by a browser test. Every label is escaped (a custom trigger is the person's own text),
axis titles sit horizontally above their axis and the margins are sized from the longest label, so
nothing is cut off. Hand-written rather than matplotlib: WeasyPrint draws a few dozen shapes in a few
milliseconds where matplotlib's hundreds of clipped paths cost most of the PDF's time (README,
Performance).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

KIND_COLOURS = {"cramp": "#1b5fb4", "spasm": "#d1495b", "twitch": "#b7791f"}
OTHER_COLOUR = "#777"
INK, GRID, ACCENT = "#1d2433", "#d9dde3", "#d1495b"
WIDTH = 680
HALF = 340  # the charts shown side by side
FONT = 11  # px in the SVG's own units
CHAR = 0.58 * FONT  # a generous average glyph width, for sizing margins


def _text_width(text: str) -> float:
    return len(text) * CHAR


def _svg(height: float, label: str, body: list[str], width: float = WIDTH) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" aria-label="{escape(label)}" font-size="{FONT}" fill="{INK}">'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def nice_step(top: float, ticks: int = 5) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving at most ``ticks`` intervals up to ``top``."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return float(m * power)
    return float(10 * power)  # pragma: no cover


def _fmt(x: float) -> str:
    return f"{x:g}"


def _y_axis(top: float, left: float, plot_top: float, plot_h: float, right: float, integer: bool) -> list[str]:
    step = max(nice_step(top), 1.0) if integer else nice_step(top)
    out = []
    v = 0.0
    while v <= top + 1e-9:
        y = plot_top + plot_h - v / top * plot_h
        out.append(f'<line x1="{left:.1f}" x2="{right:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(_text(left - 4, y + 4, _fmt(v), "end"))
        v += step
    return out


def _x_labels(labels: Sequence[str], left: float, slot: float, y: float) -> list[str]:
    """At most about eight labels under the slots, the first and then every k-th, none overlapping."""
    widest = max((_text_width(label) for label in labels), default=0) + 8
    every = max(1, math.ceil(widest / slot)) if slot else 1
    out, free_from = [], 0.0
    for i, label in enumerate(labels):
        if i % every == 0 and label:
            half = _text_width(label) / 2
            x = min(max(left + (i + 0.5) * slot, half), WIDTH - half)  # the ends stay inside the figure
            if x - half >= free_from:  # a label pushed back from the right edge never overlaps the one before
                out.append(_text(x, y, label, "middle"))
                free_from = x + half + 4
    return out


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> list[str]:
    out = []
    for label, colour in items:
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{colour}"/>')
        out.append(_text(x + 14, y, label))
        x += 14 + _text_width(label) + 14
    return out


def episodes_over_time(
    labels: Sequence[str], counts: Mapping[str, Sequence[int]], *, names: Mapping[str, str], unit: str
) -> str:
    """Stacked bars of episodes per bin (week or month) by kind; ``names``: kind -> words for the legend."""
    n = len(labels)
    totals = [sum(c[i] for c in counts.values()) for i in range(n)]
    top_value = max(totals, default=0)
    step = max(nice_step(top_value), 1.0)
    top = max(step * math.ceil(top_value / step), step)
    left = max(_text_width(_fmt(top)) + 10, 28)
    plot_top, plot_h, height = 28.0, 100.0, 148.0
    right = WIDTH - 6
    slot = (right - left) / max(n, 1)
    body = [_text(0, 12, f"episodes per {unit}")]
    body += _legend([(names.get(k, k), KIND_COLOURS.get(k, OTHER_COLOUR)) for k in counts], left + 110, 12)
    body += _y_axis(top, left, plot_top, plot_h, right, integer=True)
    base = [0] * n
    for kind, values in counts.items():
        colour = KIND_COLOURS.get(kind, OTHER_COLOUR)
        for i, v in enumerate(values):
            if v:
                y0 = plot_top + plot_h - (base[i] + v) / top * plot_h
                bar = min(slot * 0.8, 48.0)
                body.append(
                    f'<rect x="{left + (i + 0.5) * slot - bar / 2:.1f}" y="{y0:.1f}" width="{bar:.1f}" '
                    f'height="{v / top * plot_h:.1f}" fill="{colour}"/>'
                )
                base[i] += v
    body += _x_labels(labels, left, slot, plot_top + plot_h + 16)
    label = f"Episodes per {unit}: " + ", ".join(f"{lab} {t}" for lab, t in zip(labels, totals, strict=True))
    return _svg(height, label, body)


def pain_over_time(labels: Sequence[str], pains: Sequence[tuple[int, float, int] | None], *, unit: str) -> str:
    """Pain per bin: the median as a line with dots, the lowest-to-highest range as a band."""
    n = len(labels)
    left, plot_top, plot_h, height = 28.0, 24.0, 84.0, 130.0
    right = WIDTH - 6
    slot = (right - left) / max(n, 1)
    body = [_text(0, 12, f"pain (0 to 10): {unit}ly median (line) and lowest to highest (band)")]
    body += _y_axis(10, left, plot_top, plot_h, right, integer=True)

    def y(v: float) -> float:
        return plot_top + plot_h - v / 10 * plot_h

    runs: list[list[tuple[float, tuple[int, float, int]]]] = [[]]
    for i, p in enumerate(pains):
        if p is None:
            runs.append([])
        else:
            runs[-1].append((left + (i + 0.5) * slot, p))
    for run in runs:
        if not run:
            continue
        upper = " ".join(f"{x:.1f},{y(p[2]):.1f}" for x, p in run)
        lower = " ".join(f"{x:.1f},{y(p[0]):.1f}" for x, p in reversed(run))
        body.append(f'<polygon points="{upper} {lower}" fill="{ACCENT}" fill-opacity="0.15" stroke="none"/>')
        line = " ".join(f"{x:.1f},{y(p[1]):.1f}" for x, p in run)
        body.append(f'<polyline points="{line}" fill="none" stroke="{ACCENT}" stroke-width="1.5"/>')
        if len(run) <= 60:
            body += [f'<circle cx="{x:.1f}" cy="{y(p[1]):.1f}" r="2.2" fill="{ACCENT}"/>' for x, p in run]
    body += _x_labels(labels, left, slot, plot_top + plot_h + 16)
    return _svg(height, f"Pain per {unit}, median and range", body)


def durations(rows: Sequence[tuple[str, Sequence[float]]], width: float = HALF) -> str:
    """One box per row (label, minutes): the middle half as a box, the median as a bar, whiskers to the
    10th and 90th percentiles, and the median written out."""
    rows = [(label, sorted(v)) for label, v in rows if v]
    left = max((_text_width(label) for label, _ in rows), default=40) + 12
    row_h, plot_top = 26.0, 40.0
    height = plot_top + row_h * max(len(rows), 1) + 26
    right = width - 104
    top = max((_quantile(v, 0.9) for _, v in rows), default=1.0) or 1.0
    step = nice_step(top)
    top = step * math.ceil(top / step)
    body = [
        _text(0, 12, "minutes: middle half (box), median (red),"),
        _text(0, 26, "most (line: 10th to 90th percentile)"),
    ]

    def x(v: float) -> float:
        return left + min(v, top) / top * (right - left)

    v = 0.0
    while v <= top + 1e-9:
        body.append(
            f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{plot_top - 4:.1f}" y2="{height - 22:.1f}" stroke="{GRID}"/>'
        )
        body.append(_text(x(v), height - 8, _fmt(v), "middle"))
        v += step
    for i, (label, values) in enumerate(rows):
        cy = plot_top + row_h * i + row_h / 2
        q10, q1, med, q3, q90 = (_quantile(values, q) for q in (0.1, 0.25, 0.5, 0.75, 0.9))
        body.append(_text(left - 8, cy + 4, label, "end"))
        body.append(f'<line x1="{x(q10):.1f}" x2="{x(q90):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="{INK}"/>')
        body.append(
            f'<rect x="{x(q1):.1f}" y="{cy - 8:.1f}" width="{max(x(q3) - x(q1), 1):.1f}" height="16" '
            f'fill="#e8eef7" stroke="{INK}"/>'
        )
        body.append(
            f'<line x1="{x(med):.1f}" x2="{x(med):.1f}" y1="{cy - 8:.1f}" y2="{cy + 8:.1f}" stroke="{ACCENT}" stroke-width="2"/>'
        )
        body.append(_text(right + 8, cy - 1, f"median {_fmt(round(med, 1))} min"))
        body.append(_text(right + 8, cy + 11, f"{len(values)} timed"))
    return _svg(height, "Duration in minutes by kind", body, width)


def _quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default) of sorted ``values``."""
    if not values:
        return 0.0
    pos = (len(values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def counts_bars(rows: Sequence[tuple[str, int]], *, title: str, width: float = HALF) -> str:
    """Horizontal bars with their counts written at the end, largest first."""
    left = max((_text_width(label) for label, _ in rows), default=40) + 12
    row_h, plot_top = 17.0, 22.0
    height = plot_top + row_h * max(len(rows), 1) + 6
    top = max((n for _, n in rows), default=1) or 1
    right = width - 8 - _text_width(str(top))
    body = [_text(0, 12, title)]
    for i, (label, n) in enumerate(rows):
        y0 = plot_top + row_h * i
        w = n / top * (right - left)
        body.append(_text(left - 8, y0 + 14, label, "end"))
        body.append(
            f'<rect x="{left:.1f}" y="{y0 + 3:.1f}" width="{max(w, 1):.1f}" height="{row_h - 6:.1f}" fill="#1b5fb4"/>'
        )
        body.append(_text(left + w + 4, y0 + 14, str(n)))
    return _svg(height, title + ": " + ", ".join(f"{label} {n}" for label, n in rows), body, width)


def trigger_findings(rows: Sequence[tuple[str, float, float, float]]) -> str:
    """A forest plot: label, rate ratio, CI low, CI high, on a log scale (1 = no difference)."""
    left = max((_text_width(label) for label, *_ in rows), default=40) + 12
    row_h, plot_top = 22.0, 26.0
    height = plot_top + row_h * max(len(rows), 1) + 30
    right = WIDTH - 130
    lo = min([r[2] for r in rows] + [0.5])
    hi = max([r[3] for r in rows] + [2.0])
    lo_log, hi_log = math.log10(lo), math.log10(hi)

    def x(v: float) -> float:
        return left + (math.log10(min(max(v, lo), hi)) - lo_log) / (hi_log - lo_log) * (right - left)

    body = [_text(0, 12, "rate ratio, days with it against days without (95% confidence interval; 1 = no difference)")]
    for tick in (0.25, 0.5, 1, 2, 4, 8):
        if lo <= tick <= hi:
            style = f'stroke="{INK}" stroke-dasharray="3 3"' if tick == 1 else f'stroke="{GRID}"'
            body.append(
                f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{plot_top - 4:.1f}" y2="{height - 22:.1f}" {style}/>'
            )
            body.append(_text(x(tick), height - 8, _fmt(tick), "middle"))
    for i, (label, rr, low, high) in enumerate(rows):
        cy = plot_top + row_h * i + row_h / 2
        body.append(_text(left - 8, cy + 4, label, "end"))
        body.append(f'<line x1="{x(low):.1f}" x2="{x(high):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="{INK}"/>')
        body.append(f'<circle cx="{x(rr):.1f}" cy="{cy:.1f}" r="3.5" fill="{ACCENT}"/>')
        body.append(_text(right + 8, cy + 4, f"{rr:.2g} ({low:.2g} to {high:.2g})"))
    return _svg(height, "Trigger findings", body)
