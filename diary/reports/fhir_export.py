"""A diary as a FHIR R4 ``collection`` Bundle, built as plain data and validated by ``fhir.resources``.

fhir.resources 8 ships R5 as its default models and R4B (FHIR 4.3) as the R4-family module; Patient,
Observation and Bundle as used here are the same in R4 and R4B, so an R4 reader takes the bundle.

Coding: every Observation carries the HL7 observation category ``survey`` (patient-reported). What
was observed is said in ``code.text`` only: no SNOMED CT or LOINC code was verified for a spasm,
cramp or twitch episode or for these self-reported measures, and a wrong code is worse than none.
Units are UCUM (``s``, ``mL``, ``h``, ``min``); alcohol "units" (which differ by country) have none.

The Patient is pseudonymous: an id derived with the server's secret, no name, no email. Resource
ids are derived from it and the diary's own ids, so exporting twice gives the same ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.crypto import salted_hmac
from fhir.resources.R4B.bundle import Bundle

from diary.checkins.models import CheckIn
from diary.core.fields import zone
from diary.episodes.models import Episode

FHIR_JSON = "application/fhir+json"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_SURVEY = [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}]

# Check-in columns exported as Observations: (column, code.text, how): a UCUM unit, or the value type.
CHECKIN_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("water_ml", "water intake", "mL"),
    ("caffeine_servings", "caffeine servings", "integer"),
    ("alcohol_units", "alcohol units", "units"),
    ("exercise_min", "exercise duration", "min"),
    ("exercise_intensity", "exercise intensity", "string"),
    ("hot_weather", "hot weather", "boolean"),
    ("sleep_h", "sleep duration", "h"),
    ("stress", "stress 0-10", "integer"),
    ("sitting_h", "time sitting", "h"),
    ("stretched", "stretched", "boolean"),
    ("medications", "medications taken", "codes"),
    ("menstruating", "menstruating", "boolean"),
    ("fluid_changes", "fluid intake changes", "boolean"),
)


def patient_pseudonym(key: str) -> str:
    """A stable UUID for a patient under ``key`` (e.g. ``user:<pk>`` or ``share:<uid>``) that reveals nothing."""
    digest = salted_hmac("diary.reports.fhir.patient", key, algorithm="sha256").hexdigest()
    return str(uuid.UUID(hex=digest[:32], version=4))


def _rid(patient_id: str, name: str) -> str:
    return str(uuid.uuid5(uuid.UUID(patient_id), name))


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _codes(values: list[str]) -> str:
    return "; ".join(v.replace("_", " ") for v in values)


def _component(text: str, key: str, value: Any) -> dict[str, Any]:
    return {"code": {"text": text}, key: value}


def episode_observation(e: Episode, *, patient_id: str, notes: bool) -> dict[str, Any]:
    local_start = e.started_at.astimezone(zone(e.tz))
    what = e.kind if not e.subtype else f"{e.kind} ({e.subtype.replace('_', ' ')})"
    components = [_component("pain 0-10", "valueInteger", e.pain)]
    if e.duration_s is not None:
        components.append(_component("duration", "valueQuantity", _quantity(e.duration_s, "s")))
    for text, codes in (("symptoms", e.symptoms), ("triggers", e.triggers), ("relief", e.relief)):
        if codes:
            components.append(_component(text, "valueString", _codes(codes)))
    if e.activity:
        components.append(_component("activity", "valueString", e.activity.replace("_", " ")))
    if e.relief_score is not None:
        components.append(_component("relief 0-10", "valueInteger", e.relief_score))
    site = e.body_location.replace("_", " ") + (f", {e.side}" if e.side else "")
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _rid(patient_id, f"episode/{e.uid}"),
        "identifier": [{"value": e.uid}],
        "status": "final",
        "category": _SURVEY,
        "code": {"text": f"muscle {what}"},
        "subject": {"reference": f"urn:uuid:{patient_id}"},
        "effectiveDateTime": local_start.isoformat(),
        "bodySite": {"text": site},
        "component": components,
    }
    if notes and e.notes:
        obs["note"] = [{"text": e.notes}]
    return obs


def _measure_value(how: str, value: Any) -> tuple[str, Any]:
    if how == "integer":
        return "valueInteger", int(value)
    if how == "boolean":
        return "valueBoolean", bool(value)
    if how == "string":
        return "valueString", str(value)
    if how == "codes":
        return "valueString", _codes(value)
    if how == "units":  # drink units differ by country: no UCUM unit
        return "valueQuantity", {"value": value, "unit": "units"}
    return "valueQuantity", _quantity(value, how)


def checkin_observations(c: CheckIn, *, patient_id: str, notes: bool) -> list[dict[str, Any]]:
    """One Observation per recorded measure of the day (and one for the day's note, when allowed)."""
    day = c.date.isoformat()
    base = {"status": "final", "category": _SURVEY, "subject": {"reference": f"urn:uuid:{patient_id}"}}
    out = []
    for column, text, how in CHECKIN_MEASURES:
        value = getattr(c, column)
        if value is None or value == []:
            continue
        key, fhir_value = _measure_value(how, value)
        out.append({
            "resourceType": "Observation", "id": _rid(patient_id, f"checkin/{c.uid}/{column}"), **base,
            "code": {"text": text}, "effectiveDateTime": day, key: fhir_value,
        })  # fmt: skip
    if notes and c.notes:
        out.append({
            "resourceType": "Observation", "id": _rid(patient_id, f"checkin/{c.uid}/notes"), **base,
            "code": {"text": "daily check-in note"}, "effectiveDateTime": day, "note": [{"text": c.notes}],
        })  # fmt: skip
    return out


def diary_bundle(
    *, patient_key: str, episodes: Iterable[Episode] = (), checkins: Iterable[CheckIn] = (), notes: bool
) -> Bundle:
    """The validated Bundle: the Patient, then episodes, then check-in measures (raises if invalid)."""
    patient_id = patient_pseudonym(patient_key)
    resources: list[dict[str, Any]] = [{"resourceType": "Patient", "id": patient_id}]
    resources += [episode_observation(e, patient_id=patient_id, notes=notes) for e in episodes]
    for c in checkins:
        resources += checkin_observations(c, patient_id=patient_id, notes=notes)
    data = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": timezone.now().isoformat(),
        "entry": [_entry(r) for r in resources],
    }
    return Bundle.model_validate(data)


def bundle_json(bundle: Bundle) -> bytes:
    return bundle.model_dump_json().encode("utf-8")
