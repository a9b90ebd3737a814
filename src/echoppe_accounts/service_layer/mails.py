"""The mails the library sends, rendered from templates in the customer's language.

Each mail kind has three templates (see
:mod:`~echoppe_accounts.service_layer.templating`): ``mail/<kind>/subject.txt``,
``body.txt`` (the plain-text part) and ``body.html`` (the HTML part, built on
a table layout with inline styles, values escaped). Their words come from
the message catalogues (SPEC T1); the shop overrides any of them through
:attr:`Settings.templates <echoppe_accounts.Settings.templates>`.

Every mail template gets these variables:

``shop``
    The shop's name (:attr:`Settings.shop_name
    <echoppe_accounts.Settings.shop_name>`).
``base_url``
    The shop's site, ``""`` when unknown.
``name``
    The customer's name, ``""`` when the mail goes to an address without
    an account.
``to``
    The recipient's address.
``sent_at``
    When the mail was decided (aware, UTC): format it with the ``datetime``
    filter, which writes it in the customer's language and the shop's time
    zone.
``subject``
    The rendered subject (not in ``subject.txt`` itself).
``language``, ``timezone``
    The language of the mail and the shop's time zone.

and, by kind, the values of :data:`MAIL_VALUES` and the links of
:data:`MAIL_LINKS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from echoppe_accounts.domain.errors import Language
from echoppe_accounts.domain.i18n import DEFAULT_TIMEZONE, catalogues
from echoppe_accounts.domain.mail import MailKind, OutgoingMail
from echoppe_accounts.service_layer.settings import SAMPLE_SHOP_NAME, Settings
from echoppe_accounts.service_layer.templating import (
    one_line,
    templates_for,
    tidy_text,
)

MAIL_PARTS = ("subject.txt", "body.txt", "body.html")
"""The templates of each mail kind, under ``mail/<kind>/``."""

MAIL_LINKS: Mapping[str, tuple[str, ...]] = {
    "set_password": ("link",),
    "reset_confirm": ("confirm_link", "cancel_link"),
    "newsletter_confirm": ("link",),
    "email_change_confirm": ("link",),
    "email_change_notice": ("cancel_link",),
    "email_changed": ("restore_link",),
    "signup_verify": ("link",),
}
"""The variables holding the links of each mail kind that has some, in order,
by :class:`~echoppe_accounts.MailKind` value."""

MAIL_VALUES: Mapping[str, Mapping[str, object]] = {
    "set_password": {"hours": 72},
    "temporary_password": {"temporary": "K7QM-4XPR-9TBW-HC3D", "hours": 24},
    "email_changed": {"new_email": "nouvelle.adresse@exemple.fr", "days": 7},
    "email_change_confirm": {"hours": 24},
    "email_change_notice": {
        "new_email": "nouvelle.adresse@exemple.fr",
        "hours": 24,
        "days": 7,
    },
}
"""The values of each mail kind's templates besides the common ones, by
:class:`~echoppe_accounts.MailKind` value, with the sample values the
templates are checked with at wiring; a kind not listed has none."""


def template_name(kind: MailKind, part: str) -> str:
    """Return the name of the template of *part* of the mail *kind*.

    >>> template_name(MailKind.WELCOME, "body.html")
    'mail/welcome/body.html'

    .. versionadded:: 0.2.0
    """
    return f"mail/{kind.value}/{part}"


def render(
    kind: MailKind,
    language: Language,
    *,
    mail_id: str,
    to: str,
    created_at: datetime,
    values: Mapping[str, object],
    links: Sequence[str] = (),
    settings: Settings | None = None,
) -> OutgoingMail:
    """Return the mail *kind* in *language*, filled with *values* and *links*.

    The templates are the shop's (from *settings*) before the library's; a
    language without a catalogue gets French. *values* holds ``shop`` and
    ``name`` and the values of the kind (:data:`MAIL_VALUES`); *links* the
    links of :data:`MAIL_LINKS`, in order.

    Raises:
        ValueError: *links* does not hold the links of *kind*.
        TemplateError: A template cannot render (an override was broken
            after wiring checked it, or a value is missing).
    """
    names = MAIL_LINKS.get(kind.value, ())
    if len(links) != len(names):
        msg = f"a {kind.value} mail has {len(names)} links, not {len(links)}"
        raise ValueError(msg)
    shop = settings.shop_name if settings is not None else SAMPLE_SHOP_NAME
    context: dict[str, object] = {
        "shop": shop,
        "name": "",
        **values,
        **dict(zip(names, links, strict=True)),
        "to": to,
        "sent_at": created_at,
        "base_url": settings.base_url if settings is not None else "",
        "language": catalogues().resolve(language),
        "timezone": settings.timezone if settings is not None else DEFAULT_TIMEZONE,
    }
    templates = templates_for(settings.templates if settings is not None else None)
    subject = one_line(templates.render(template_name(kind, "subject.txt"), context))
    context["subject"] = subject
    return OutgoingMail(
        id=mail_id,
        kind=kind,
        to=to,
        subject=subject,
        text=tidy_text(templates.render(template_name(kind, "body.txt"), context)),
        html=templates.render(template_name(kind, "body.html"), context),
        created_at=created_at,
    )


def render_sample(
    kind: MailKind, language: Language, settings: Settings | None = None
) -> OutgoingMail:
    """Return the mail *kind* in *language* filled with sample values.

    What :func:`~echoppe_accounts.bootstrap` renders to check the templates,
    and what a shop can look at while writing its own.

    .. versionadded:: 0.2.0
    """
    base = settings.base_url if settings is not None else "https://www.example.org"
    links = [
        f"{base.rstrip('/')}/exemple/{name.replace('_', '-')}?jeton=EXEMPLE"
        for name in MAIL_LINKS.get(kind.value, ())
    ]
    return render(
        kind,
        language,
        mail_id="exemple",
        to="claire.martin@exemple.fr",
        created_at=datetime(2026, 11, 25, 14, 7, tzinfo=UTC),
        values={"name": "Claire Martin", **MAIL_VALUES.get(kind.value, {})},
        links=links,
        settings=settings,
    )
