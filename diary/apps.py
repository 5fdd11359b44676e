from django.apps import AppConfig
from django.core import checks

from diary.outbox.checks import routes_resolve


class DiaryConfig(AppConfig):
    name = "diary"
    verbose_name = "Diary"

    def ready(self) -> None:
        # Outbox handlers are named in diary/outbox/routes.py, not registered here; this only
        # makes ``manage.py check`` resolve them all.
        checks.register(routes_resolve)
