from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from backend import health, views
from diary.accounts import web as accounts_web
from diary.accounts.signin_limits import SigninView
from diary.clinician import web as clinician_web
from diary.reports import link_web

urlpatterns = [
    path("", views.home, name="home"),
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own: no inline script (CSP).
    re_path(r"^api/docs/?$", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include("diary.urls")),
    path("accounts/login/", SigninView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    re_path(r"^reset-password/?$", accounts_web.reset_password, name="reset-password"),  # the emailed link
    path("admin/", admin.site.urls),
    re_path(r"^clinician/?$", clinician_web.triage, name="clinician-triage"),
    re_path(r"^clinician/2fa/?$", clinician_web.second_factor, name="clinician-2fa"),
    re_path(r"^clinician/redeem/?$", clinician_web.redeem, name="clinician-redeem"),
    re_path(r"^clinician/patients/(?P<pid>[A-Za-z0-9_-]+)/?$", clinician_web.patient, name="clinician-patient"),
    re_path(
        r"^clinician/patients/(?P<pid>[A-Za-z0-9_-]+)/report\.pdf$", clinician_web.patient_pdf, name="clinician-pdf"
    ),
    # A doctor link (the token is its only credential: never logged, see backend/logs.py).
    re_path(r"^r/(?P<token>[A-Za-z0-9_-]{1,100})/$", link_web.link_page, name="report-link"),
    re_path(r"^r/(?P<token>[A-Za-z0-9_-]{1,100})/report\.pdf$", link_web.link_pdf, name="report-link-pdf"),
]

handler400 = "backend.views.bad_request"
handler404 = "backend.views.not_found"
handler500 = "backend.views.server_error"
