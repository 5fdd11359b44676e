"""Faults under load: restart Redis, restart PostgreSQL and SIGKILL the worker while people write.

    .venv/bin/python -m bench.faults [--duration 90] [--people 3] [--recovery 150] [--logs DIR]

Runs the scenario of tests/support/faults (its docstring says what happens and what is checked) on
private PostgreSQL and Redis servers, prints the timeline and each check. Exit status 1 when a check
fails, 2 when the scenario cannot run (no PostgreSQL server binaries or redis-server installed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support.faults import Config, Report, ServiceMissing, run


def main(argv: list[str] | None = None, *, runner: Callable[[Config], Report] = run) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=Config.duration_s, help="seconds of load (default 90)")
    parser.add_argument("--people", type=int, default=Config.people, help="client threads, one person each")
    parser.add_argument("--recovery", type=float, default=Config.recovery_s, help="longest wait for the work to drain")
    parser.add_argument("--logs", type=Path, default=None, help="keep the app's logs in this directory")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    config = Config(duration_s=args.duration, people=args.people, recovery_s=args.recovery, logdir=args.logs,
                    verbose=not args.quiet)  # fmt: skip
    try:
        report = runner(config)
    except (ServiceMissing, ValueError) as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        return 2
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
