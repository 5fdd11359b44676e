"""The report for a patient with 5 years of data: the clinician's page and PDF, and the person's own
report PDF (the same renderer), on PostgreSQL.

    .venv/bin/python -m bench.clinician [--check] [--rounds 5]

PostgreSQL from DATABASE_URL (default: the diary_bench database, created if missing). One patient with
5,000 episodes and 1,800 check-ins over 5 years shares everything with a clinician; the clinician (past
the second factor) requests the page and the PDF through Django's test client (middleware, session,
view, template, charts, WeasyPrint); the person's report is ``report_pdf(report_context(person_spec))``
over the same 5 years. Printed: median wall times (and this process's CPU time: the machine is shared), the SQL query counts, the PDF's pages and size, and
as the baseline measured in the same run the time to read the share's episodes (``scoped_episodes``:
every row of the 5 years as model instances, what the page used to read), with each surface's ratio to it, so a busy machine shows in the baseline too;
and the share's insights (computed over its window on the first read after a write, then cached).
Targets (issue 17 item 6, issue 18 item 8): page under 0.5 s, each PDF under 1 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from typing import Any

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/diary_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("DEBUG", "0")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
warnings.filterwarnings("ignore")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.common import ensure_database  # noqa: E402
from bench.patterns import person  # noqa: E402
from diary.accounts.models import User  # noqa: E402
from diary.accounts.services import user_make_clinician, user_register  # noqa: E402
from diary.accounts.totp import SESSION_KEY  # noqa: E402
from diary.patterns.services import insights_run  # noqa: E402
from diary.reports import pdf as report_pdf_module  # noqa: E402
from diary.reports.insights import share_insights  # noqa: E402
from diary.reports.patient import share_spec  # noqa: E402
from diary.reports.pdf import report_pdf  # noqa: E402
from diary.reports.report import person_spec, report_context  # noqa: E402
from diary.sharing.scoped import scoped_episodes  # noqa: E402
from diary.sharing.services import share_invite, share_redeem  # noqa: E402

DOMAINS = ("@bench-patterns.invalid", "@bench-clinician.invalid")
PAGE_LIMIT_S, PDF_LIMIT_S = 0.5, 1.0


def cleanup() -> None:
    for domain in DOMAINS:
        for user in User.objects.filter(email__endswith=domain):
            user.delete()


CPU: dict[str, float] = {}  # label -> median CPU s of this process (the client and the whole Django side)


def timed(fn: Any, rounds: int, label: str = "") -> tuple[float, Any]:
    """Median wall time of ``fn`` (and its median CPU time in ``CPU[label]``), and its last result."""
    times, cpu, out = [], [], None
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    CPU[label] = statistics.median(cpu)
    return statistics.median(times), out


def pages(pdf: bytes) -> str:
    """The PDF's page count by poppler's ``pdfinfo`` (the tests install poppler-utils), or "?"."""
    if shutil.which("pdfinfo") is None:
        return "?"
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=False).stdout.decode()
    return next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "?")


def pdf_variants(context: dict[str, Any], rounds: int) -> dict[str, tuple[float, float]]:
    """CPU time of rendering the clinician PDF (context -> bytes) as built and without each of its
    speed-ups, interleaved round by round so load from elsewhere falls on all alike: {label: (median
    CPU s, the as-built median)}."""
    import weasyprint.pdf.fonts as wp_fonts
    from django.template.loader import render_to_string
    from weasyprint import HTML

    subset = wp_fonts.harfbuzz_subset

    def fonttools() -> bytes:
        wp_fonts.harfbuzz_subset = None  # WeasyPrint falls back to fontTools, as without libharfbuzz-subset0
        try:
            return report_pdf(context)
        finally:
            wp_fonts.harfbuzz_subset = subset

    def fresh_fonts() -> bytes:
        report_pdf_module._local.fonts = None  # a new FontConfiguration, as for a PDF in a new process
        return report_pdf(context)

    def inline_svg() -> bytes:  # the charts as inline <svg> markup, not images; the table laid out by content
        html = render_to_string("reports/report_pdf.html", context).replace("table-layout: fixed", "")
        return HTML(string=html).write_pdf(font_config=report_pdf_module._local.fonts)  # type: ignore[no-any-return]

    runs: dict[str, Any] = {
        "as built": lambda: report_pdf(context), "with fontTools subsetting (no libharfbuzz-subset0)": fonttools,
        "with a new font configuration each time": fresh_fonts, "with inline SVG and an auto-width table": inline_svg,
    }  # fmt: skip
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(rounds):
        for label, fn in runs.items():
            started = time.process_time()
            fn()
            times[label].append(time.process_time() - started)
    base = statistics.median(times["as built"])
    return {k: (statistics.median(v), base) for k, v in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", action="store_true", help="also time the PDF without each speed-up")
    args = parser.parse_args()
    ensure_database()
    cleanup()
    try:
        patient = person("clinician-bench", days=5 * 365, episodes=5000, checkins=1800, seed=3)
        insights_run(user=patient)
        doctor = user_make_clinician(
            user=user_register(
                email=f"doc{DOMAINS[1]}",
                password="a sturdy pass phrase 42",
                timezone="Europe/Berlin",
                default_reminders=False,
            )
        )
        share, code = share_invite(patient=patient, data={"scopes": ["episodes", "checkins", "insights", "alerts"]})
        share_redeem(clinician=doctor, code=code)
        client = Client()
        client.force_login(doctor)
        session = client.session
        session[SESSION_KEY] = doctor.pk  # past the second factor
        session.save()
        page_url, pdf_url = f"/clinician/patients/{share.uid}/", f"/clinician/patients/{share.uid}/report.pdf"
        assert client.get(page_url).status_code == 200 and client.get(pdf_url).status_code == 200  # warm-up
        read, rows = timed(lambda: scoped_episodes(share), args.rounds)
        # Insights over the share's window (never the whole-diary snapshot): cold after a write, then cached.
        cold, _ = timed(lambda: share_insights(share, cached_ok=False), args.rounds)
        warm, _ = timed(lambda: share_insights(share), args.rounds)
        page, _ = timed(lambda: client.get(page_url), args.rounds, "page")
        pdf, response = timed(lambda: client.get(pdf_url), args.rounds, "pdf")
        own_spec = person_spec(patient, start=None, end=None, notes=False)
        own, own_pdf = timed(lambda: report_pdf(report_context(own_spec)), args.rounds, "own")
        variants = (
            pdf_variants(report_context(share_spec(share, doctor, rows=25)), args.rounds) if args.variants else {}
        )
        with CaptureQueriesContext(connection) as page_q:
            client.get(page_url)
        with CaptureQueriesContext(connection) as pdf_q:
            client.get(pdf_url)
    finally:
        cleanup()
    ok = page < PAGE_LIMIT_S and pdf < PDF_LIMIT_S and own < PDF_LIMIT_S
    print(
        f"patient with {len(rows):,} episodes over 5 years; reading the share's episodes (the baseline) "
        f"{read * 1000:.0f} ms"
    )
    print(
        f"  clinician page {page * 1000:.0f} ms ({CPU['page'] * 1000:.0f} ms CPU, {len(page_q)} queries; page/read {page / read:.2f}; "
        f"target under {PAGE_LIMIT_S:g} s)"
    )
    print(
        f"  clinician PDF {pdf * 1000:.0f} ms ({CPU['pdf'] * 1000:.0f} ms CPU, {len(pdf_q)} queries, {pages(response.content)} pages, "
        f"{len(response.content) // 1024} KiB; PDF/read {pdf / read:.2f}; target under {PDF_LIMIT_S:g} s)"
    )
    print(
        f"  the person's report PDF {own * 1000:.0f} ms ({CPU['own'] * 1000:.0f} ms CPU, {pages(own_pdf)} pages; "
        f"own/read {own / read:.2f})"
    )
    print(f"  the share's insights {cold * 1000:.0f} ms computed, {warm * 1000:.1f} ms cached")
    for label, (cpu, base) in variants.items():
        print(f"  PDF {label}: {cpu * 1000:.0f} ms of CPU ({cpu / base:.2f}x the PDF as built)")
    print(f"targets {'PASS' if ok else 'FAIL'}")
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
