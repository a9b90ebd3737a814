"""Errors as JSON (SPEC F8, W4): field path, stable code, message in the asked language.

Every exception the library may raise has its status here; a request body
the models refuse is answered in the same shape. Nothing of a driver's or
the framework's own error text reaches the client.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from echoppe_accounts import (
    AuthenticationError,
    ConcurrencyError,
    EchoppeError,
    FieldError,
    NotFoundError,
    RateLimitedError,
    StorageError,
    ValidationError,
    available_languages,
)
from echoppe_accounts.domain.i18n import gettext_noop, normalise, translation

log = logging.getLogger("echoppe_accounts.contrib.api")

_MESSAGES = {
    "session.required": gettext_noop("Log in to continue."),
    "session.restricted": gettext_noop("Choose a new password before anything else."),
    "csrf.invalid": gettext_noop("This page has expired: reload it and try again."),
    "request.invalid": gettext_noop("Invalid value."),
    "request.too_large": gettext_noop("This request is too large."),
    "request.not_found": gettext_noop("This address does not exist."),
    "service.unavailable": gettext_noop(
        "The service is unavailable for a moment; please try again later."
    ),
}
"""The API's own codes: sessions, CSRF, and requests that no model accepts."""

API_CODES = frozenset(_MESSAGES)
"""Every code the API adds to :func:`~echoppe_accounts.known_codes`."""

_MAX_ACCEPT = 256


class ApiError(Exception):
    """An answer other than success, with its status and F8 errors."""

    def __init__(
        self,
        status: int,
        errors: Sequence[FieldError],
        *,
        retry_after: float | None = None,
    ) -> None:
        """Build the answer *status* with *errors*."""
        super().__init__(", ".join(e.code for e in errors))
        self.status = status
        self.errors = tuple(errors)
        self.retry_after = retry_after

    @classmethod
    def single(cls, status: int, code: str, path: str = "") -> ApiError:
        """Build an answer with one error."""
        return cls(status, [FieldError(path, code)])


def request_language(request: Request) -> str:
    """Return the language to answer in: ``?lang=``, ``Accept-Language``, or French."""
    languages = available_languages()
    asked = request.query_params.get("lang")
    if asked:
        name = normalise(asked)
        if name in languages:
            return name
    header = request.headers.get("accept-language", "")[:_MAX_ACCEPT]
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")[:16]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if not math.isfinite(quality) or quality <= 0:
            continue
        ranked.append((-quality, position, tag.strip()))
    for _, _, tag in sorted(ranked):
        for candidate in (tag, tag.split("-")[0]):
            name = normalise(candidate)
            if name in languages:
                return name
    return "fr"


def message(error: FieldError, language: str) -> str:
    """Return the message of *error* in *language*: the library's or the API's."""
    own = _MESSAGES.get(error.code)
    if own is None:
        return error.message(language)
    return translation(language).gettext(own)


def error_body(
    errors: Iterable[FieldError], language: str, retry_after: int | None = None
) -> dict[str, Any]:
    """Return the JSON of an error answer."""
    return {
        "errors": [
            {"path": e.path, "code": e.code, "message": message(e, language)}
            for e in errors
        ],
        "retry_after": retry_after,
    }


def respond(request: Request, error: ApiError) -> JSONResponse:
    """Return the JSON answer of *error*, with ``Retry-After`` when it has one."""
    seconds = (
        None if error.retry_after is None else max(1, math.ceil(error.retry_after))
    )
    headers = {"Retry-After": str(seconds)} if seconds is not None else None
    return JSONResponse(
        error_body(error.errors, request_language(request), seconds),
        status_code=error.status,
        headers=headers,
    )


def translate(exc: EchoppeError) -> ApiError:  # noqa: PLR0911 - one per kind
    """Return the answer for a library exception (SPEC F8, W4)."""
    if isinstance(exc, ValidationError):
        tokens = all(e.code == "token.invalid" for e in exc.errors)
        return ApiError(400 if tokens else 422, exc.errors)
    if isinstance(exc, RateLimitedError):
        return ApiError(429, [FieldError("", exc.code)], retry_after=exc.retry_after)
    if isinstance(exc, AuthenticationError):
        if exc.code == "login.throttled":
            return ApiError(
                429, [FieldError("", exc.code)], retry_after=exc.retry_after or 1
            )
        return ApiError(
            403 if exc.code == "login.blocked" else 401, [FieldError("", exc.code)]
        )
    if isinstance(exc, NotFoundError):
        return ApiError.single(404, "account.not_found")
    if isinstance(exc, ConcurrencyError):
        return ApiError.single(409, "account.changed_concurrently")
    if isinstance(exc, StorageError):
        log.warning("storage failed: %s", exc)
        return ApiError(
            503,
            [FieldError("", "service.unavailable")],
            retry_after=5 if exc.retryable else None,
        )
    log.error("unexpected library error", exc_info=exc)
    return ApiError.single(503, "service.unavailable")


def _path(location: Sequence[int | str]) -> str:
    # A location such as body / delivery_addresses / 0 / address / city
    # becomes delivery_addresses[0].address.city, as the library writes paths.
    path = ""
    for part in location[1:] if location and location[0] == "body" else location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


async def on_library_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer a library exception."""
    assert isinstance(exc, EchoppeError)  # noqa: S101 (registered for it)
    return respond(request, translate(exc))


async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer an :class:`ApiError`."""
    assert isinstance(exc, ApiError)  # noqa: S101 (registered for it)
    return respond(request, exc)


async def on_request_invalid(request: Request, exc: Exception) -> JSONResponse:
    """Answer a body or parameter the models refuse, in F8's shape (422)."""
    assert isinstance(exc, RequestValidationError)  # noqa: S101 (registered for it)
    errors = []
    for problem in exc.errors()[:100]:
        code = "required" if problem.get("type") == "missing" else "request.invalid"
        errors.append(FieldError(_path(problem.get("loc", ())), code))
    return respond(
        request, ApiError(422, errors or [FieldError("", "request.invalid")])
    )


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer the framework's own refusals (unknown path, wrong method) as JSON."""
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 (registered for it)
    if exc.status_code in {404, 405}:
        return respond(request, ApiError.single(exc.status_code, "request.not_found"))
    # A body that is not JSON at all is refused like a body of the wrong
    # shape: one status for "the input is wrong", whatever the layer.
    status = 422 if exc.status_code == 400 else exc.status_code  # noqa: PLR2004
    return respond(request, ApiError.single(status, "request.invalid"))


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Answer a bug with a 500 in F8's shape; its details go to the log only."""
    log.error("unexpected error", exc_info=exc)
    return respond(request, ApiError.single(500, "service.unavailable"))
