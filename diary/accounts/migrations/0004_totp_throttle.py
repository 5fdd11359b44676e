from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_totp_device'),
    ]

    operations = [
        migrations.AddField(
            model_name='totpdevice',
            name='pending_secret',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
        migrations.AddField(
            model_name='totpdevice',
            name='failures',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='totpdevice',
            name='blocked_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
