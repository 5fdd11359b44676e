"""The diary app's models live in their concern's subpackage; Django finds them through here."""

from diary.alerts.models import Alert, ThresholdChange, ThresholdOverride
from diary.checkins.models import CheckIn, WaterIntake
from diary.episodes.models import Episode
from diary.outbox.models import OutboxEvent
from diary.patterns.models import InsightsDue, InsightSnapshot
from diary.reports.models import ReportLink, ReportLinkView
from diary.sharing.models import AccessLog, Share
from diary.sync.models import SyncState

__all__ = [
    "AccessLog",
    "Alert", "CheckIn", "Episode", "InsightSnapshot", "InsightsDue", "OutboxEvent", "ReportLink", "ReportLinkView",
    "Share", "SyncState", "ThresholdChange", "ThresholdOverride", "WaterIntake",
]  # fmt: skip
