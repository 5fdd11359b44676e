from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "diary.accounts"
    label = "accounts"
    verbose_name = "Accounts"
