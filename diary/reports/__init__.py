"""Exports of a diary (CSV and a FHIR R4 bundle) for the person and, within a share, their clinician."""
