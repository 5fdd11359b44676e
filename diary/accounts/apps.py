from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "diary.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib import admin

        from diary.accounts.signin_limits import throttle_admin_signin  # registers the failed sign-in receiver

        throttle_admin_signin(admin.site)
