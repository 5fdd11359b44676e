"""Statistical quality of pattern detection (diary/patterns/analysis.py) on seeded synthetic cohorts.

    .venv/bin/python -m bench.patterns_quality [--check] [--quick] [--cohorts 400] [--seed 20260630]

No database: each cohort is built as EpisodeRow/CheckinRow lists and handed to ``analyse``, so the real
pipeline is measured. A cohort is one person with 30, 90 or 180 days of data, a check-in every day and
episodes at a base rate of 0.5 a day. One planted exposure (rotating through the seven check-in
exposures) is present on 30% of days and multiplies that day's rate by 1.5, 2 or 3; six more exposures
are present on 15-35% of days with no effect (medication is never logged, so 7 exposures x 2 lags =
14 tests). Null cohorts have no effect at all and tag 0, 1 or 2 random mapped triggers as suspected.

Every planted cohort is analysed three ways (same days, same episodes; only the trigger tags differ):
- main: the person tagged no mapped trigger (pure discovery);
- suspected: the person tagged the planted exposure's trigger on ~40% of episodes (a pre-specified
  hypothesis);
- other (information only): the person tagged a trigger of a NON-planted exposure, so discovery keeps
  only its own 0.025 (no alpha recycling).

Ceilings computed from the same cohorts (not from ``analyse``): an oracle that knows which exposure was
planted and runs one exact conditional binomial test (scipy.stats.binomtest, two-sided, rate ratio > 1)
at alpha 0.05, the same oracle at the Bonferroni level 0.05 / 14, and at 0.025 (two-sided, and one-sided
"greater", the stronger of the two). Baseline: naive Pearson correlation of the daily count with each
exposure, flagged when |r| > 0.3 or p < 0.05, no correction.

Targets (PASS/FAIL printed, ``--check`` exits 1 on a miss):
1. main recall >= the Bonferroni oracle's in every cell (rate ratio x days);
2. suspected recall >= 90% of the one-sided single-test oracle's at 0.025 in every cell (a cell where
   the oracle found the effect in fewer than 20 cohorts is shown but not judged: too few for a ratio;
   with the default 400 cohorts every cell is judged);
3. false-discovery proportion on null cohorts (suspected and discovered findings together) <= 0.05;
4. the statistic is the exact conditional test: the planted test's reported p-values equal scipy's
   binomtest (two-sided; one-sided for suspected) in every cohort where it was tested.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
from scipy import stats

from diary.patterns.analysis import EXPOSURES, CheckinRow, EpisodeRow, Snapshot, analyse

TODAY = dt.date(2026, 6, 30)
BASE_RATE = 0.5
PLANTED_SHARE = 0.30
NULL_SHARE = (0.15, 0.35)
RATE_RATIOS = (1.5, 2.0, 3.0)
DAYS = (30, 90, 180)
USED = tuple(x for x in EXPOSURES if x.code != "medication")  # the 7 exposures the cohorts log
N_TESTS = len(USED) * 2  # exposure x lag tests
ALPHA = 0.05
ALPHA_SUSPECTED = 0.025
TAG_SHARE = 0.4
MIN_ORACLE_HITS = 20  # target 2 judges a cell only when the oracle found the effect this often
ZONES = ("Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo", "UTC")
KINDS = ("spasm", "cramp", "twitch")
LOCATIONS = ("calf", "foot", "hamstring", "neck", "lower_back", "eyelid")


@dataclass
class Cohort:
    days: int
    tz: str
    exposed: np.ndarray  # (7, days) bool
    counts: np.ndarray  # (days,) episodes per local day
    planted: int | None  # index into USED
    checkins: list[CheckinRow]
    episode_base: list[tuple[dt.datetime, str, str, int, int, tuple[str, ...], int]]  # everything but triggers
    tag_draw: np.ndarray  # (episodes, 2) uniform: tagged trigger j when below TAG_SHARE


def make_cohort(rng: np.random.Generator, days: int, rate_ratio: float, planted: int | None) -> Cohort:
    shares = rng.uniform(*NULL_SHARE, size=len(USED))
    if planted is not None:
        shares[planted] = PLANTED_SHARE
    exposed = rng.random((len(USED), days)) < shares[:, None]
    rate = np.full(days, BASE_RATE)
    if planted is not None:
        rate = np.where(exposed[planted], BASE_RATE * rate_ratio, BASE_RATE)
    counts = rng.poisson(rate)
    tz = ZONES[int(rng.integers(len(ZONES)))]
    start = TODAY - dt.timedelta(days=days - 1)
    # check-in values consistent with each exposure's rule (both sides of every threshold)
    water = np.where(exposed[0], rng.integers(500, 1500, days), rng.integers(1500, 3200, days))
    caffeine = np.where(exposed[1], rng.integers(3, 7, days), rng.integers(0, 3, days))
    intensity = np.where(exposed[2], "vigorous", rng.choice(np.array(["none", "light", "moderate"]), days))
    hot = exposed[3]
    sleep = np.where(exposed[4], rng.uniform(3.0, 5.9, days), rng.uniform(6.0, 9.5, days)).round(1)
    stress = np.where(exposed[5], rng.integers(7, 11, days), rng.integers(0, 7, days))
    sitting = np.where(exposed[6], rng.uniform(8.5, 13, days), rng.uniform(0, 8, days)).round(1)
    checkins = [
        CheckinRow(
            day=start + dt.timedelta(days=i), water_ml=int(water[i]), caffeine_servings=int(caffeine[i]),
            exercise_intensity=str(intensity[i]), hot_weather=bool(hot[i]), sleep_h=float(sleep[i]),
            stress=int(stress[i]), sitting_h=float(sitting[i]), medications=(),
        )
        for i in range(days)
    ]  # fmt: skip
    zone = ZoneInfo(tz)
    n = int(counts.sum())
    day_of = np.repeat(np.arange(days), counts)
    minute = rng.integers(0, 24 * 60, n)
    kinds = rng.integers(0, len(KINDS), n)
    locs = rng.integers(0, len(LOCATIONS), n)
    durations = rng.lognormal(4.0, 1.0, n).astype(int) + 1
    pain = rng.integers(0, 9, n)
    score = rng.integers(0, 11, n)
    base: list[tuple[dt.datetime, str, str, int, int, tuple[str, ...], int]] = []
    for i in range(n):
        local = dt.datetime.combine(start + dt.timedelta(days=int(day_of[i])), dt.time(), tzinfo=zone)
        at = (local + dt.timedelta(minutes=int(minute[i]))).astimezone(dt.UTC)
        base.append(
            (at, KINDS[kinds[i]], LOCATIONS[locs[i]], int(durations[i]), int(pain[i]), ("stretching",), int(score[i]))
        )
    return Cohort(days, tz, exposed, counts, planted, checkins, base, rng.random((n, 2)))


def episodes(c: Cohort, tagged: list[str]) -> list[EpisodeRow]:
    """The cohort's episodes; each of ``tagged`` on ~TAG_SHARE of them (independent draws per trigger)."""
    rows = []
    for i, (at, kind, loc, dur, pain, relief, score) in enumerate(c.episode_base):
        tags = tuple(t for j, t in enumerate(tagged) if c.tag_draw[i, j] < TAG_SHARE)
        rows.append(EpisodeRow(at, c.tz, kind, loc, dur, pain, tags, relief, score))
    return rows


def split(c: Cohort, j: int, lag: int = 0) -> tuple[int, int, int, int]:
    e = c.exposed[j, : c.days - lag]
    y = c.counts[lag:]
    return int(y[e].sum()), int(e.sum()), int(y[~e].sum()), int((~e).sum())


def oracle_p(c: Cohort) -> tuple[float, float, bool]:
    """Two-sided and one-sided ("greater") exact conditional p for the planted exposure; rate ratio > 1."""
    assert c.planted is not None
    x_e, t_e, x_u, t_u = split(c, c.planted)
    n = x_e + x_u
    if n == 0:
        return 1.0, 1.0, False
    p0 = t_e / (t_e + t_u)
    two = stats.binomtest(x_e, n, p0).pvalue
    one = stats.binomtest(x_e, n, p0, alternative="greater").pvalue
    return float(two), float(one), x_e * t_u > x_u * t_e


def pearson_flags(c: Cohort) -> tuple[np.ndarray, np.ndarray]:
    """Naive tracker: Pearson r of the daily count with each exposure; flagged when |r| > 0.3 or p < 0.05."""
    y = c.counts.astype(float)
    flags = np.zeros(len(USED), dtype=bool)
    r_all = np.zeros(len(USED))
    if y.std() == 0:
        return flags, r_all
    for j in range(len(USED)):
        x = c.exposed[j].astype(float)
        if x.std() == 0:
            continue
        r, p = stats.pearsonr(x, y)
        r_all[j] = r
        flags[j] = abs(r) > 0.3 or p < 0.05
    return flags, r_all


def findings(report: Snapshot) -> tuple[set[tuple[str, int]], set[str | None]]:
    """Significant discoveries (exposure, lag), either direction; exposures of supported suspected triggers."""
    disc = {(f["exposure"], f["lag"]) for f in report["triggers"] if f["significant"]}
    sup = {s["exposure"] for s in report["suspected"] if s["status"] == "supported"}
    return disc, sup


def planted_found(report: Snapshot, code: str) -> bool:
    disc = any(
        f["exposure"] == code and f["lag"] == 0 and f["significant"] and f["direction"] == "more"
        for f in report["triggers"]
    )
    sup = any(s["exposure"] == code and s["status"] == "supported" for s in report["suspected"])
    return disc or sup


def false_count(report: Snapshot, code: str | None) -> tuple[int, int]:
    """(false findings, all findings): anything but the planted exposure at lag 0 is false."""
    disc, sup = findings(report)
    total = len(disc) + len(sup)
    true = int((code, 0) in disc) + int(code in sup)
    return total - true, total


def reported_p(report: Snapshot, code: str) -> tuple[float | None, float | None]:
    two = next((f["p_value"] for f in report["triggers"] if f["exposure"] == code and f["lag"] == 0), None)
    one = next((s["p_value"] for s in report["suspected"] if s["exposure"] == code and s["p_value"] is not None), None)
    return two, one


def close(a: float | None, b: float) -> bool:
    return a is not None and abs(a - b) <= 1e-5 * max(abs(b), 1e-300) + 1e-300


@dataclass
class Cell:
    n: int = 0
    main: list[bool] = field(default_factory=list)
    suspected: list[bool] = field(default_factory=list)
    other: list[bool] = field(default_factory=list)
    oracle: list[bool] = field(default_factory=list)
    bonf: list[bool] = field(default_factory=list)
    oracle25_two: list[bool] = field(default_factory=list)
    oracle25_one: list[bool] = field(default_factory=list)
    naive: list[bool] = field(default_factory=list)
    fdp_main: list[float] = field(default_factory=list)
    fdp_other: list[float] = field(default_factory=list)
    false_supported: list[bool] = field(default_factory=list)
    fdp_naive: list[float] = field(default_factory=list)


def mean_se(v: list[bool] | list[float]) -> tuple[float, float]:
    a = np.asarray(v, dtype=float)
    if a.size == 0:
        return math.nan, math.nan
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(a.size)) if a.size > 1 else 0.0


def fmt(v: list[bool] | list[float]) -> str:
    m, se = mean_se(v)
    return f"{m:5.3f}±{se:5.3f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--quick", action="store_true", help="50 cohorts per cell")
    ap.add_argument("--cohorts", type=int, default=400, help="cohorts per cell (default 400)")
    ap.add_argument("--seed", type=int, default=20260630)
    args = ap.parse_args()
    per_cell = 50 if args.quick else args.cohorts
    t_start = time.perf_counter()
    analyse_s = 0.0
    analyse_n = 0
    p_checks = 0
    p_mismatch = 0

    def run(c: Cohort, tagged: list[str]) -> Snapshot:
        nonlocal analyse_s, analyse_n
        rows = episodes(c, tagged)
        t0 = time.perf_counter()
        report = analyse(rows, c.checkins, today=TODAY, window_days=c.days)
        analyse_s += time.perf_counter() - t0
        analyse_n += 1
        return report

    cells: dict[tuple[float, int], Cell] = {}
    for rr_i, rr in enumerate(RATE_RATIOS):
        for days in DAYS:
            cell = cells.setdefault((rr, days), Cell())
            for i in range(per_cell):
                rng = np.random.default_rng([args.seed, 1, rr_i, days, i])
                planted = i % len(USED)
                c = make_cohort(rng, days, rr, planted)
                code = USED[planted].code
                trigger = USED[planted].suspected_by[0]
                other = USED[(planted + 1 + i % (len(USED) - 1)) % len(USED)].suspected_by[0]
                two, one, up = oracle_p(c)
                cell.n += 1
                cell.oracle.append(two <= ALPHA and up)
                cell.bonf.append(two <= ALPHA / N_TESTS and up)
                cell.oracle25_two.append(two <= ALPHA_SUSPECTED and up)
                cell.oracle25_one.append(one <= ALPHA_SUSPECTED)
                r_main = run(c, [])
                r_susp = run(c, [trigger])
                r_other = run(c, [other])
                cell.main.append(planted_found(r_main, code))
                cell.suspected.append(planted_found(r_susp, code))
                cell.other.append(planted_found(r_other, code))
                false, total = false_count(r_main, code)
                cell.fdp_main.append(false / total if total else 0.0)
                false, total = false_count(r_other, code)
                cell.fdp_other.append(false / total if total else 0.0)
                cell.false_supported.append(any(x["status"] == "supported" for x in r_other["suspected"]))
                flags, r = pearson_flags(c)
                cell.naive.append(bool(flags[planted] and r[planted] > 0))
                nf = int(flags.sum()) - int(flags[planted] and r[planted] > 0)
                cell.fdp_naive.append(nf / flags.sum() if flags.sum() else 0.0)
                # the statistic: reported p-values are scipy's exact conditional test
                p2, _ = reported_p(r_main, code)
                _, p1 = reported_p(r_susp, code)
                if p2 is not None:
                    p_checks += 1
                    p_mismatch += not close(p2, two)
                if p1 is not None:
                    p_checks += 1
                    p_mismatch += not close(p1, one)

    null_fdp: dict[int, list[float]] = {d: [] for d in DAYS}
    null_naive: dict[int, list[float]] = {d: [] for d in DAYS}
    null_by_tags: dict[int, list[float]] = {0: [], 1: [], 2: []}
    for days in DAYS:
        for i in range(2 * per_cell):
            rng = np.random.default_rng([args.seed, 2, days, i])
            c = make_cohort(rng, days, 1.0, None)
            k = i % 3
            picks = rng.choice(len(USED), size=k, replace=False)
            report = run(c, [USED[int(j)].suspected_by[0] for j in picks])
            _, total = false_count(report, None)
            null_fdp[days].append(float(total > 0))
            null_by_tags[k].append(float(total > 0))
            flags, _ = pearson_flags(c)
            null_naive[days].append(float(flags.any()))

    elapsed = time.perf_counter() - t_start
    print(f"Pattern detection quality: {per_cell} cohorts per cell (null: {2 * per_cell} per length), seed {args.seed}")
    print(
        f"base rate {BASE_RATE}/day; planted exposure on {PLANTED_SHARE:.0%} of days, 6 null exposures on "
        f"{NULL_SHARE[0]:.0%}-{NULL_SHARE[1]:.0%}; {N_TESTS} exposure x lag tests; values are mean±Monte Carlo SE"
    )
    print()
    print("Recall of the planted exposure (same day, more episodes when exposed)")
    header = (
        f"{'RR':>4} {'days':>4} | {'pipeline':>11} {'bonf 0.05/14':>12} {'oracle 0.05':>11} | "
        f"{'suspected':>11} {'or1 0.025':>11} {'or2 0.025':>11} | {'other-susp':>11} | {'naive r':>11}"
    )
    print(header)
    print("-" * len(header))
    t1_ok = t2_ok = True
    unjudged = 0
    for (rr, days), cell in cells.items():
        main_m, _ = mean_se(cell.main)
        bonf_m, _ = mean_se(cell.bonf)
        sus_m, _ = mean_se(cell.suspected)
        or1_m, _ = mean_se(cell.oracle25_one)
        ok1 = main_m >= bonf_m
        judged = sum(cell.oracle25_one) >= MIN_ORACLE_HITS
        ok2 = sus_m >= 0.9 * or1_m or not judged
        unjudged += not judged
        t1_ok &= ok1
        t2_ok &= ok2
        print(
            f"{rr:>4} {days:>4} | {fmt(cell.main)} {fmt(cell.bonf):>12} {fmt(cell.oracle)} | "
            f"{fmt(cell.suspected)} {fmt(cell.oracle25_one)} {fmt(cell.oracle25_two)} | {fmt(cell.other)} | "
            f"{fmt(cell.naive)}  {'ok' if ok1 and ok2 else 'MISS'}{'' if judged else ' (2: too few)'}"
        )
    print()
    print("Paired difference pipeline - Bonferroni oracle (main), cohorts where only one of them found it:")
    for (rr, days), cell in cells.items():
        d = np.asarray(cell.main, float) - np.asarray(cell.bonf, float)
        print(
            f"  RR {rr} {days:>3} d: {d.mean():+.3f}±{d.std(ddof=1) / math.sqrt(d.size):.3f} "
            f"(pipeline only {int((d > 0).sum())}, oracle only {int((d < 0).sum())})"
        )
    print()
    print("False findings")
    all_null = [v for d in DAYS for v in null_fdp[d]]
    for d in DAYS:
        print(
            f"  null cohorts, {d:>3} days: any finding (FDP) pipeline {fmt(null_fdp[d])}   naive r {fmt(null_naive[d])}"
        )
    for k, v in null_by_tags.items():
        print(f"  null cohorts tagging {k} suspected trigger(s): pipeline {fmt(v)}")
    naive_null = [v for d in DAYS for v in null_naive[d]]
    print(f"  null cohorts, all: pipeline {fmt(all_null)}   naive r {fmt(naive_null)}")
    print("  planted cohorts, share of findings that are false (information; the planted effect makes the other")
    print("  exposures' daily counts overdispersed, which the Poisson test does not model):")
    for rr in RATE_RATIOS:
        group = [cell for (r, _), cell in cells.items() if r == rr]
        main_v = [v for cell in group for v in cell.fdp_main]
        other_v = [v for cell in group for v in cell.fdp_other]
        sup_v = [v for cell in group for v in cell.false_supported]
        naive_v = [v for cell in group for v in cell.fdp_naive]
        print(
            f"    RR {rr}: pipeline main {fmt(main_v)}, other-susp {fmt(other_v)} "
            f"(wrong suspect supported {fmt(sup_v)})   naive r {fmt(naive_v)}"
        )
    print()
    print(
        f"Statistic: {p_checks} planted-exposure p-values compared with scipy.stats.binomtest "
        f"(two-sided discovery, one-sided suspected): {p_mismatch} differ"
    )
    print(f"analyse: {analyse_n} calls, mean {1000 * analyse_s / max(analyse_n, 1):.2f} ms; run took {elapsed:.1f} s")
    print()
    fdp_mean, _ = mean_se(all_null)
    targets = [
        ("1 main recall >= Bonferroni oracle (0.05/14) in every cell", t1_ok),
        (
            "2 suspected recall >= 90% of single-test oracle (one-sided 0.025) in every cell"
            + (f" ({unjudged} cell(s) with under {MIN_ORACLE_HITS} oracle hits not judged)" if unjudged else ""),
            t2_ok,
        ),
        (f"3 FDP on null cohorts <= 0.05 (measured {fdp_mean:.3f})", fdp_mean <= 0.05),
        ("4 statistic = exact conditional test (p-values match scipy binomtest)", p_mismatch == 0 and p_checks > 0),
    ]
    for name, ok in targets:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    failed = not all(ok for _, ok in targets)
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
