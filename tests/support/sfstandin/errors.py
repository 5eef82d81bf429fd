"""Salesforce errors: one exception carrying the HTTP status, the error code and the fields."""

from __future__ import annotations

from typing import Any

NOT_FOUND_MESSAGE = "The requested resource does not exist"


class SfError(Exception):
    """An error as Salesforce reports it.

    REST answers put it in a JSON array with `errorCode`; Collections results use `statusCode`.
    """

    def __init__(
        self, status: int, code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def rest_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            item["fields"] = list(self.fields)
        return item

    def rest_body(self) -> list[dict[str, Any]]:
        return [self.rest_item()]

    def record_item(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields or [])}


def not_found() -> SfError:
    return SfError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)


def invalid_field(sobject: str, name: str) -> SfError:
    return SfError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}")


def malformed_query(message: str) -> SfError:
    return SfError(400, "MALFORMED_QUERY", message)


def invalid_type(sobject: str) -> SfError:
    return SfError(
        400,
        "INVALID_TYPE",
        f"sObject type '{sobject}' is not supported. If you are attempting to use a custom "
        "object, be sure to append the '__c' after the entity name. Please reference your "
        "WSDL or the describe call for the appropriate names.",
    )


def json_parser_error(message: str) -> SfError:
    return SfError(400, "JSON_PARSER_ERROR", message)
