"""Soak the embedded default: ``scripts/dev.py run`` under parallel clients, with reminders due every minute.

    .venv/bin/python -m bench.embedded_soak                 # 5 minutes, 4 clients
    .venv/bin/python -m bench.embedded_soak --seconds 60
    .venv/bin/python -m bench.embedded_soak --database-url postgres://postgres@127.0.0.1:5432/diary_soak

Starts the run command for real (SQLite and the filesystem broker in a fresh var dir, on a free port;
with ``--database-url`` the dev run on that PostgreSQL database instead, to count its connections),
writes episodes, check-ins and sync pushes over HTTP from each client, then checks (tests/support/soak.py):
no child restarted, no 5xx, every write stored exactly once, every due reminder in the inbox, and
the bad broker messages it drops set aside. Prints the figures; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import sys

from tests.support.soak import Result, soak


def report(r: Result) -> str:
    total = sum(r.requests.values())
    lines = [
        f"embedded soak: {r.clients} clients, {r.seconds:.0f} s",
        f"  requests       {total} ({total / r.seconds:.1f}/s); "
        + ", ".join(f"{kind} {n}" for kind, n in sorted(r.requests.items())),
        f"  latency        p50 {r.percentile(None, 0.5) * 1000:.0f} ms, p95 {r.percentile(None, 0.95) * 1000:.0f} ms",
    ]
    lines += [
        f"    {kind:<12} p50 {r.percentile(kind, 0.5) * 1000:.0f} ms, p95 {r.percentile(kind, 0.95) * 1000:.0f} ms"
        for kind in sorted(r.latencies)
    ]
    lines += [
        f"  statuses       {dict(sorted(r.statuses.items()))}",
        f"  rows written   {dict(sorted(r.written.items()))} (each checked stored exactly once)",
        f"  reminders      {r.reminders_found} of {r.reminders_due} due in the inbox",
        f"  bad messages   {r.bad_messages[1]} of {r.bad_messages[0]} dropped into the queue set aside",
        f"  restarts       {sum(r.restarts.values())} {dict(r.restarts) or ''}".rstrip(),
    ]
    if r.max_db_connections is not None:
        lines.append(f"  PostgreSQL     at most {r.max_db_connections} connections")
    lines.append(
        "  result         " + ("FAILED:\n    - " + "\n    - ".join(r.failures) if r.failures else "all checks held")
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=300.0, help="how long the clients write (default 300)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between one client's operations")
    parser.add_argument("--database-url", default=None, help="run the dev server on this PostgreSQL database")
    args = parser.parse_args()
    if not 10 <= args.seconds <= 2 * 3600:
        parser.error("--seconds must be between 10 and 7200 (the reminder rules cover two hours)")
    result = soak(seconds=args.seconds, clients=args.clients, interval=args.interval, database_url=args.database_url)
    print(report(result), flush=True)
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
