"""The summary a person reads first and the wording of the details (issue 16, item 5). Pure, no database:
ratios read naturally with their numbers in brackets, comparisons without a clear link collapse into one
sentence, missing data is described without asking anyone to change what they do, and at most three
headlines lead, strongest first."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest

from diary.patterns import sentences as say
from diary.patterns.analysis import CheckinRow, EpisodeRow, analyse
from diary.patterns.snapshot import Finding, Relief, Suspected, Trend
from diary.patterns.stats import compare_rates
from diary.patterns.summary import MAX_HEADLINES, NOT_A_DIAGNOSIS, headlines, no_clear_link, summary


@pytest.mark.parametrize(
    ("ratio", "words"),
    [
        (0.0, "no episodes on those days"),
        (0.1, "less than a fifth as often"),
        (0.2, "about a fifth as often"),
        (0.25, "about a quarter as often"),
        (0.33, "about a third as often"),
        (0.5, "about half as often"),
        (0.8, "about 20% less often"),
        (0.95, "about as often"),
        (1.0, "about as often"),
        (1.25, "about 25% more often"),
        (1.5, "about 1.5 times as often"),
        (2.0, "about twice as often"),
        (2.3, "about 2.5 times as often"),
        (3.0, "about three times as often"),
        (10.0, "about 10 times as often"),
        (None, "far more often"),
    ],
)
def test_ratio_wording(ratio: float | None, words: str) -> None:
    assert say.how_often(ratio) == words


def test_a_ratio_carries_its_numbers_and_never_says_zero_times() -> None:
    more = say.rate_clause("cramps", compare_rates(30, 41, 20, 60, 0.95), "on hot days")
    assert more.startswith("cramps happened about twice as often on hot days (2.2 times, 95% CI 1.2 to 4.1, 41 days)")
    fewer = say.rate_clause("cramps", compare_rates(8, 50, 40, 50, 0.95), "on hot days")
    assert fewer.startswith("cramps happened about a fifth as often on hot days (0.20 times, 95% CI")
    none = say.rate_clause("cramps", compare_rates(0, 12, 30, 60, 0.95), "on hot days")
    assert none.startswith("there were no cramps on hot days (12 days; 30 on 60 other days, 95% CI 0 to")
    for text in (more, fewer, none):
        assert " 0 times" not in text and "(0 times" not in text and "times as frequent" not in text


def test_the_missing_data_hint_never_asks_for_a_change_of_medication_or_behaviour() -> None:
    """Medication on almost every day: the comparison lacks days without it, and the hint says so plainly."""
    today = dt.date(2024, 4, 10)
    days = [today - dt.timedelta(days=i) for i in range(1, 41)]
    checkins = [CheckinRow(day=d, water_ml=2000, medications=("statin",) if i > 2 else ()) for i, d in enumerate(days)]
    episodes = [
        EpisodeRow(dt.datetime.combine(d, dt.time(12), tzinfo=dt.UTC), "UTC", "cramp", "calf", 60, 3) for d in days
    ]
    report = analyse(episodes, checkins, today=today, window_days=40)
    gap = next(x for x in report["not_enough_data"] if x["exposure"] == "medication" and x["lag"] == 0)
    assert (
        gap["missing"]
        == "not enough days to compare yet (37 days when you took medication, 3 when you took no medication)"
    )
    texts = [x["sentence"] + x["missing"] for x in report["not_enough_data"]]
    texts += [x["sentence"] for x in report["suspected"]]
    for text in texts:
        assert "more check-in day" not in text and "needs" not in text, text


def _finding(exposure: str, lag: int, *, q: float, significant: bool, sentence: str = "") -> Finding:
    return cast(Finding, {"exposure": exposure, "label": exposure.replace("_", " "), "lag": lag, "q_value": q,
                          "p_value": q / 2, "significant": significant, "exposed_days": 20, "unexposed_days": 60,
                          "sentence": sentence or f"{exposure} {lag}"})  # fmt: skip


def _trend(status: str) -> Trend:
    return cast(Trend, {"status": status, "sentence": f"trend {status}"})


def _relief(measure: str, n: int, mean: float) -> Relief:
    return cast(Relief, {"measure": measure, "n": n, "mean_score": mean, "sentence": f"relief {measure}"})


def _suspected(exposure: str, status: str, p: float | None) -> Suspected:
    return cast(Suspected, {"exposure": exposure, "status": status, "p_adjusted": p, "sentence": f"suspect {exposure}"})


def test_no_clear_link_lines_collapse_into_one_sentence() -> None:
    findings = [
        _finding("low_water", 0, q=0.001, significant=True),
        *(_finding(x, 0, q=0.5, significant=False) for x in ("caffeine", "heat", "short_sleep")),
        *(_finding(x, 1, q=0.6, significant=False) for x in ("heat", "high_stress")),
    ]
    assert no_clear_link(findings) == (
        "No clear link yet for caffeine, heat and short sleep on the same day, or for heat and high stress the "
        "next day: the differences could be chance (5 comparisons over up to 80 check-in days; each one's "
        "numbers are in the details)."
    )
    assert no_clear_link([_finding("heat", 1, q=0.6, significant=False)]) is not None
    # a same-day comparison the person's supported suspicion headlines is not also "no clear link"
    only = no_clear_link(findings, [_suspected("caffeine", "supported", 0.01)])
    assert only is not None and only.startswith("No clear link yet for heat and short sleep on the same day, or")
    assert no_clear_link(findings[:1]) is None


def test_headlines_are_at_most_three_strongest_first() -> None:
    findings = [
        _finding("heat", 0, q=0.02, significant=True),
        _finding("low_water", 0, q=0.001, significant=True),
        _finding("caffeine", 1, q=0.01, significant=True),
        _finding("short_sleep", 0, q=0.4, significant=False),
    ]
    suspected = [_suspected("high_stress", "supported", 0.005), _suspected("heat", "not supported", 0.3)]
    heads = headlines(findings, suspected, _trend("rising"), [_relief("stretch", 5, 7.0)])
    assert len(heads) == MAX_HEADLINES == 3
    assert [h["sentence"] for h in heads] == ["low_water 0", "suspect high_stress", "caffeine 1"]
    # fewer claims: then the trend, then what helped
    heads = headlines(findings[1:2], [], _trend("falling"), [_relief("stretch", 5, 7.0), _relief("massage", 5, 4.0)])
    assert [(h["kind"], h["sentence"]) for h in heads] == [
        ("trigger", "low_water 0"),
        ("trend", "trend falling"),
        ("relief", "relief stretch"),
    ]
    # a stable trend, a poorly rated or rarely rated measure, and "nothing" are no headline
    assert headlines([], [], _trend("stable"), [_relief("none", 9, 8.0), _relief("heat_pack", 2, 9.0)]) == []
    assert headlines([], [], _trend("stable"), [_relief("stretch", 5, 3.0)]) == []
    # a supported suspicion and the same same-day finding are one headline (the person's own suspicion)
    heads = headlines([_finding("heat", 0, q=0.001, significant=True)], [_suspected("heat", "supported", 0.01)],
                      _trend("stable"), [])  # fmt: skip
    assert [h["kind"] for h in heads] == ["suspected"]


def test_the_summary_ends_with_not_a_diagnosis() -> None:
    s = summary([_finding("heat", 0, q=0.5, significant=False)], [], _trend("stable"), [])
    assert s["headlines"] == []
    assert s["sentence"].startswith("No clear pattern in your diary yet. No clear link yet for heat on the same day")
    assert s["sentence"].endswith(NOT_A_DIAGNOSIS) and "not a diagnosis" in NOT_A_DIAGNOSIS


def test_the_report_leads_with_its_summary() -> None:
    report: dict[str, Any] = dict(analyse([], [], today=dt.date(2024, 4, 10)))
    assert list(report)[:3] == ["version", "disclaimer", "summary"]
    assert report["summary"] == {"headlines": [], "no_clear_link": None,
                                 "sentence": f"No clear pattern in your diary yet. {NOT_A_DIAGNOSIS}"}  # fmt: skip
