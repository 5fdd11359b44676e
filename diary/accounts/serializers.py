from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from diary.accounts.models import User
from diary.core.fields import is_zone


def _zone(value: str) -> None:
    if not is_zone(value):
        raise serializers.ValidationError(f"{value[:60]!r} is not an IANA time zone (e.g. Europe/Berlin)")


def _zone_or_blank(value: str) -> None:
    if value:
        _zone(value)


@extend_schema_field({"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$", "example": "07:00"})
class HHMMField(serializers.TimeField):
    """A local clock time as ``HH:MM``, in and out (not RFC 3339's ``full-time``, which has seconds and an offset)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", input_formats=["%H:%M"], **kwargs)


class RegisterIn(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=256, style={"input_type": "password"})
    timezone = serializers.CharField(max_length=64, validators=[_zone], help_text="IANA zone, e.g. Europe/Berlin")
    home_timezone = serializers.CharField(max_length=64, required=False, allow_blank=True, validators=[_zone_or_blank])
    wake_time = HHMMField(required=False, help_text="start of the waking window, HH:MM local")
    sleep_time = HHMMField(required=False, help_text="end of the waking window, HH:MM local")
    display_name = serializers.CharField(max_length=120, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("wake_time") and attrs.get("wake_time") == attrs.get("sleep_time"):
            raise serializers.ValidationError({"sleep_time": ["must differ from wake_time"]})
        return attrs


class MeSerializer(serializers.ModelSerializer[User]):
    timezone = serializers.CharField(max_length=64, validators=[_zone], required=False)
    home_timezone = serializers.CharField(max_length=64, validators=[_zone_or_blank], required=False, allow_blank=True)
    device_timezone = serializers.CharField(
        max_length=64, validators=[_zone_or_blank], required=False, allow_blank=True,
        help_text="the zone the device is in now (the app reports it when it changes)",
    )  # fmt: skip
    wake_time = HHMMField(required=False)
    sleep_time = HHMMField(required=False)

    class Meta:
        model = User
        fields = [
            "email", "display_name", "timezone", "home_timezone", "device_timezone",
            "wake_time", "sleep_time", "emergency_contact_name", "emergency_contact_email", "is_clinician",
            "date_joined",
        ]  # fmt: skip
        read_only_fields = ["email", "is_clinician", "date_joined"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        wake = attrs.get("wake_time", getattr(self.instance, "wake_time", None))
        sleep = attrs.get("sleep_time", getattr(self.instance, "sleep_time", None))
        if wake is not None and wake == sleep:
            raise serializers.ValidationError({"sleep_time": ["must differ from wake_time"]})
        name = attrs.get("emergency_contact_name", getattr(self.instance, "emergency_contact_name", ""))
        email = attrs.get("emergency_contact_email", getattr(self.instance, "emergency_contact_email", ""))
        if email and not name:
            raise serializers.ValidationError({"emergency_contact_name": ["name the contact as well as the email"]})
        if name and not email:
            raise serializers.ValidationError({"emergency_contact_email": ["give the contact's email as well"]})
        return attrs


class TokenPairOut(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RegisterOut(serializers.Serializer):
    user = MeSerializer()
    access = serializers.CharField()
    refresh = serializers.CharField()


class RefreshIn(serializers.Serializer):
    refresh = serializers.CharField()


class PasswordChangeIn(serializers.Serializer):
    old_password = serializers.CharField(max_length=256)
    new_password = serializers.CharField(max_length=256)


class PasswordResetIn(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetConfirmIn(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(max_length=256)
