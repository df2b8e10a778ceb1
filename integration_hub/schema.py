"""The OpenAPI schema tells the truth about errors: one postprocessing hook (drf-spectacular's
POSTPROCESSING_HOOKS) adds the answers every operation can give besides its success, with the
body DRF sends, instead of repeating `responses=` on ~60 operations.

- 400: a refused request. `{"field": ["message", …]}` from a serializer (a list field's items
  keyed by index, `{"ids": {"1": ["…"]}}`), or `{"detail": "…"}` when a rule refused it.
- 401: no or a bad credential (`WWW-Authenticate: Token`); 403: signed in but not allowed.
- 404: nothing there, or nothing this user may see (the API never confirms what it hides).
- 429: over the caller's rate (per user, per anonymous address); `Retry-After` says when to come back.
- 502 / 503: an external system (SAP, Salesforce) the operation needed refused the call / did not
  answer (integration_hub.api_errors); after a 503, try again.
An operation that documents a code itself keeps its own (a 400 of its own may also be DRF's). Times of day (`format: time`, which
needs an offset) become RFC 3339 `partial-time`, what DRF's TimeField writes.
"""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
VALIDATION_ERROR = {"$ref": "#/components/schemas/ValidationError"}

COMPONENTS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "description": "Why the request was not served, in words a person understands.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationError": {
        "type": "object",
        "description": "The refused fields, each with its messages (`non_field_errors` for the request as a "
                       "whole; a list's items keyed by their index), or `detail` when a rule refused it.",
        "properties": {"detail": {"type": "string"},
                       "non_field_errors": {"type": "array", "items": {"type": "string"}}},
        "additionalProperties": {"anyOf": [
            {"type": "array", "items": {}},
            {"type": "object"},
            {"type": "string"},
        ]},
    },
}

ANSWERS = {
    "400": ("The request was refused: what is wrong, by field.", VALIDATION_ERROR),
    "401": ("Not signed in: send `Authorization: Token <key>` or a session cookie.", ERROR),
    "403": ("Signed in, but not allowed to do this.", ERROR),
    "404": ("Not found, or not visible to you.", ERROR),
    "429": ("Too many requests: try again after Retry-After seconds.", ERROR),
    "502": ("SAP or Salesforce refused a call the operation needed.", ERROR),
    "503": ("SAP or Salesforce did not answer; nothing was changed. Try again after Retry-After seconds.", ERROR),
}
# Operations that answer for themselves in another format (the Salesforce webhook speaks SOAP).
OWN_ANSWERS = ("/api/v1/hooks/",)


# DRF writes a TimeField as "09:00:00", with no offset: RFC 3339's partial-time, which the
# "time" format (full-time, offset required) does not allow.
PARTIAL_TIME = {"type": "string", "format": "partial-time", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"}


def _times(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("format") == "time":
            node.update(PARTIAL_TIME)
        for value in node.values():
            _times(value)
    elif isinstance(node, list):
        for value in node:
            _times(value)


def error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the error answers on every operation (see the module),
    and times of day as what DRF sends."""
    _times(result.get("components", {}))
    result.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
    for path, operations in result.get("paths", {}).items():
        if path.startswith(OWN_ANSWERS):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, (description, schema) in ANSWERS.items():
                responses.setdefault(code, {"description": description,
                                            "content": {"application/json": {"schema": schema}}})
            # An operation's own 400 body, or DRF's before the view runs (a body that is not JSON).
            own = responses["400"].get("content", {}).get("application/json", {})
            if own.get("schema") not in (None, VALIDATION_ERROR):
                own["schema"] = {"anyOf": [own["schema"], VALIDATION_ERROR]}
    return result
