"""Rendering the shared Jinja2 pages of ``templates/web/`` for Django (SPEC T1).

The pages are the library's templates, rendered by the library's Jinja2
environment (its catalogues, its ``datetime`` and ``country`` filters):
one set that the Flask blueprint shares. A shop overrides one by putting a
file of the same name (``web/login.html``) in ``ECHOPPE["TEMPLATE_DIRS"]``.
Each page gets ``url(name, *args)``, ``csrf_input``, ``customer``,
``notice``, ``shop`` and ``language`` besides its own values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from markupsafe import Markup

from echoppe_accounts.contrib._web import Errors, field_errors, pick_language, typed
from echoppe_accounts.contrib.django.auth import NOTICE_KEY, customer
from echoppe_accounts.contrib.django.conf import NAMESPACE, config, get_app
from echoppe_accounts.service_layer.templating import templates_for


def language(request: HttpRequest) -> str:
    """Return the language of the page: Django's, when a catalogue has it."""
    wanted = str(getattr(request, "LANGUAGE_CODE", "") or "")
    return pick_language(wanted, config().language)


def _url(name: str, *args: object) -> str:
    return str(reverse(f"{NAMESPACE}:{name}", args=args))


def notify(request: HttpRequest, text: str) -> None:
    """Keep *text* to show once, on the next page."""
    request.session[NOTICE_KEY] = text


def render(
    request: HttpRequest,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    """Return the page ``web/<name>.html`` rendered for *request*."""
    app = get_app()
    settings = app.accounts.settings
    token = get_token(request)
    values: dict[str, Any] = {
        "language": language(request),
        "timezone": settings.timezone,
        "shop": settings.shop_name,
        "url": _url,
        "csrf_input": Markup(
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        ).format(token),
        "customer": customer(request),
        "notice": request.session.pop(NOTICE_KEY, None),
        "errors": {},
        "form": {},
    }
    values.update(context or {})
    html = templates_for(settings.templates).render(f"web/{name}.html", values)
    return HttpResponse(html, status=status)


__all__ = ["Errors", "field_errors", "language", "notify", "render", "typed"]
