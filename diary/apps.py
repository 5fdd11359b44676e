from django.apps import AppConfig
from django.core import checks
from django.utils.module_loading import import_string

# Outbox handlers (diary/outbox/routes.py) and synced tables (diary/sync/registry.py) are named by
# dotted path, not registered at start-up; these checks make ``manage.py check`` resolve them all.
# Named by path too: they read modules that import models, which cannot load before the apps are ready.
CHECKS = ("diary.outbox.checks.routes_resolve", "diary.sync.checks.tables_resolve")


class DiaryConfig(AppConfig):
    name = "diary"
    verbose_name = "Diary"

    def ready(self) -> None:
        for path in CHECKS:
            checks.register(import_string(path))
