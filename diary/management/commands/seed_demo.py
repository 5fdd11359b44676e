from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from diary.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo person (90 days of diary) and the demo clinician, unless they exist."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=90)

    def handle(self, *args: Any, **opts: Any) -> None:
        logins = seed_demo(days=opts["days"])
        self.stdout.write(f"demo person {logins.patient[0]}, demo clinician {logins.clinician[0]}")
