"""Rendering the shared Jinja2 pages of ``templates/web/`` for Django (SPEC T1).

The pages are the library's templates, rendered by the library's Jinja2
environment (its catalogues, its ``datetime`` and ``country`` filters):
one set that the Flask blueprint shares. A shop overrides one by putting a
file of the same name (``web/login.html``) in ``ECHOPPE["TEMPLATE_DIRS"]``.
Each page gets ``url(name, *args)``, ``csrf_input``, ``customer``,
``notice``, ``shop`` and ``language`` besides its own values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from markupsafe import Markup

from echoppe_accounts.contrib.django.auth import NOTICE_KEY, customer
from echoppe_accounts.contrib.django.conf import NAMESPACE, config, get_app
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.i18n import available_languages, normalise
from echoppe_accounts.service_layer.templating import templates_for

Errors = dict[str, list[str]]
"""The messages of a refused form, by input name (``""``: the whole form)."""


def language(request: HttpRequest) -> str:
    """Return the language of the page: Django's, when a catalogue has it."""
    wanted = normalise(str(getattr(request, "LANGUAGE_CODE", "") or ""))
    if wanted:
        for candidate in (wanted, wanted.split("_")[0]):
            if candidate in available_languages() or candidate == "en":
                return candidate
    return config().language


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


def field_errors(
    exc: ValidationError,
    lang: str,
    inputs: Iterable[str],
    aliases: Mapping[str, str] | None = None,
) -> Errors:
    """Group the messages of *exc* by the input they belong to (SPEC F8).

    An input is named after the library's field path (``billing_address.city``);
    an error goes to the longest input its path starts with, after
    *aliases* rewrote the path's start, and to ``""`` (the top of the form)
    when none fits. A message repeated on one input is shown once.
    """
    names = sorted(inputs, key=len, reverse=True)
    grouped: Errors = {}
    for given, problems in exc.as_dict(lang).items():
        path = given
        for old, new in (aliases or {}).items():
            if path == old or path.startswith((f"{old}.", f"{old}[")):
                path = (new + path[len(old) :]).lstrip(".")
                break
        target = next(
            (n for n in names if path == n or path.startswith((f"{n}.", f"{n}["))),
            "",
        )
        messages = grouped.setdefault(target, [])
        messages.extend(p["message"] for p in problems if p["message"] not in messages)
    return grouped


def typed(data: Mapping[str, str], *secret: str) -> dict[str, str]:
    """What to show again in a refused form: never a password nor a token."""
    hidden = {"csrfmiddlewaretoken", "jeton", *secret}
    return {
        k: str(v) for k, v in data.items() if k not in hidden and "password" not in k
    }
