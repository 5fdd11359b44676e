"""Accounts in the admin, under the same rules as everywhere: the clinician flag obeys
``make_clinician``'s guard, and a lost authenticator is reset by an audited action."""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest

from diary.accounts.models import User
from diary.accounts.services import user_keeps_diary, user_make_clinician, user_totp_reset
from diary.accounts.signin_limits import throttle_admin_signin

log = logging.getLogger(__name__)
KEEPS_DIARY = "This account keeps a diary: use a separate clinician account (as manage.py make_clinician says)."


class UserChangeIn(UserChangeForm):  # type: ignore[type-arg]
    def clean_is_clinician(self) -> bool:
        value = bool(self.cleaned_data.get("is_clinician"))
        if value and not self.instance.is_clinician and user_keeps_diary(self.instance):
            raise forms.ValidationError(KEEPS_DIARY)
        return value


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeIn
    actions = ["reset_totp"]
    ordering = ["email"]
    list_display = ["email", "display_name", "timezone", "is_clinician", "is_staff", "date_joined"]
    list_filter = ["is_clinician", "is_staff", "is_active"]
    search_fields = ["email", "display_name"]
    fieldsets = (
        (None, {"fields": ("email", "password", "display_name")}),
        ("Time", {"fields": ("timezone", "home_timezone", "device_timezone", "wake_time", "sleep_time")}),
        ("Roles", {"fields": ("is_clinician", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "timezone", "password1", "password2")}),)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        becomes_clinician = change and "is_clinician" in form.changed_data and obj.is_clinician
        if becomes_clinician:
            obj.is_clinician = False  # set below by the service, with its guard and its outbox intent
        super().save_model(request, obj, form, change)
        if not change:  # the add form saves the row itself, not through the manager
            User.objects.sync_state_ensure(obj)
        if becomes_clinician:
            user_make_clinician(user=obj)

    @admin.action(description="Reset the authenticator app (TOTP): the clinician enrols again")
    def reset_totp(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset.filter(is_clinician=True):
            had = user_totp_reset(user=user)
            message = "Reset the authenticator app (TOTP); every token ended" + ("" if had else " (none enrolled)")
            self.log_change(request, user, message)
            log.warning("totp reset by admin: user %s by admin %s", user.pk, getattr(request.user, "pk", None))
        self.message_user(request, "Reset: those clinicians enrol a new authenticator at their next sign-in.",
                          messages.SUCCESS)  # fmt: skip


# The admin's sign-in page gets the same limits as the web and API sign-in. Here rather than in
# AppConfig.ready(): the admin imports every app's admin module once the apps are loaded, in every
# process, and importing signin_limits also registers its failed sign-in receiver.
throttle_admin_signin(admin.site)
