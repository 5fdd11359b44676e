from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "reminders"
    verbose_name = "Reminders"

    def ready(self) -> None:
        # Registers the outbox handlers: answers to notifications, adaptive hydration, suggestions.
        from reminders import handlers, inbox  # noqa: F401
