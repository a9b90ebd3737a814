"""The app factory: the library's use cases as a JSON API (SPEC W1–W4)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from echoppe_accounts import App, EchoppeError, __version__
from echoppe_accounts.contrib.api import _account, _public
from echoppe_accounts.contrib.api._errors import (
    ApiError,
    error_body,
    on_api_error,
    on_http_error,
    on_library_error,
    on_request_invalid,
    on_unexpected,
    request_language,
)
from echoppe_accounts.contrib.api._security import Context
from echoppe_accounts.contrib.api._settings import ApiSettings
from echoppe_accounts.contrib.api._tokens import Sealer
from echoppe_accounts.domain.errors import FieldError

_DESCRIPTION = """\
The customer-account area of a French online shop ("Mon compte"), for
single-page and mobile front ends, on the echoppe-accounts library.

Browsers log in with `session: cookie` (an HttpOnly, SameSite cookie) and send
the CSRF token in a header with every state change; apps log in with
`session: bearer` and send `Authorization: Bearer <token>`. Errors carry each
problem's field path, a stable code and a message in the language of
`Accept-Language` or `?lang=` (French by default).
"""


class _BodyLimit:
    """Refuse a request body past *limit* bytes before it is read (SPEC F9)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.limit:
            await self._refuse(scope, send)
            return
        if b"content-length" in headers:
            await self.app(scope, receive, send)
            return
        # A body without a length (chunked) is read here, up to the limit,
        # then handed on: a small body costs one copy, a large one nothing.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {
                "type": "http.request",
                "body": b"".join(chunks),
                "more_body": False,
            }

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        language = request_language(Request(scope))
        errors = [FieldError("", "request.too_large")]
        body = json.dumps(error_body(errors, language))
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})


def _language(
    lang: Annotated[
        str | None,
        Query(
            max_length=16,
            description="The language of error messages (`fr`, `en`); "
            "else `Accept-Language`, else French.",
        ),
    ] = None,
) -> None:
    """Declare ``?lang=`` in the schema; :func:`request_language` reads it."""
    del lang


def create_app(app: App, settings: ApiSettings, **fastapi: Any) -> FastAPI:  # noqa: ANN401
    """Return the JSON API of *app* as an ASGI application (FastAPI).

    Mount it under the shop's own application or serve it alone
    (``uvicorn shop:api``); *fastapi* goes to ``FastAPI``
    (``root_path``, ``docs_url``, ``title``…). The OpenAPI 3.1 schema is at
    ``/openapi.json``.

    >>> from echoppe_accounts import InMemoryStore, Settings, bootstrap
    >>> from echoppe_accounts.testing import RecordingMailer
    >>> library = bootstrap(InMemoryStore().unit_of_work, RecordingMailer(),
    ...                     Settings(base_url="https://www.lechoppe.fr"))
    >>> api = create_app(library, ApiSettings(secret_key=bytes(32)))
    >>> api.openapi()["openapi"]
    '3.1.0'

    .. versionadded:: 0.2.0
    """
    options: dict[str, Any] = {
        "title": "echoppe-accounts",
        "version": __version__,
        "description": _DESCRIPTION,
    }
    options.update(fastapi)
    api = FastAPI(dependencies=[Depends(_language)], **options)
    ctx = Context(app, settings, Sealer(settings.secret_key))
    api.state.echoppe = ctx
    api.include_router(_public.routes(ctx))
    api.include_router(_account.routes(ctx))
    api.add_exception_handler(EchoppeError, on_library_error)
    api.add_exception_handler(ApiError, on_api_error)
    api.add_exception_handler(RequestValidationError, on_request_invalid)
    api.add_exception_handler(StarletteHTTPException, on_http_error)
    api.add_exception_handler(Exception, on_unexpected)
    api.add_middleware(_BodyLimit, limit=settings.max_body_bytes)
    return api
