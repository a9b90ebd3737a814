"""What an imported account still misses, and the form that completes it (SPEC M1).

Another shop may never have asked what SPEC requires: a phone (F2), an
address (A1, X1), a SIRET for a business (C3). Its customers come over all
the same, as accounts *to complete*: :attr:`Account.missing
<echoppe_accounts.Account.missing>` says what each lacks, computed from
what it holds (nothing is stored), and the shop shows the completion form
at the next login (:attr:`LoginResult.to_complete
<echoppe_accounts.LoginResult.to_complete>`) until it empties.

>>> sorted(missing_pieces(has_phone=False, has_addresses=True,
...                       needs_organisation=True, has_siret=False))
[<Missing.PHONE: 'phone'>, <Missing.SIRET: 'siret'>]

The form asks for exactly what is missing: a piece that is missing is
required, one that is not is refused (it changes through the ordinary
operations), and every problem is reported at once (SPEC F8).

>>> form = AccountCompletionForm(phone="01 23 45 67 89", siret="732 829 320 00074")
>>> try:
...     parse_completion(form, frozenset({Missing.SIRET}))
... except ValidationError as exc:
...     [(e.path, e.code) for e in exc.errors]
[('phone', 'completion.not_missing')]

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import enum

import attrs

from echoppe_accounts.domain.address import PostalAddress
from echoppe_accounts.domain.category import ORGANISATION_NAME_LENGTH
from echoppe_accounts.domain.errors import Collector, ValidationError
from echoppe_accounts.domain.forms import (
    AddressForm,
    DeliveryForm,
    ParsedDelivery,
    attempt,
    parse_address,
    parse_delivery,
    parse_text,
)
from echoppe_accounts.domain.phone import Phone
from echoppe_accounts.domain.siret import Siret

__all__ = [
    "AccountCompletionForm",
    "Missing",
    "ParsedCompletion",
    "missing_pieces",
    "parse_completion",
]


class Missing(enum.StrEnum):
    """A piece SPEC requires that an imported account lacks (SPEC M1).

    .. versionadded:: 0.2.0
    """

    PHONE = "phone"
    """No phone number (SPEC F2)."""
    ADDRESS = "address"
    """No address book: neither a billing nor a delivery address (SPEC A1, X1)."""
    SIRET = "siret"
    """A business category without an organisation or without its SIRET (C3)."""


NOTHING_MISSING: frozenset[Missing] = frozenset()
"""What a complete account misses.

.. versionadded:: 0.2.0
"""


def missing_pieces(
    *,
    has_phone: bool,
    has_addresses: bool,
    needs_organisation: bool,
    has_siret: bool,
    erased: bool = False,
) -> frozenset[Missing]:
    """Return what an account holding these pieces misses; erased ones miss nothing.

    The one rule behind :attr:`Account.missing
    <echoppe_accounts.Account.missing>` and what storage answers a login
    (:attr:`Credentials.missing <echoppe_accounts.Credentials.missing>`).

    .. versionadded:: 0.2.0
    """
    if erased:
        return NOTHING_MISSING
    pieces = set()
    if not has_phone:
        pieces.add(Missing.PHONE)
    if not has_addresses:
        pieces.add(Missing.ADDRESS)
    if needs_organisation and not has_siret:
        pieces.add(Missing.SIRET)
    return frozenset(pieces)


@attrs.frozen
class AccountCompletionForm:
    """What the completion form of an account to complete sends (SPEC M1).

    Raw strings, as typed; only the missing pieces may be filled in. The
    organisation name is asked only of a business account that has no
    organisation at all. (``CompletionForm`` is the express account's
    set-password form, SPEC X2.)

    .. versionadded:: 0.2.0
    """

    phone: str = ""
    billing_address: AddressForm | None = None
    delivery: DeliveryForm | None = None
    siret: str = ""
    organisation_name: str = ""


@attrs.frozen
class ParsedCompletion:
    """A validated completion, ready for :meth:`Account.complete`.

    .. versionadded:: 0.2.0
    """

    phone: Phone | None = None
    billing: PostalAddress | None = None
    delivery: ParsedDelivery | None = None
    siret: Siret | None = None
    organisation_name: str | None = None


def parse_completion(
    form: AccountCompletionForm,
    missing: frozenset[Missing],
    *,
    has_organisation: bool = True,
    phone_region: str | None = None,
) -> ParsedCompletion:
    """Validate *form* against what the account *missing*; raise with every problem.

    A missing piece is ``required``; a piece given that is not missing is
    ``completion.not_missing``. *has_organisation* tells whether a business
    account lacking its SIRET has an organisation (else its name is asked
    too); *phone_region* reads a national phone number when no billing
    address is given (SPEC F2).

    Raises:
        ValidationError: every problem at once (SPEC F8);
            ``account.already_complete`` when nothing is missing.

    .. versionadded:: 0.2.0
    """
    errors = Collector()
    if not missing:
        raise ValidationError.single("account", "account.already_complete")
    billing = _billing(form, errors, wanted=Missing.ADDRESS in missing)
    delivery = _delivery(form, errors, wanted=Missing.ADDRESS in missing)
    hint = billing.country if billing is not None else phone_region
    phone = None
    if Missing.PHONE in missing:
        phone = attempt(errors, "", lambda: Phone.parse(form.phone, hint=hint))
    elif form.phone.strip():
        errors.add("phone", "completion.not_missing")
    siret = None
    name = None
    if Missing.SIRET in missing:
        siret = attempt(errors, "", lambda: Siret.parse(form.siret, "siret"))
        if not has_organisation:
            name = parse_text(
                form.organisation_name,
                "organisation_name",
                ORGANISATION_NAME_LENGTH,
                errors,
            )
    elif form.siret.strip():
        errors.add("siret", "completion.not_missing")
    if form.organisation_name.strip() and (
        Missing.SIRET not in missing or has_organisation
    ):
        errors.add("organisation_name", "completion.not_missing")
    errors.raise_if_any()
    return ParsedCompletion(phone, billing, delivery, siret, name)


def _billing(
    form: AccountCompletionForm, errors: Collector, *, wanted: bool
) -> PostalAddress | None:
    if form.billing_address is None:
        if wanted:
            errors.add("billing_address", "required")
        return None
    if not wanted:
        errors.add("billing_address", "completion.not_missing")
        return None
    return parse_address(form.billing_address, "billing_address", errors)


def _delivery(
    form: AccountCompletionForm, errors: Collector, *, wanted: bool
) -> ParsedDelivery | None:
    if form.delivery is None:
        if wanted:
            errors.add("delivery", "required")
        return None
    if not wanted:
        errors.add("delivery", "completion.not_missing")
        return None
    return parse_delivery(form.delivery, "delivery", errors)
