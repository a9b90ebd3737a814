"""What the Django app and the Flask blueprint share: no framework here (SPEC W1).

The pages of both are the library's ``templates/web/`` and their inputs are
named after the library's field paths (``billing_address.city``), so
reading a submitted form from a mapping, placing each reported problem
beside its input (SPEC F8), the route names mailed links are built from
(SPEC W4) and the choice of a use case behind a button are the same for
every framework. Each integration only turns its requests into mappings
and these results into its responses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from echoppe_accounts.bootstrap import App
from echoppe_accounts.domain.account import Account
from echoppe_accounts.domain.completion import AccountCompletionForm, Missing
from echoppe_accounts.domain.consent import ConsentSource
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.forms import (
    AddressForm,
    CompletionForm,
    DeliveryForm,
    OrganisationForm,
    RegistrationForm,
)
from echoppe_accounts.domain.i18n import available_languages, normalise

TOKEN_PARAMETER = "jeton"  # noqa: S105 (a parameter name, not a secret)
"""The query parameter (and hidden input) carrying a mailed link's token."""

LINK_ROUTES: Mapping[str, str] = {
    "set_password_path": "complete",
    "reset_confirm_path": "reset_confirm",
    "reset_cancel_path": "reset_cancel",
    "newsletter_confirm_path": "newsletter_confirm",
    "email_change_confirm_path": "email_change_confirm",
    "email_change_cancel_path": "email_change_cancel",
    "signup_verify_path": "signup_verify",
}
"""The library's link settings, and the route name each one is built from (W4)."""


class LinkPage(NamedTuple):
    """A mailed link's page: what its button does, and what is said after.

    Both frameworks build the view of each from these (``token_page``): GET
    shows ``web/<page>.html`` with the link's token, the button's POST
    calls *act* with it, then the ``message`` page of kind *done*.
    """

    page: str
    act: Callable[[App, str], None]
    done: str


LINK_PAGES: Mapping[str, LinkPage] = {
    page.page: page
    for page in (
        LinkPage(
            "reset_confirm",
            lambda app, t: app.auth.confirm_password_reset(t),
            "reset_confirmed",
        ),
        LinkPage(
            "reset_cancel",
            lambda app, t: app.auth.cancel_password_reset(t),
            "reset_cancelled",
        ),
        LinkPage(
            "email_change_confirm",
            lambda app, t: app.accounts.confirm_email_change(t),
            "email_changed",
        ),
        LinkPage(
            "email_change_cancel",
            lambda app, t: app.accounts.cancel_email_change(t),
            "email_change_cancelled",
        ),
        LinkPage(
            "newsletter_confirm",
            lambda app, t: app.privacy.confirm_newsletter_subscription(t),
            "newsletter_confirmed",
        ),
    )
}
"""The pages of the mailed links whose button calls one use case, by route name."""

DEVICE_SALT = "echoppe_accounts.device"
"""The salt of the device cookie's signature (SPEC P4)."""

HTTP_BAD_REQUEST = 400
HTTP_NOT_FOUND = 404
HTTP_TOO_MANY = 429

Errors = dict[str, list[str]]
"""The messages of a refused form, by input name (``""``: the whole form)."""

ORGANISATION_INPUTS = (
    "organisation_name",
    "siret",
    "chorus_requirement",
    "chorus_service_code",
    "chorus_engagement_number",
)
SIGNUP_INPUTS = (
    "category",
    "email",
    "password",
    "name",
    "phone",
    *ORGANISATION_INPUTS,
    "billing_address.street_lines",
    "billing_address.postal_code",
    "billing_address.city",
    "billing_address.country",
    "delivery_addresses[0].contact_name",
)
# The sign-up form's one address is the billing and the first delivery one.
SIGNUP_ALIASES = {"delivery_addresses[0].address": "billing_address"}
COMPLETION_INPUTS = ("password", "phone", "name", "category", *ORGANISATION_INPUTS)
ADDRESS_INPUTS = (
    "contact_name",
    "label",
    "address.street_lines",
    "address.postal_code",
    "address.city",
    "address.country",
)
ACCOUNT_COMPLETION_INPUTS = (
    "phone",
    "organisation_name",
    "siret",
    "billing_address.street_lines",
    "billing_address.postal_code",
    "billing_address.city",
    "billing_address.country",
    "delivery.contact_name",
)
# The completion page's one address is the billing and the first delivery one.
ACCOUNT_COMPLETION_ALIASES = {"delivery.address": "billing_address"}
CSRF_INPUTS = ("csrfmiddlewaretoken", "csrf_token")
"""The CSRF inputs of Django and of Flask-WTF: never shown again."""


def pick_language(wanted: str, default: str) -> str:
    """Return *wanted* (or its base language) if a catalogue has it, else *default*."""
    code = normalise(wanted or "") or ""
    if code:
        for candidate in (code, code.split("_")[0]):
            if candidate in available_languages() or candidate == "en":
                return candidate
    return default


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
    hidden = {*CSRF_INPUTS, TOKEN_PARAMETER, *secret}
    return {
        k: str(v) for k, v in data.items() if k not in hidden and "password" not in k
    }


def link_refused_detail(exc: ValidationError, lang: str) -> str:
    """Return the message of a refused mailed link (used, expired, unknown)."""
    problems = exc.as_dict(lang)
    return str((problems.get("token") or next(iter(problems.values())))[0]["message"])


def address_form(data: Mapping[str, str], prefix: str) -> AddressForm:
    """Read an address typed in the inputs ``<prefix>.street_lines`` and so on."""
    return AddressForm(
        data.get(f"{prefix}.street_lines", "").splitlines(),
        data.get(f"{prefix}.postal_code", ""),
        data.get(f"{prefix}.city", ""),
        data.get(f"{prefix}.country", "") or "FR",
    )


def address_values(address: object, prefix: str = "address") -> dict[str, str]:
    """Return the inputs of an address form filled with a stored *address*."""
    return {
        f"{prefix}.street_lines": "\n".join(getattr(address, "street_lines", ())),
        f"{prefix}.postal_code": str(getattr(address, "postal_code", "")),
        f"{prefix}.city": str(getattr(address, "city", "")),
        f"{prefix}.country": str(getattr(address, "country", "")),
    }


def registration_form(
    data: Mapping[str, str], *, language: str, wording: str
) -> RegistrationForm:
    """Read the sign-up page's inputs (four categories, SPEC F1–F8, C1–C4)."""
    address = address_form(data, "billing_address")
    wants_news = bool(data.get("newsletter"))
    return RegistrationForm(
        category=data.get("category", ""),
        email=data.get("email", ""),
        phone=data.get("phone", ""),
        name=data.get("name", ""),
        password=data.get("password", ""),
        organisation_name=data.get("organisation_name", ""),
        siret=data.get("siret", ""),
        chorus_requirement=data.get("chorus_requirement", ""),
        chorus_service_code=data.get("chorus_service_code", ""),
        chorus_engagement_number=data.get("chorus_engagement_number", ""),
        billing_address=address,
        delivery_addresses=[
            DeliveryForm(data.get("delivery_addresses[0].contact_name", ""), address)
        ],
        newsletter=wants_news,
        newsletter_wording_version=wording if wants_news else "",
        language=language,
    )


def completion_form(data: Mapping[str, str]) -> CompletionForm:
    """Read the express completion page's inputs (SPEC X2)."""
    return CompletionForm(
        password=data.get("password", ""),
        phone=data.get("phone", ""),
        name=data.get("name", ""),
        category=data.get("category", ""),
        organisation=OrganisationForm(*(data.get(k, "") for k in ORGANISATION_INPUTS)),
    )


def account_completion_form(
    data: Mapping[str, str], account: Account
) -> AccountCompletionForm:
    """Read the completion page's inputs: the pieces *account* misses (SPEC M1).

    The page's one address is the billing address and the first delivery
    address, with its contact name; it is read only when the account has
    no address yet.
    """
    address = None
    if Missing.ADDRESS in account.missing:
        address = address_form(data, "billing_address")
    return AccountCompletionForm(
        phone=data.get("phone", ""),
        billing_address=address,
        delivery=None
        if address is None
        else DeliveryForm(data.get("delivery.contact_name", ""), address),
        siret=data.get("siret", ""),
        organisation_name=data.get("organisation_name", ""),
    )


def account_completion_page(account: Account) -> dict[str, Any]:
    """Return what the completion page shows of *account* (SPEC M1)."""
    org = account.organisation
    return {
        "missing": sorted(m.value for m in account.missing),
        "ask_organisation_name": org is None,
        "siren": org.siren_alone.formatted if org and org.siren_alone else "",
    }


def delivery_form(data: Mapping[str, str]) -> DeliveryForm:
    """Read the address book's delivery address inputs (SPEC A1)."""
    return DeliveryForm(
        data.get("contact_name", ""),
        address_form(data, "address"),
        data.get("label", ""),
    )


def message(field: str, code: str, lang: str) -> str:
    """Return the catalogue's message of *code* on *field*, in *lang*."""
    return ValidationError.single(field, code).errors[0].message(lang)


def erase_problems(*, confirmed: bool, password_right: bool, lang: str) -> Errors:
    """The problems of an erasure form: the confirmation and the password (G3)."""
    errors: Errors = {}
    if not confirmed:
        errors["confirm"] = [message("confirm", "required", lang)]
    if not password_right:
        errors["password"] = [
            message("current_password", "password.wrong_current", lang)
        ]
    return errors


def change_newsletter(
    app: App, account: Account, *, unsubscribe: bool, wording: str
) -> str:
    """Subscribe or unsubscribe from the account page; return the notice (F7).

    A proven mailbox subscribes at once; another gets a confirmation link
    first (double opt-in).
    """
    if unsubscribe:
        app.accounts.unsubscribe_newsletter(
            account.id, source=ConsentSource.ACCOUNT_PAGE
        )
        return "newsletter_unsubscribed"
    if account.email_proven_at is not None:
        app.accounts.subscribe_newsletter(
            account.id, source=ConsentSource.ACCOUNT_PAGE, wording_version=wording
        )
        return "newsletter_subscribed"
    app.privacy.request_newsletter_subscription(
        account.id, source=ConsentSource.ACCOUNT_PAGE, wording_version=wording
    )
    return "newsletter_confirm_sent"


def retry_after(seconds: float) -> str:
    """Return a ``Retry-After`` value: whole seconds, rounded up (SPEC W4)."""
    return str(int(seconds + 0.999))
