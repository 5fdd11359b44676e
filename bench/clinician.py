"""The clinician patient page and its PDF for a patient with 5 years of data, on PostgreSQL.

    .venv/bin/python -m bench.clinician [--check] [--rounds 5]

PostgreSQL from DATABASE_URL (default: the diary_bench database, created if missing). One patient with
5,000 episodes and 1,800 check-ins over 5 years shares everything with a clinician; the clinician (past
the second factor) requests the page and the PDF through Django's test client (middleware, session,
view, template, charts, WeasyPrint). Printed: median times, the SQL query counts, and as the baseline
measured in the same run the time to just read the patient's episodes the page reads; and the share's
insights (computed over its window on the first read after a write, then cached). Target: page and PDF
each under 1 second.
"""

from __future__ import annotations

import argparse
import os
import statistics
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
from diary.reports.insights import share_insights  # noqa: E402
from diary.sharing.scoped import scoped_episodes  # noqa: E402
from diary.sharing.services import share_invite, share_redeem  # noqa: E402

DOMAINS = ("@bench-patterns.invalid", "@bench-clinician.invalid")
LIMIT_S = 1.0


def cleanup() -> None:
    for domain in DOMAINS:
        for user in User.objects.filter(email__endswith=domain):
            user.delete()


def timed(fn: Any, rounds: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
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
        page, _ = timed(lambda: client.get(page_url), args.rounds)
        pdf, response = timed(lambda: client.get(pdf_url), args.rounds)
        with CaptureQueriesContext(connection) as page_q:
            client.get(page_url)
        with CaptureQueriesContext(connection) as pdf_q:
            client.get(pdf_url)
    finally:
        cleanup()
    ok = page < LIMIT_S and pdf < LIMIT_S
    print(f"patient with {len(rows):,} episodes over 5 years: page {page * 1000:.0f} ms ({len(page_q)} queries), "
          f"PDF {pdf * 1000:.0f} ms ({len(pdf_q)} queries, {len(response.content) // 1024} KiB); "
          f"reading the episodes alone {read * 1000:.0f} ms (page/read {page / read:.1f}, PDF/read {pdf / read:.1f}); "
          f"the share's insights {cold * 1000:.0f} ms computed, {warm * 1000:.1f} ms cached; "
          f"target each under {LIMIT_S:g} s {'PASS' if ok else 'FAIL'}")  # fmt: skip
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
