from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "diary.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Registers the outbox handler that sends password reset mail.
        from diary.accounts import password_reset  # noqa: F401
