"""Domain exceptions the API layer turns into 4xx answers."""

from __future__ import annotations


class DomainValidationError(Exception):
    """Input that breaks a domain rule; ``details`` maps each field to its reasons."""

    def __init__(self, details: dict[str, list[str]]):
        super().__init__(details)
        self.details = details


class Conflict(Exception):
    def __init__(self, message: str, details: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
