"""Per-patient thresholds: clinicians with an active share tune them; the most sensitive applies."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max

from diary.accounts.models import User
from diary.alerts.catalogue import RULESET_VERSION, THRESHOLD_NAMES, Thresholds, check_thresholds, most_sensitive
from diary.alerts.models import ThresholdChange, ThresholdOverride
from diary.core.errors import DomainValidationError
from diary.sharing.selectors import shares_active
from diary.sync.sequence import sequence_lock


def _sharing_clinicians(patient_id: int) -> set[int]:
    rows = shares_active().filter(patient_id=patient_id).values_list("clinician_id", "scopes")
    return {clinician_id for clinician_id, scopes in rows if "alerts" in scopes}


def ruleset_version(patient_id: int) -> str:
    """``1`` for the defaults; ``1.3`` after the patient's third threshold change."""
    revision = ThresholdChange.objects.filter(patient_id=patient_id).aggregate(r=Max("revision"))["r"] or 0
    return f"{RULESET_VERSION}.{revision}" if revision else str(RULESET_VERSION)


def effective_thresholds(patient_id: int) -> tuple[Thresholds, str]:
    """The numbers that apply now: overrides of clinicians who still share this person's alerts."""
    clinicians = _sharing_clinicians(patient_id)
    per_clinician: dict[int, dict[str, int]] = defaultdict(dict)
    if clinicians:
        rows = ThresholdOverride.objects.filter(patient_id=patient_id, clinician_id__in=clinicians)
        for clinician_id, name, value in rows.values_list("clinician_id", "name", "value"):
            per_clinician[clinician_id][name] = value
    return most_sensitive(per_clinician.values()), ruleset_version(patient_id)


def thresholds_for_clinician(*, patient: User, clinician: User) -> dict[str, Any]:
    mine = dict(ThresholdOverride.objects.filter(patient=patient, clinician=clinician).values_list("name", "value"))
    effective, version = effective_thresholds(patient.pk)
    defaults = Thresholds()
    return {
        "version": version,
        "defaults": {n: getattr(defaults, n) for n in THRESHOLD_NAMES},
        "yours": mine,
        "effective": {n: getattr(effective, n) for n in THRESHOLD_NAMES},
    }


def thresholds_set(*, patient: User, clinician: User, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Set (a number) or clear (null) this clinician's values; one new rule-set revision per change set,
    each field audited. ``breathing_difficulty`` is no threshold: it can never be switched off."""
    if not isinstance(changes, Mapping) or not changes:
        raise DomainValidationError({"body": ["send an object of threshold names to numbers (or null to clear)"]})
    setting = {k: v for k, v in changes.items() if v is not None}
    errors = check_thresholds(setting)
    for name in changes:
        if changes[name] is None and name not in THRESHOLD_NAMES:
            errors.setdefault(name, "is not a threshold")
    if errors:
        raise DomainValidationError({k: [v] for k, v in errors.items()})
    with transaction.atomic():
        sequence_lock(user_id=patient.pk)  # one revision at a time per patient; lock order: this row first
        existing = {
            o.name: o
            for o in ThresholdOverride.objects.select_for_update().filter(patient=patient, clinician=clinician)
        }
        # The combined values must make sense too (the high duration not below the watch one): checked
        # under the patient lock, so two concurrent changes cannot together leave a bad pair.
        merged = {**{n: o.value for n, o in existing.items()}, **setting}
        for name in [k for k, v in changes.items() if v is None]:
            merged.pop(name, None)
        if combined := check_thresholds(merged):
            raise DomainValidationError({k: [v] for k, v in combined.items()})
        revision = (ThresholdChange.objects.filter(patient=patient).aggregate(r=Max("revision"))["r"] or 0) + 1
        audit = []
        for name, value in sorted(changes.items()):
            old = existing.get(name)
            old_value = old.value if old else None
            if old_value == value:
                continue
            if value is None:
                assert old is not None
                old.delete()
            elif old is None:
                ThresholdOverride.objects.create(patient=patient, clinician=clinician, name=name, value=value)
            else:
                old.value = value
                old.save(update_fields=["value", "updated_at"])
            audit.append(ThresholdChange(patient=patient, clinician=clinician, name=name, old_value=old_value,
                                         new_value=value, revision=revision))  # fmt: skip
        ThresholdChange.objects.bulk_create(audit)
    return thresholds_for_clinician(patient=patient, clinician=clinician)


def thresholds_drop(*, patient: User, clinician: User) -> int:
    """A share ended: that clinician's numbers stop applying, audited as a new revision."""
    with transaction.atomic():
        sequence_lock(user_id=patient.pk)
        overrides = list(ThresholdOverride.objects.filter(patient=patient, clinician=clinician))
        if not overrides:
            return 0
        revision = (ThresholdChange.objects.filter(patient=patient).aggregate(r=Max("revision"))["r"] or 0) + 1
        ThresholdChange.objects.bulk_create(
            ThresholdChange(patient=patient, clinician=clinician, name=o.name, old_value=o.value, new_value=None,
                            revision=revision)
            for o in overrides
        )  # fmt: skip
        ThresholdOverride.objects.filter(pk__in=[o.pk for o in overrides]).delete()
    return len(overrides)
