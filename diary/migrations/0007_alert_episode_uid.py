"""Alert.episode_id -> episode_uid: an episode's uid, not a foreign key, as Django's ``_id`` suffix
suggested. A rename, so stored alerts keep their episode; the sync wire still calls it episode_id."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("diary", "0006_access_log"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="alert", name="alert_once_per_episode_rule"),
        migrations.RenameField(model_name="alert", old_name="episode_id", new_name="episode_uid"),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.UniqueConstraint(
                condition=models.Q(("episode_uid__isnull", False)),
                fields=("user", "episode_uid", "rule"),
                name="alert_once_per_episode_rule",
            ),
        ),
    ]
