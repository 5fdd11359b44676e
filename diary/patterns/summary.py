"""The summary a person reads first: at most three headlines, then the details. Pure Python (no Django).

Headlines, strongest first, at most ``MAX_HEADLINES``:

1. the supported claims: trigger findings kept as significant (by q-value) and suspected triggers the
   check-ins support (by Holm-adjusted p), one per exposure (the person's own suspicion wins over the
   same same-day finding); ordered by their adjusted p, the evidence behind each;
2. the frequency trend, when it is rising or falling;
3. what helped: the best-rated relief measure with enough ratings, when rated 5 or more out of 10.

Each headline is its detail's own sentence (numbers and n included), so the summary never says more
than the details. Every comparison without a clear link becomes ONE sentence ("No clear link yet for
caffeine and heat on the same day, or for heat the next day ..."), and the summary ends with "This is
not a diagnosis".
"""

from __future__ import annotations

from collections.abc import Sequence

from diary.patterns import sentences as say
from diary.patterns.rules import MIN_RELIEF_N
from diary.patterns.snapshot import Finding, Headline, Relief, Summary, Suspected, Trend

MAX_HEADLINES = 3
HELPED_SCORE = 5.0  # a relief measure is a headline when rated at least this on average (0..10)
NOT_A_DIAGNOSIS = "This is not a diagnosis: talk to a clinician about anything that worries you."


def headlines(
    findings: list[Finding], suspected: list[Suspected], trend: Trend, relief: list[Relief]
) -> list[Headline]:
    claims: list[tuple[float, Headline]] = []
    supported = {s["exposure"] for s in suspected if s["status"] == "supported"}
    for s in suspected:
        if s["status"] == "supported" and s["p_adjusted"] is not None:
            claims.append((s["p_adjusted"], Headline(kind="suspected", sentence=s["sentence"])))
    for f in findings:
        if f["significant"] and not (f["lag"] == 0 and f["exposure"] in supported):
            claims.append((f["q_value"], Headline(kind="trigger", sentence=f["sentence"])))
    out = [h for _, h in sorted(claims, key=lambda c: c[0])]
    if trend["status"] in ("rising", "falling"):
        out.append(Headline(kind="trend", sentence=trend["sentence"]))
    best = next((r for r in relief if r["n"] >= MIN_RELIEF_N and r["measure"] != "none"), None)
    if best is not None and (best["mean_score"] or 0.0) >= HELPED_SCORE:
        out.append(Headline(kind="relief", sentence=best["sentence"]))
    return out[:MAX_HEADLINES]


def no_clear_link(findings: list[Finding], suspected: Sequence[Suspected] = ()) -> str | None:
    """One sentence for every tested comparison not kept as a link (the details keep each one's numbers),
    exposures in alphabetical order; a same-day comparison the person's supported suspicion already
    headlines (its one-sided test is the one that counts for it) is not also called unclear."""
    supported = {s["exposure"] for s in suspected if s["status"] == "supported"}
    unclear = [f for f in findings if not f["significant"] and not (f["lag"] == 0 and f["exposure"] in supported)]
    if not unclear:
        return None
    groups = []
    for lag, when in ((0, "on the same day"), (1, "the next day")):
        labels = [f["label"] for f in unclear if f["lag"] == lag]
        if labels:
            groups.append(f"{say.listing(sorted(set(labels)))} {when}")
    days = max(f["exposed_days"] + f["unexposed_days"] for f in unclear)
    return (
        f"No clear link yet for {', or for '.join(groups)}: the differences could be chance "
        f"({say.plural(len(unclear), 'comparison')} over up to {say.plural(days, 'check-in day')}; "
        "each one's numbers are in the details)."
    )


def summary(findings: list[Finding], suspected: list[Suspected], trend: Trend, relief: list[Relief]) -> Summary:
    heads = headlines(findings, suspected, trend, relief)
    unclear = no_clear_link(findings, suspected)
    parts = [h["sentence"] for h in heads] or ["No clear pattern in your diary yet."]
    if unclear:
        parts.append(unclear)
    parts.append(NOT_A_DIAGNOSIS)
    return Summary(headlines=heads, no_clear_link=unclear, sentence=" ".join(parts))
