from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from diary.accounts.models import User
from diary.accounts.services import user_make_clinician
from diary.core.errors import DomainValidationError


class Command(BaseCommand):
    help = "Mark an existing account as a clinician (refuses accounts that keep a diary)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--allow-diary", action="store_true", help="also for an account with diary entries")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = User.objects.filter(email__iexact=opts["email"]).first()
        if user is None:
            raise CommandError(f"no account with email {opts['email']}")
        try:
            user_make_clinician(user=user, allow_diary=opts["allow_diary"])
        except DomainValidationError as exc:
            raise CommandError("; ".join(exc.details["email"])) from None
        self.stdout.write(self.style.SUCCESS(f"{user.email} is now a clinician"))
