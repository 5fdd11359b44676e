"""The page the password-reset email links to (``/reset-password?uid=…&token=…``): it sets a new
password through the same service as the API (same validation; the link works once and expires),
which signs out every session and token of the account."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from diary.accounts.password_reset import RESET_LINK_INVALID, password_reset_confirm, password_reset_user
from diary.core.errors import DomainValidationError

TEMPLATE = "registration/reset_password.html"


@never_cache
@sensitive_post_parameters("new_password", "new_password_again")
def reset_password(request: HttpRequest) -> HttpResponse:
    uid = request.POST.get("uid") or request.GET.get("uid", "")  # the form's hidden fields, else the link
    token = request.POST.get("token") or request.GET.get("token", "")
    if password_reset_user(uid=uid, token=token) is None:
        return render(request, TEMPLATE, {"invalid": RESET_LINK_INVALID}, status=400)
    errors: list[str] = []
    if request.method == "POST":
        new = request.POST.get("new_password", "")
        if new != request.POST.get("new_password_again", ""):
            errors = ["The two passwords do not match."]
        else:
            try:
                password_reset_confirm(uid=uid, token=token, new_password=new)
            except DomainValidationError as exc:
                errors = [reason for reasons in exc.details.values() for reason in reasons]
            else:
                return render(request, TEMPLATE, {"done": True})
    return render(request, TEMPLATE, {"uid": uid, "token": token, "errors": errors}, status=400 if errors else 200)
