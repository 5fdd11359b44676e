from django.apps import AppConfig
from django.utils.module_loading import import_string


class AccountsConfig(AppConfig):
    name = "diary.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # By path: the module imports the models, which cannot load before the apps are ready.
        import_string("diary.accounts.account_cache.watch_accounts")()
