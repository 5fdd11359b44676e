"""Clinician web pages (session login + TOTP): the second factor, the triage list, redeeming a code."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from diary.accounts.request_user import request_user
from diary.accounts.totp import SESSION_KEY, session_passed_totp, totp_attempt, totp_device, totp_uri, wait_text
from diary.clinician.triage import triage_read
from diary.core.words import KINDS
from diary.reports.patient import share_spec
from diary.reports.pdf import report_pdf
from diary.reports.report import PDF_ROWS, PDF_ROWS_WITH_NOTES, report_context
from diary.sharing.access import clinician_share
from diary.sharing.services import share_redeem

View = Callable[..., HttpResponse]


def clinician_page(view: View) -> View:
    """Signed in, a clinician, and past the second factor in this session."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request_user(request)
        if not user.is_clinician:
            return HttpResponseForbidden("Only clinician accounts review shared diaries.")
        if not session_passed_totp(request, user):
            return redirect(f"/clinician/2fa/?next={request.get_full_path()}")
        return view(request, *args, **kwargs)

    return wrapped


@login_required
def second_factor(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.is_clinician:
        return HttpResponseForbidden("Only clinician accounts review shared diaries.")
    device = totp_device(user=user)
    error = ""
    if request.method == "POST":
        outcome = totp_attempt(user=user, code=request.POST.get("code", ""))
        if outcome.ok:
            request.session.cycle_key()  # a new session id once the second factor is in
            request.session[SESSION_KEY] = user.pk
            target = request.GET.get("next") or "/clinician/"
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = "/clinician/"
            return redirect(target)
        elif outcome.retry_after:  # throttled per account: says only when to try again
            error = wait_text(outcome.retry_after)
        else:
            error = "That code did not match. Codes change every 30 seconds and work once."
    context = {"enrolled": device.confirmed_at is not None, "secret": device.secret, "uri": totp_uri(device, user),
               "error": error}  # fmt: skip
    return render(request, "clinician/second_factor.html", context)


@clinician_page
def triage(request: HttpRequest) -> HttpResponse:
    return render(request, "clinician/triage.html", {"rows": triage_read(clinician=request_user(request))})


@clinician_page
def redeem(request: HttpRequest) -> HttpResponse:
    error = ""
    code = request.GET.get("code", "")
    if request.method == "POST":
        code = request.POST.get("code", "")
        try:
            share = share_redeem(clinician=request_user(request), code=code)
        except Http404:
            error = "That code is not valid: it may be mistyped, used, expired or withdrawn."
        else:
            return redirect(f"/clinician/?redeemed={share.uid}")
    return render(request, "clinician/redeem.html", {"code": code, "error": error})


@clinician_page
def patient(request: HttpRequest, pid: str) -> HttpResponse:
    """One patient: charts, the episode table (filter by kind and date) and alerts, within the share."""
    share = clinician_share(request, pid, "episodes", "page")
    kind = request.GET.get("kind") or None
    try:
        since = dt.date.fromisoformat(request.GET["from"]) if request.GET.get("from") else None
    except ValueError:
        since = None
    spec = share_spec(share, request_user(request), kind=kind if kind in KINDS else None, since=since)
    return render(request, "clinician/patient.html", report_context(spec))


@clinician_page
def patient_pdf(request: HttpRequest, pid: str) -> HttpResponse:
    """The same page as a 1-2 page PDF for a consultation (WeasyPrint)."""
    share = clinician_share(request, pid, "episodes", "pdf")
    rows = PDF_ROWS_WITH_NOTES if "notes" in share.scopes else PDF_ROWS
    pdf = report_pdf(report_context(share_spec(share, request_user(request), rows=rows)))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="diary-{share.uid}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
