"""What the clinician sees of one patient, as plain data for the page (and later the PDF)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.utils.safestring import mark_safe

from diary.alerts.shared import shared_alerts
from diary.core import words
from diary.core.fields import zone
from diary.episodes.render import episode_to_rest
from diary.reports import charts
from diary.reports.alert_lines import alert_lines
from diary.reports.insights import share_insights
from diary.sharing.models import Share
from diary.sharing.scoped import redact, scoped_episodes

WEEKS = 26


def patient_context(
    share: Share, *, kind: str | None = None, since: dt.date | None = None, rows: int = 500
) -> dict[str, Any]:
    """Charts, the filterable episode table and alerts, each only under its scope."""
    ctx: dict[str, Any] = {"share": share, "name": share.patient.display_name or "Patient", "scopes": share.scopes}
    if "episodes" in share.scopes:
        episodes = scoped_episodes(share)
        local = [(e, e.started_at.astimezone(zone(e.tz))) for e in episodes]
        today = dt.datetime.now(dt.UTC).date()
        first_week = today - dt.timedelta(days=today.weekday()) - dt.timedelta(weeks=WEEKS - 1)
        weeks = [first_week + dt.timedelta(weeks=i) for i in range(WEEKS)]
        counts: dict[str, list[int]] = defaultdict(lambda: [0] * WEEKS)
        pains: list[list[int]] = [[] for _ in range(WEEKS)]
        recent = [(e, t) for e, t in local if t.date() >= first_week]
        for e, t in recent:
            week = (t.date() - first_week).days // 7
            counts[e.kind][week] += 1
            pains[week].append(e.pain)
        by_kind: dict[str, list[float]] = defaultdict(list)
        for e, _ in recent:
            if e.duration_s is not None:
                by_kind[e.kind].append(e.duration_s / 60)
        places = [words.word("body_location", e.body_location) for e, _ in recent]
        # Our own matplotlib SVG (no user text in it but codes and numbers): safe to embed as is.
        ctx["charts"] = {
            "per_week": mark_safe(charts.episodes_per_week(weeks, dict(counts))),  # noqa: S308  # nosec B308 B703
            "pain": mark_safe(charts.pain_over_time(weeks, pains)),  # noqa: S308  # nosec B308 B703
            "duration": mark_safe(charts.durations(dict(by_kind))),  # noqa: S308  # nosec B308 B703
            "where": mark_safe(charts.body_locations(places)),  # noqa: S308  # nosec B308 B703
        }
        ctx["weekly_total"] = sum(sum(v) for v in counts.values())
        table = [(e, t) for e, t in local if (kind is None or e.kind == kind) and (since is None or t.date() >= since)]
        ctx["episodes"] = [_in_words(redact(episode_to_rest(e), share)) for e, _ in table[:rows]]
        ctx["episode_count"] = len(table)
    if "insights" in share.scopes and (insights := share_insights(share)) is not None:
        found = [t for t in insights["report"].get("triggers", []) if t.get("significant") and t.get("rate_ratio")]
        forest = [(t.get("label") or t["exposure"], t["rate_ratio"], t["ci_low"], t["ci_high"] or t["rate_ratio"])
                  for t in found if t.get("ci_low")]  # fmt: skip
        ctx["findings"] = found
        if forest:
            ctx.setdefault("charts", {})["triggers"] = mark_safe(charts.trigger_findings(forest))  # noqa: S308  # nosec B308 B703
    if "alerts" in share.scopes:
        ctx["alerts"] = alert_lines(share.patient, shared_alerts(share))
        ctx["patient_zone"] = share.patient.timezone
    return ctx


def _in_words(row: dict[str, Any]) -> dict[str, Any]:
    """An episode row with its codes also in words, for the table a clinician reads."""
    return {
        **row,
        "kind_words": words.word("kind", row["kind"]),
        "where_words": words.where(row["body_location"], row.get("side")).removeprefix("the "),
        "symptom_words": words.words("symptom", row.get("symptoms") or ()),
    }
