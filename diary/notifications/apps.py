from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """The notifications layer (inbox, devices, push delivery), below reminders and alerts."""

    name = "diary.notifications"
    label = "notifications"
    verbose_name = "Notifications"
