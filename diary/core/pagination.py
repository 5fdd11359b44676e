from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request


class DiaryCursorPagination(CursorPagination):
    """Keyset pagination: stable while the person logs new entries between pages."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering: Any = "-started_at"

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """DRF documents ``page_size`` as any integer; say what ``get_page_size`` accepts."""
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size, default=self.page_size)
        return parameters

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": ["is not a cursor this API gave out"]}) from None

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise ValidationError({"page_size": ["must be an integer"]}) from None
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({"page_size": [f"must be between 1 and {self.max_page_size}"]})
        return size
