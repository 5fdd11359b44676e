"""Statistical quality of pattern detection (diary/patterns/analysis.py), judged by what people are told.

    .venv/bin/python -m bench.patterns_quality [--check] [--quick] [--cohorts 400] [--seed 20260630]

No database: each synthetic person is built as EpisodeRow/CheckinRow lists (bench/quality_cohorts.py:
diaries that end yesterday in the person's zone, ``analyse(..., today=TODAY)``) and handed to
``analyse``, so the real pipeline is measured; bench/quality_score.py says what counts as a claim.

Cohort families (each person counted once in the pooled claims, with the report they would read):
- base: one planted exposure (rotating through the seven) on 30% of days multiplies the rate by 1.5, 2
  or 3, six exposures with no effect; 30/90/180 days. Analysed three ways (same days and episodes, only
  the trigger tags differ): main (no tag: pure discovery; the pooled report), suspected (the planted
  exposure's trigger tagged on ~40% of episodes), other (a non-planted exposure's trigger tagged);
- null: no effect; tags 0, 1 or 2 random triggers;
- cluster: RR 3 plus a negative-binomial day effect (gamma day multiplier, shape 2);
- cluster-null: the gamma day effect alone;
- hot-runs: heat (RR 2) comes in runs (Markov chain) and goes with low water (P(low | hot) 0.8);
- hot-runs-null: the same weather and water, no effect;
- weekly: the weekend rate twice the weekday rate, vigorous exercise a weekend habit, a planted RR 2
  on another exposure.
The families beyond base tag nothing, the planted trigger, or another trigger (one person in three each).

Oracles (from the same days and counts, not from ``analyse``): one exact conditional binomial test of
the planted exposure (two-sided, rate ratio > 1) at 0.05 (single test), at 0.05 / 14 (Bonferroni over
the 14 exposure x lag tests), and one-sided "greater" at 0.025 (the suspected-trigger oracle).

Targets (PASS/FAIL printed, ``--check`` exits 1 on a miss):
1. false share of presented claims, pooled over every person of every family, <= 0.05;
2. main recall >= the Bonferroni oracle's in every cell of 30/90/180 days x RR 1.5/2/3 (gain reported);
3. trend claims on no-trend diaries (every diary here): frequency (all kinds) and duration (per kind)
   each <= 0.05 of the trends judged and balanced (rising vs falling: binomial p >= 0.05);
4. suspected recall >= 90% of the one-sided oracle in every cell where the oracle found the effect at
   least 20 times.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from bench.quality_cohorts import (
    BASE_RATE,
    EXERCISE,
    HOT,
    N_TESTS,
    NULL_SHARE,
    PLANTED_SHARE,
    TODAY,
    USED,
    Cohort,
    Spec,
    episodes,
    make_cohort,
)
from bench.quality_score import (
    ClaimTally,
    Trends,
    fmt,
    mean_se,
    oracle_p,
    pearson_flags,
    planted_found,
    reported_counts,
    split,
)
from diary.patterns.analysis import Snapshot, analyse

RATE_RATIOS = (1.5, 2.0, 3.0)
DAYS = (30, 90, 180)
ALPHA = 0.05
ALPHA_SUSPECTED = 0.025
MIN_ORACLE_HITS = 20
BASE = Spec("base")
FAMILIES = (
    (Spec("cluster", rate_ratio=3.0, gamma_shape=2.0), "rotate"),
    (Spec("cluster-null", gamma_shape=2.0), None),
    (Spec("hot-runs", rate_ratio=2.0, hot_runs=True), "heat"),
    (Spec("hot-runs-null", hot_runs=True), None),
    (Spec("weekly", rate_ratio=2.0, weekend_ratio=2.0), "rotate"),
)


@dataclass
class Cell:
    main: list[bool] = field(default_factory=list)
    suspected: list[bool] = field(default_factory=list)
    other: list[bool] = field(default_factory=list)
    oracle: list[bool] = field(default_factory=list)
    bonf: list[bool] = field(default_factory=list)
    oracle25_one: list[bool] = field(default_factory=list)
    naive: list[bool] = field(default_factory=list)


class Runner:
    """Calls ``analyse`` and keeps the time it takes."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def __call__(self, c: Cohort, tagged: list[str]) -> Snapshot:
        rows = episodes(c, tagged)
        t0 = time.perf_counter()
        report = analyse(rows, c.checkins, today=TODAY, window_days=c.days)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        return report


def trigger_of(j: int) -> str:
    return USED[j].suspected_by[0]


def family_planted(spec: Spec, plant: str | None, i: int) -> int | None:
    """The planted exposure of a family's i-th person: none, heat, or rotating (in the weekly family never
    the weekend-habit exercise, which keeps no effect of its own)."""
    if plant is None:
        return None
    if plant == "heat":
        return HOT
    j = i % len(USED)
    return 1 if spec.weekend_ratio != 1.0 and j == EXERCISE else j


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--quick", action="store_true", help="40 cohorts per cell")
    ap.add_argument("--cohorts", type=int, default=400, help="cohorts per cell (default 400)")
    ap.add_argument("--seed", type=int, default=20260630)
    args = ap.parse_args()
    per_cell = 40 if args.quick else args.cohorts
    t_start = time.perf_counter()
    run = Runner()
    p_checks = p_mismatch = 0
    pooled: dict[str, ClaimTally] = {}
    other_tally = ClaimTally()  # information: base cohorts tagging a non-planted trigger
    susp_tally = ClaimTally()  # information: base cohorts tagging the planted trigger
    trends = Trends()

    cells: dict[tuple[float, int], Cell] = {}
    for rr_i, rr in enumerate(RATE_RATIOS):
        spec = Spec("base", rate_ratio=rr)
        tally = pooled.setdefault(f"base RR {rr}", ClaimTally())
        for days in DAYS:
            cell = cells.setdefault((rr, days), Cell())
            for i in range(per_cell):
                rng = np.random.default_rng([args.seed, 1, rr_i, days, i])
                planted = i % len(USED)
                c = make_cohort(rng, spec, days, planted)
                code = USED[planted].code
                other = trigger_of((planted + 1 + i % (len(USED) - 1)) % len(USED))
                two, one, up = oracle_p(c)
                cell.oracle.append(two <= ALPHA and up)
                cell.bonf.append(two <= ALPHA / N_TESTS and up)
                cell.oracle25_one.append(one <= ALPHA_SUSPECTED)
                r_main, r_susp, r_other = run(c, []), run(c, [trigger_of(planted)]), run(c, [other])
                cell.main.append(planted_found(r_main, code))
                cell.suspected.append(planted_found(r_susp, code))
                cell.other.append(planted_found(r_other, code))
                tally.add(r_main, code)
                susp_tally.add(r_susp, code)
                other_tally.add(r_other, code)
                trends.add(r_main)
                flags, r = pearson_flags(c)
                cell.naive.append(bool(flags[planted] and r[planted] > 0))
                got = reported_counts(r_main, code)
                if got is not None:
                    p_checks += 1
                    p_mismatch += got != split(c, planted)

    null = pooled.setdefault("null", ClaimTally())
    for days in DAYS:
        for i in range(per_cell):
            rng = np.random.default_rng([args.seed, 2, days, i])
            c = make_cohort(rng, BASE, days, None)
            picks = rng.choice(len(USED), size=i % 3, replace=False)
            report = run(c, [trigger_of(int(j)) for j in picks])
            null.add(report, None)
            trends.add(report)

    family_recall: dict[str, dict[int, list[bool]]] = {}
    for f_i, (spec, plant) in enumerate(FAMILIES):
        tally = pooled.setdefault(spec.name, ClaimTally())
        for days in DAYS:
            for i in range(per_cell):
                rng = np.random.default_rng([args.seed, 3, f_i, days, i])
                target = family_planted(spec, plant, i)
                c = make_cohort(rng, spec, days, target)
                truth = None if target is None else USED[target].code
                anchor = HOT if target is None else target
                tags = [[], [trigger_of(anchor)], [trigger_of((anchor + 1 + i % 6) % len(USED))]][i % 3]
                report = run(c, tags)
                tally.add(report, truth)
                trends.add(report)
                if truth is not None:
                    family_recall.setdefault(spec.name, {}).setdefault(days, []).append(planted_found(report, truth))

    elapsed = time.perf_counter() - t_start
    print(f"Pattern detection quality: {per_cell} people per cell and family per length, seed {args.seed}")
    print(
        f"base rate {BASE_RATE}/day; planted exposure on {PLANTED_SHARE:.0%} of days, null exposures on "
        f"{NULL_SHARE[0]:.0%}-{NULL_SHARE[1]:.0%}; {N_TESTS} exposure x lag tests; diaries end {TODAY} - 1 day; "
        "values are mean±Monte Carlo SE"
    )
    print()
    print("1. False claims among everything presented as real (significant findings, supported suspicions)")
    everyone = ClaimTally()
    for name, tally in pooled.items():
        print(f"  {name:<14} {tally.line()}")
        everyone.merge(tally)
    print(f"  {'ALL (pooled)':<14} {everyone.line()}")
    print(f"  info, base tagging the planted trigger: {susp_tally.line()}")
    print(f"  info, base tagging another trigger:     {other_tally.line()}")
    print()
    print("2. Recall of the planted exposure (same day, more), main analysis (no tag) vs the oracles")
    header = (
        f"{'RR':>4} {'days':>4} | {'pipeline':>11} {'bonf 0.05/14':>12} {'gain':>7} {'single 0.05':>11} | "
        f"{'suspected':>11} {'or1 0.025':>11} | {'other-susp':>11} | {'naive r':>11}"
    )
    print(header)
    print("-" * len(header))
    t2_ok = t4_ok = True
    unjudged = 0
    for (rr, days), cell in cells.items():
        main_m, _ = mean_se(cell.main)
        bonf_m, _ = mean_se(cell.bonf)
        sus_m, _ = mean_se(cell.suspected)
        or1_m, _ = mean_se(cell.oracle25_one)
        ok2 = main_m >= bonf_m
        judged = sum(cell.oracle25_one) >= MIN_ORACLE_HITS
        ok4 = sus_m >= 0.9 * or1_m or not judged
        unjudged += not judged
        t2_ok &= ok2
        t4_ok &= ok4
        d = np.asarray(cell.main, float) - np.asarray(cell.bonf, float)
        print(
            f"{rr:>4} {days:>4} | {fmt(cell.main)} {fmt(cell.bonf):>12} {d.mean():+7.3f} {fmt(cell.oracle)} | "
            f"{fmt(cell.suspected)} {fmt(cell.oracle25_one)} | {fmt(cell.other)} | {fmt(cell.naive)}  "
            f"{'ok' if ok2 else 'MISS(2)'} {'ok' if ok4 else 'MISS(4)'}{'' if judged else ' (4: too few)'}"
        )
    print("  gain = pipeline - Bonferroni oracle, person for person")
    for name, by_days in family_recall.items():
        print(
            f"  info, {name} recall (planted found, any tags): "
            + ", ".join(f"{d} d {fmt(v)}" for d, v in by_days.items())
        )
    print()
    print("3. Trend claims on no-trend diaries (every diary's main report)")
    for label, t in (
        ("frequency (all kinds)", trends.frequency),
        ("duration (per kind)", trends.duration),
        ("info: frequency by kind", trends.frequency_by_kind),
    ):
        print(
            f"  {label:<24} up {t.up:>4}  down {t.down:>4}  of {t.judged:>5} judged: {t.share:5.3f}, "
            f"balance p {t.balance_p:.3g}"
        )
    print()
    print(
        f"Information: {p_checks} reported planted-exposure counts (episodes and days, exposed and unexposed) "
        f"recomputed from the cohort: {p_mismatch} differ"
    )
    print(f"analyse: {run.calls} calls, mean {1000 * run.seconds / max(run.calls, 1):.2f} ms; run took {elapsed:.1f} s")
    print()
    targets = [
        (f"1 false share of presented claims <= 0.05 (measured {everyone.share:.3f})", everyone.share <= 0.05),
        ("2 main recall >= Bonferroni oracle (0.05/14) in every cell", t2_ok),
        (
            f"3 trend claims on no-trend diaries <= 0.05 and balanced (frequency {trends.frequency.share:.3f}, "
            f"duration {trends.duration.share:.3f})",
            trends.frequency.ok and trends.duration.ok,
        ),
        (
            "4 suspected recall >= 90% of the one-sided oracle (0.025) in every cell"
            + (f" ({unjudged} cell(s) with under {MIN_ORACLE_HITS} oracle hits not judged)" if unjudged else ""),
            t4_ok,
        ),
    ]
    for name, ok in targets:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    failed = not all(ok for _, ok in targets)
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
