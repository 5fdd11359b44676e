"""The inbox, devices and push deliveries move to the notifications app (diary/notifications/),
state only: their tables keep their names (Meta.db_table) and rows."""


from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('reminders', '0002_schedules_devices_push'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # State only: the tables, their names and their data stay where they are.
            state_operations=[
                migrations.RemoveField(
                    model_name='pushdelivery',
                    name='device',
                ),
                migrations.RemoveField(
                    model_name='notification',
                    name='rule',
                ),
                migrations.RemoveField(
                    model_name='notification',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='pushdelivery',
                    name='notification',
                ),
                migrations.DeleteModel(
                    name='Device',
                ),
                migrations.DeleteModel(
                    name='Notification',
                ),
                migrations.DeleteModel(
                    name='PushDelivery',
                ),
            ],
            database_operations=[],
        ),
    ]
