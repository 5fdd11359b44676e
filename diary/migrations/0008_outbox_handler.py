"""One outbox row per handler: ``OutboxEvent.handler`` names the routed handler a row runs.

Rows already in the table keep a blank handler. Processing such a row (the sweeper sends it within a
minute) splits it into one row per handler of its topic, as written now, and marks it done, so
nothing pending is lost or run twice (diary/outbox/services.py, ``_split``). The column's database
default is blank too, so a process still running the previous release during a rolling deploy keeps
inserting rows (blank: split when processed) instead of failing the person's write."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("diary", "0007_alert_episode_uid"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxevent",
            name="handler",
            field=models.CharField(blank=True, db_default="", default="", max_length=200),
        ),
    ]
