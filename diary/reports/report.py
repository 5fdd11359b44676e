"""The report: one context for every surface that shows a person's diary to a doctor.

The clinician's patient page, the clinician's PDF and the person's own report ("Report for your
doctor", its page and PDF) all build ``report_context(spec)`` and render the same template
(``reports/report_body.html``, inside a page or ``reports/report_pdf.html``). A ``ReportSpec`` says who
reads it (the title, the audience, the reader's zone), which local days it covers, and which sections
the reader may see (a share's scopes; the person's choice of notes).

The order is what a clinician with ten minutes needs: the summary (how often now against before and
the trend in words, median and worst pain, the longest episode, open red flags with when their
episodes happened, supported and suspected triggers with their verdict, what helped), then the charts
(their axes start at the first entry of the period), then the episodes. Everything is in words
(``diary.core.words``); an episode's time is its local time where it happened, naming its zone when
that is not the reader's; "This is not a diagnosis" is said once, on top.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from diary.accounts.models import User
from diary.alerts.models import Alert
from diary.core import words
from diary.core.fields import zone
from diary.reports import charts
from diary.reports import summary as s
from diary.reports.alert_lines import alert_lines
from diary.reports.insights import period_insights
from diary.reports.rows import Details, Row, details, period_rows

SECTIONS = frozenset({"episodes", "checkins", "insights", "alerts", "notes"})
NOT_A_DIAGNOSIS = "This is not a diagnosis: it is what the diary records, for a conversation with a clinician."
TREND_WORDS = {
    "rising": "more often than before (a rise unlikely to be chance)",
    "falling": "less often than before (a fall unlikely to be chance)",
    "stable": "about as often as before (no clear change)",
    "not enough data": "too little data yet to say whether this changed",
}
VERDICTS = {
    "supported": "supported by the check-ins",
    "not supported": "not supported by the check-ins so far",
    "not enough data": "not enough check-ins yet to tell",
}
SCOPE_WORDS = {"episodes": "episodes", "checkins": "check-ins", "insights": "insights", "alerts": "alerts",
               "notes": "notes"}  # fmt: skip
PLACES_SHOWN = 8


@dataclass(frozen=True)
class ReportSpec:
    """Who reads a report of whose diary, over which local days, with which sections.

    ``title``: "Report for your doctor" (the person's) or the patient's name (the clinician's).
    ``audience``: "clinician" or "person" (a few phrases differ: "the patient" or "you").
    ``reader_tz``: the reader's IANA zone; a time in another zone names it.
    ``start``/``end``: the first and last local day (None: from the first entry / up to today).
    ``sections``: of ``SECTIONS``: a share's scopes; the person's report has all but ``notes`` unless
    asked. ``alerts``: the alert rows the reader may see (None: the patient's live alerts).
    ``cache_key``: names this view of the diary in the insights cache (a share, the person's report).
    """

    patient: User
    title: str
    audience: Literal["clinician", "person"]
    reader_tz: str
    start: dt.date | None
    end: dt.date | None
    sections: frozenset[str]
    alerts: QuerySet[Alert] | None = None
    cache_key: str = "report"
    kind: str | None = None  # the episode table's filters (the page's form)
    since: dt.date | None = None
    rows: int = 500  # episodes listed in the table
    subtitle: str = ""  # e.g. what a share covers
    links: dict[str, str] = field(default_factory=dict)  # e.g. {"pdf": "report.pdf", "back": "/clinician/"}


PDF_ROWS, PDF_ROWS_WITH_NOTES = 25, 12  # the most recent episodes a PDF lists: 1-2 pages for 90 days


def person_spec(
    user: User, *, start: dt.date | None, end: dt.date | None, notes: bool, rows: int | None = None
) -> ReportSpec:
    """The person's own report for any doctor: everything they recorded, notes only when asked. ``rows``:
    the episodes listed (default: what fits the PDF; a page may list more)."""
    rows = rows if rows is not None else (PDF_ROWS_WITH_NOTES if notes else PDF_ROWS)
    sections = {"episodes", "checkins", "insights", "alerts"} | ({"notes"} if notes else set())
    return ReportSpec(
        patient=user, title="Report for your doctor", audience="person", reader_tz=user.current_timezone,
        start=start, end=end, sections=frozenset(sections), cache_key="own", rows=rows,
    )  # fmt: skip


def report_context(spec: ReportSpec) -> dict[str, Any]:
    """Everything the report template shows, in words, within ``spec.sections``."""
    unknown = spec.sections - SECTIONS
    if unknown:
        raise ValueError(f"unknown report sections: {sorted(unknown)}")
    tz = spec.patient.current_timezone
    today = timezone.now().astimezone(zone(tz)).date()
    end = min(spec.end, today) if spec.end else today
    ctx: dict[str, Any] = {
        "title": spec.title, "audience": spec.audience, "subtitle": spec.subtitle, "links": spec.links,
        "name": spec.patient.display_name or ("Patient" if spec.audience == "clinician" else ""),
        "scopes": sorted(spec.sections), "scope_words": words.and_list([SCOPE_WORDS[x] for x in sorted(spec.sections)]),
        "notes": "notes" in spec.sections, "not_a_diagnosis": NOT_A_DIAGNOSIS,
        "made": _made(timezone.now(), spec.reader_tz),
    }  # fmt: skip
    rows: list[Row] = []
    if "episodes" in spec.sections:
        rows = period_rows(user_id=spec.patient.pk, start=spec.start, end=end)
    first = rows[-1].day if rows else None
    ctx["period"] = _period_words(spec.start or first, end)
    summary: dict[str, Any] = {}
    ctx["summary"] = summary
    insights = None
    if "insights" in spec.sections:
        body = period_insights(spec.patient, spec.start, spec.end, key=spec.cache_key)
        insights = body["report"] if body else None
    if "episodes" in spec.sections:
        summary.update(_episode_summary(rows, first, end, today, spec.reader_tz, insights))
        ctx["charts"] = _charts(rows, first, end) if rows else {}
        table = [
            r
            for r in rows
            if (spec.kind is None or r.kind == spec.kind) and (spec.since is None or r.day >= spec.since)
        ]
        ctx["episode_count"] = len(table)
        # The table's clocks are where each episode happened; the patient's own zone is said once in the
        # header rather than on every row, any other zone on its row.
        home = spec.patient.current_timezone
        shown = table[: spec.rows]
        more = details(user_id=spec.patient.pk, uids=[r.uid for r in shown], notes="notes" in spec.sections)
        ctx["episodes"] = [_table_row(r, more.get(r.uid), home) for r in shown]
        ctx["table_zone"] = "your local time" if home == spec.reader_tz else words.zone_name(home)
        ctx["kinds"] = [(k, words.word("kind", k)) for k in words.KINDS]
        ctx["filter"] = {"kind": spec.kind or "", "since": spec.since.isoformat() if spec.since else ""}
    if insights is not None:
        summary.update(_insights_summary(insights))
        forest = [(t["label"], t["rate_ratio"], t["ci_low"], t["ci_high"] or t["rate_ratio"])
                  for t in insights.get("triggers", []) if t.get("significant") and t.get("rate_ratio") and t.get("ci_low")]  # fmt: skip
        if forest:
            ctx.setdefault("charts", {})["triggers"] = _safe(charts.trigger_findings(forest))
    if "alerts" in spec.sections:
        lines = alert_lines(spec.patient, spec.alerts, reader_tz=spec.reader_tz)
        ctx["alerts"] = lines
        summary["red_flags"] = [a for a in lines if a.status == words.word("status", "open")]
    return ctx


def _made(at: dt.datetime, tz: str) -> str:
    """When the report was made, in the reader's zone: ``"on 5 Dec 2026 at 09:14"``."""
    local = at.astimezone(zone(tz))
    return f"on {local.day} {local:%b %Y} at {local:%H:%M}"


def _safe(svg: str) -> SafeString:
    # Our own SVG: every label in it is escaped by charts.py, so it is safe to embed as is.
    return mark_safe(svg)  # noqa: S308  # nosec B308 B703


def _period_words(first: dt.date | None, last: dt.date) -> str:
    def day(d: dt.date) -> str:
        return f"{d.day} {d:%b %Y}"

    return f"{day(first)} to {day(last)}" if first else f"up to {day(last)}"


def _episode_summary(
    rows: Sequence[Row], first: dt.date | None, end: dt.date, today: dt.date, reader_tz: str, insights: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"episodes": len(rows)}
    if not rows or first is None:
        return out
    last_complete = min(end, today - dt.timedelta(days=1))
    now, before = s.rates(rows, last_day=last_complete, observed_from=first)
    trend = (insights or {}).get("frequency", {}).get("trend", {}).get("status")
    if now.per_week is None:  # no complete local day since the first entry
        out["frequency"] = {
            "early": f"The diary starts {first.day} {first:%b %Y}: too few complete days yet for a weekly rate."
        }
    else:
        out["frequency"] = {
            "now": _per_week(now), "before": _per_week(before),
            "now_days": f"{now.first.day} {now.first:%b} to {now.last.day} {now.last:%b}",
            "trend": TREND_WORDS.get(trend, "") if trend else _described(now, before),
        }  # fmt: skip
    worst = s.worst_pain(rows)
    median = s.median_pain(rows)
    out["pain"] = {"median": f"{median:g}", "worst": worst.pain if worst else None,
                   "worst_episode": _episode_words(worst, reader_tz) if worst else ""}  # fmt: skip
    long = s.longest(rows)
    if long is not None and long.duration_s is not None:
        out["longest"] = {"length": s.duration_text(long.duration_s), "episode": _episode_words(long, reader_tz)}
    places = Counter(words.word("body_location", r.body_location) for r in rows).most_common(3)
    out["places"] = words.and_list([f"{p} ({n})" for p, n in places])
    return out


def _per_week(rate: s.Rate) -> str:
    per_week = rate.per_week
    if per_week is None:
        return "no diary yet"
    return f"{per_week:.1f} a week"


def _described(now: s.Rate, before: s.Rate) -> str:
    """Without the (tested) insights: the direction in words, saying it is not tested."""
    a, b = now.per_week, before.per_week
    if a is None or b is None:
        return "nothing earlier to compare with"
    if abs(a - b) < 0.05:
        return "the same as before"
    return f"{'more' if a > b else 'less'} often than before (not tested: the insights are not shared)"


def _episode_words(r: Row, reader_tz: str) -> str:
    return f"{words.episode_phrase(r.kind, r.body_location, r.side)}, {words.local_time(r.started_at, r.tz, reader_tz=reader_tz)}"


def _insights_summary(report: dict[str, Any]) -> dict[str, Any]:
    """From the analysis's public shape (``Snapshot``): supported findings, each suspected trigger with
    its verdict, what helped, and the one sentence naming every comparison with no clear link."""
    supported = [t["sentence"] for t in report.get("triggers", []) if t.get("significant")]
    suspected = [
        {"label": x["label"], "verdict": VERDICTS.get(x["status"], x["status"]), "sentence": x["sentence"]}
        for x in report.get("suspected", [])
        if x["status"] != "not enough data"
    ]
    untested = words.and_list(
        [
            f"{x['label']} (tagged on {x['tagged_episodes']} episode{'' if x['tagged_episodes'] == 1 else 's'})"
            for x in report.get("suspected", [])
            if x["status"] == "not enough data"
        ]
    )
    min_n = report.get("rules", {}).get("min_relief_n", 1)
    rated = [r for r in report.get("relief", []) if r.get("n", 0) >= min_n and r.get("measure") != "none"]
    helped = [r["sentence"] for r in sorted(rated, key=lambda r: -(r.get("mean_score") or 0))[:3]]
    headlines = [h["sentence"] for h in report.get("summary", {}).get("headlines", [])]
    return {"supported": supported, "suspected": suspected, "untested": untested, "helped": helped, "headlines": headlines,
            "no_clear_link": report.get("summary", {}).get("no_clear_link")}  # fmt: skip


def _charts(rows: Sequence[Row], first: dt.date | None, end: dt.date) -> dict[str, SafeString]:
    """Axes from the first entry of the period to its end; weeks, or months beyond about a year."""
    assert first is not None
    unit, starts = s.bins(first, end)
    labels = [s.bin_label(d, unit) for d in starts]
    counts, pains = s.per_bin(rows, unit, starts)
    names = {k: words.kind_plural(k) for k in counts}
    minutes = [(words.kind_plural(k), v) for k, v in s.minutes_by_kind(rows).items()]
    places = Counter(words.word("body_location", r.body_location) for r in rows).most_common(PLACES_SHOWN)
    return {
        "unit": unit,  # type: ignore[dict-item]
        "per_week": _safe(charts.episodes_over_time(labels, counts, names=names, unit=unit)),
        "pain": _safe(charts.pain_over_time(labels, pains, unit=unit)),
        "duration": _safe(charts.durations(minutes)),
        "where": _safe(charts.counts_bars(places, title="episodes by body location")),
    }


def _table_row(r: Row, more: Details | None, reader_tz: str) -> dict[str, Any]:
    more = more or Details([], [], None)
    return {
        "when": words.local_time(r.started_at, r.tz, reader_tz=reader_tz),
        "kind": words.word("kind", r.kind),
        "where": words.where(r.body_location, r.side).removeprefix("the "),
        "pain": str(r.pain),  # a string: the template would localize a number, at a cost per cell
        "duration": s.duration_text(r.duration_s) if r.duration_s is not None else "ongoing",
        "symptoms": words.words("symptom", more.symptoms),
        "triggers": words.words("trigger", more.triggers),
        "notes": more.notes or "",
    }
