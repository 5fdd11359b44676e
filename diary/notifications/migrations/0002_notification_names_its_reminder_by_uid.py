"""Item 4 of issue 13: a notification names its reminder once, by uid (``reminder_id``, as on the
sync wire), not also by a foreign key to the reminders feature. One inbox row per firing is now
unique on (person, reminder uid, scheduled_for)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='notification',
            name='notification_once_per_fire',
        ),
        migrations.RemoveField(
            model_name='notification',
            name='rule',
        ),
        migrations.AddConstraint(
            model_name='notification',
            constraint=models.UniqueConstraint(condition=models.Q(('reminder_id__isnull', False)), fields=('user', 'reminder_id', 'scheduled_for'), name='notification_once_per_fire'),
        ),
    ]
