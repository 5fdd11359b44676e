from django.apps import AppConfig


class DiaryConfig(AppConfig):
    name = "diary"
    verbose_name = "Diary"

    def ready(self) -> None:
        # Registers the red-flag outbox handlers (episode and check-in writes, alert emails).
        from diary.alerts import handlers  # noqa: F401
        from diary.patterns import handlers as pattern_handlers  # noqa: F401
