"""Clinician review: the triage list, one patient's diary and insights within a share (API and web
pages). It sits above sharing, alerts, patterns and reports, which it brings together."""
