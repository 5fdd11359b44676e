"""The diary app's models live in their concern's subpackage; Django finds them through here."""

from diary.alerts.models import Alert
from diary.checkins.models import CheckIn, WaterIntake
from diary.episodes.models import Episode
from diary.outbox.models import OutboxEvent
from diary.sync.models import SyncState

__all__ = ["Alert", "CheckIn", "Episode", "OutboxEvent", "SyncState", "WaterIntake"]
