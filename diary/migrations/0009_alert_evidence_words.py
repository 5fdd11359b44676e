"""Alerts raised before the evidence was worded ("pain 8 >= 8", "symptom breathing_difficulty reported
with a spasm (chest)") say it in words, rebuilt from the numbers each alert stored. The evidence is
not on the sync wire, so no sequence moves; an alert whose numbers do not say enough keeps its text."""

from typing import Any

from django.db import migrations

from diary.alerts.texts import evidence_from_numbers

OLD = (">=", "_", "symptom ", "rising:", "duration ", "ongoing for ")


def reword(apps: Any, schema_editor: Any) -> None:
    Alert = apps.get_model("diary", "Alert")
    for alert in Alert.objects.only("pk", "rule", "evidence", "numbers").iterator():
        if not any(mark in alert.evidence for mark in OLD):
            continue
        words = evidence_from_numbers(alert.rule, alert.numbers or {})
        if words is not None and words != alert.evidence:
            Alert.objects.filter(pk=alert.pk).update(evidence=words)


class Migration(migrations.Migration):
    dependencies = [
        ("diary", "0008_outbox_handler"),
    ]

    operations = [migrations.RunPython(reword, migrations.RunPython.noop)]
