"""The inbox, devices and push deliveries, taken over from the reminders app: state only, since
the tables were created by reminders 0001-0002 and keep their names (Meta.db_table)."""


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('reminders', '0003_notifications_move_out'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # State only: the tables, their names and their data stay where they are.
            state_operations=[
                migrations.CreateModel(
                    name='Device',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('uid', models.CharField(max_length=36)),
                        ('platform', models.CharField(choices=[('webpush', 'webpush'), ('fcm', 'fcm'), ('apns', 'apns')], max_length=8)),
                        ('token', models.TextField()),
                        ('keys', models.JSONField(blank=True, default=dict)),
                        ('label', models.CharField(blank=True, max_length=120)),
                        ('active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('last_success_at', models.DateTimeField(blank=True, null=True)),
                        ('deactivated_at', models.DateTimeField(blank=True, null=True)),
                        ('last_error', models.TextField(blank=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='devices', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'reminders_device',
                    },
                ),
                migrations.CreateModel(
                    name='Notification',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('uid', models.CharField(max_length=36)),
                        ('seq', models.BigIntegerField()),
                        ('deleted_at', models.DateTimeField(blank=True, null=True)),
                        ('server_updated_at', models.DateTimeField(auto_now=True)),
                        ('kind', models.CharField(max_length=16)),
                        ('reminder_id', models.CharField(blank=True, max_length=36, null=True)),
                        ('alert_id', models.CharField(blank=True, max_length=36, null=True)),
                        ('title', models.CharField(max_length=200)),
                        ('body', models.TextField(blank=True, default='')),
                        ('scheduled_for', models.DateTimeField(blank=True, null=True)),
                        ('delivered_at', models.DateTimeField(blank=True, null=True)),
                        ('action', models.CharField(blank=True, max_length=12, null=True)),
                        ('acted_at', models.DateTimeField(blank=True, null=True)),
                        ('snooze_min', models.PositiveIntegerField(blank=True, null=True)),
                        ('rule', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='reminders.reminderrule')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'reminders_notification',
                    },
                ),
                migrations.CreateModel(
                    name='PushDelivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(default='pending', max_length=8)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('next_attempt_at', models.DateTimeField()),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('last_error', models.TextField(blank=True)),
                        ('device', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='notifications.device')),
                        ('notification', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='notifications.notification')),
                    ],
                    options={
                        'db_table': 'reminders_push_delivery',
                    },
                ),
                migrations.AddConstraint(
                    model_name='device',
                    constraint=models.UniqueConstraint(fields=('user', 'uid'), name='device_uid_per_user'),
                ),
                migrations.AddConstraint(
                    model_name='device',
                    constraint=models.UniqueConstraint(fields=('platform', 'token'), name='device_token_once'),
                ),
                migrations.AddIndex(
                    model_name='notification',
                    index=models.Index(fields=['user', 'seq'], name='notification_user_seq'),
                ),
                migrations.AddIndex(
                    model_name='notification',
                    index=models.Index(condition=models.Q(('deleted_at__isnull', True)), fields=['scheduled_for'], name='notification_live_age'),
                ),
                migrations.AddConstraint(
                    model_name='notification',
                    constraint=models.UniqueConstraint(fields=('user', 'uid'), name='notification_uid_per_user'),
                ),
                migrations.AddConstraint(
                    model_name='notification',
                    constraint=models.UniqueConstraint(condition=models.Q(('rule__isnull', False)), fields=('rule', 'scheduled_for'), name='notification_once_per_fire'),
                ),
                migrations.AddIndex(
                    model_name='pushdelivery',
                    index=models.Index(condition=models.Q(('status', 'pending')), fields=['next_attempt_at'], name='push_pending'),
                ),
                migrations.AddConstraint(
                    model_name='pushdelivery',
                    constraint=models.UniqueConstraint(fields=('notification', 'device'), name='push_once_per_device'),
                ),
            ],
            database_operations=[],
        ),
    ]
