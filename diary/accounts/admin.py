from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from diary.accounts.models import User
from diary.accounts.signin_limits import throttle_admin_signin


@admin.register(User)
class UserAdmin(BaseUserAdmin):
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


# The admin's sign-in page gets the same limits as the web and API sign-in. Here rather than in
# AppConfig.ready(): the admin imports every app's admin module once the apps are loaded, in every
# process, and importing signin_limits also registers its failed sign-in receiver.
throttle_admin_signin(admin.site)
