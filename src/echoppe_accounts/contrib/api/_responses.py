"""The error answers each endpoint declares in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from echoppe_accounts.contrib.api._models import ErrorOut

_DESCRIPTIONS = {
    400: "A link's token is unknown, used or expired (`token.invalid`).",
    401: "No current session, or a refused login (`login.failed`).",
    403: "CSRF token missing or wrong, restricted session, blocked login.",
    404: "No such account or address.",
    409: "The account changed meanwhile; try again.",
    413: "The request body is too large.",
    422: "The input's problems, all at once, each at its field's path (SPEC F8).",
    429: "Too many attempts: wait `Retry-After` seconds (SPEC P4, W4).",
    503: "Storage unavailable for a moment.",
}


def errors(*statuses: int, page: bool = False) -> dict[int | str, dict[str, Any]]:
    """Return the ``responses`` of an endpoint that may answer *statuses*.

    Every endpoint may also answer 413 and 503, and 422 for a body or query
    parameter its model refuses. A *page* (an HTML answer) still answers
    its errors in JSON, which the schema must say outright.
    """
    every = sorted({*statuses, 413, 422, 503})
    if page:
        json = {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}
        }
        return {
            status: {"description": _DESCRIPTIONS[status], "content": json}
            for status in every
        }
    return {
        status: {"model": ErrorOut, "description": _DESCRIPTIONS[status]}
        for status in every
    }
