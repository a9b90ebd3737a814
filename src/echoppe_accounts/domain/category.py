"""Customer categories, what each is offered, and what each must supply (SPEC C1–C5).

The category is chosen first at sign-up. It selects the payment methods and
delivery modes offered, through a :class:`CategoryPolicy` that a shop may
replace; and it decides the required fields: public bodies, companies and
professionals name their organisation and give a SIRET (for Chorus Pro
invoicing), individuals give neither.

>>> company = DEFAULT_POLICY.offer(Category.COMPANY)
>>> sorted(company.payment_methods)
[<PaymentMethod.BANK_TRANSFER: 'bank_transfer'>, <PaymentMethod.CARD: 'card'>,
 <PaymentMethod.DEFERRED_INVOICE_30: 'deferred_invoice_30'>]
>>> Category.parse("collectivité")
<Category.PUBLIC_BODY: 'public_body'>
"""

from __future__ import annotations

import enum
import functools
import unicodedata
from collections.abc import Mapping

import attrs

from echoppe_accounts.domain.ape import ApeCode
from echoppe_accounts.domain.errors import Collector, ValidationError
from echoppe_accounts.domain.siret import Siren, Siret
from echoppe_accounts.domain.text import clean_text, strip_combining

ORGANISATION_NAME_LENGTH = 38
"""Longest organisation name: it is the first line of the billing address."""
SERVICE_CODE_LENGTH = 100
"""Longest Chorus Pro service code."""
ENGAGEMENT_NUMBER_LENGTH = 50
"""Longest Chorus Pro engagement (purchase-order) number."""


class Category(enum.StrEnum):
    """The four customer categories (SPEC C1).

    .. versionadded:: 0.2.0
    """

    PUBLIC_BODY = "public_body"
    """*Collectivité*, a public body, invoiced through Chorus Pro."""
    COMPANY = "company"
    """*Entreprise*."""
    INDIVIDUAL = "individual"
    """*Particulier*."""
    PROFESSIONAL = "professional"
    """*Professionnel*, a sole trader or a liberal profession."""

    @property
    def label_fr(self) -> str:
        """The French name shown to customers."""
        return _LABELS_FR[self]

    @property
    def needs_organisation(self) -> bool:
        """Whether an organisation name and a SIRET are required (SPEC C3)."""
        return self is not Category.INDIVIDUAL

    @classmethod
    def parse(cls, value: str, path: str = "category") -> Category:
        """Read a category from its code or its French name, or raise at *path*."""
        if len(value) > _MAX_INPUT:  # size before work (SPEC F9)
            raise ValidationError.single(path, "category.invalid")
        # A key as forms send it (lower-case ASCII, no space around) is its
        # own folded form: found without folding it again.
        if (category := _by_key().get(value)) is not None:
            return category
        key = _strip_accents(value.strip())
        if not key:
            raise ValidationError.single(path, "required")
        category = _by_key().get(key)
        if category is None:
            raise ValidationError.single(path, "category.invalid")
        return category


_MAX_INPUT = 64  # longer than any code or label, white space included


def _strip_accents(text: str) -> str:
    return strip_combining(unicodedata.normalize("NFKD", text.casefold()))


@functools.cache
def _by_key() -> dict[str, Category]:
    """Each category by its code and by its French name without accents."""
    keys: dict[str, Category] = {}
    for category in Category:
        keys.setdefault(category.value, category)
        keys.setdefault(_strip_accents(category.label_fr), category)
    return keys


_LABELS_FR: Mapping[Category, str] = {
    Category.PUBLIC_BODY: "collectivité",
    Category.COMPANY: "entreprise",
    Category.INDIVIDUAL: "particulier",
    Category.PROFESSIONAL: "professionnel",
}


class PaymentMethod(enum.StrEnum):
    """Payment methods a category may be offered (SPEC C2).

    .. versionadded:: 0.2.0
    """

    CARD = "card"
    """Bank card."""
    BANK_TRANSFER = "bank_transfer"
    """Bank transfer (*virement*)."""
    DEFERRED_INVOICE_30 = "deferred_invoice_30"
    """Invoice payable at 30 days."""
    ADMINISTRATIVE_MANDATE = "administrative_mandate"
    """*Mandat administratif*, paid on invoice by a public accountant."""


class DeliveryMode(enum.StrEnum):
    """Delivery modes a category may be offered (SPEC C2).

    .. versionadded:: 0.2.0
    """

    HOME = "home"
    """Delivery at home."""
    RELAY_POINT = "relay_point"
    """Delivery to a relay point."""
    BUSINESS_ADDRESS = "business_address"
    """Delivery to the business premises."""


@attrs.frozen
class Offer:
    """What one category is offered: payment methods and delivery modes.

    .. versionadded:: 0.2.0
    """

    payment_methods: frozenset[PaymentMethod]
    delivery_modes: frozenset[DeliveryMode]


def _complete(
    _instance: CategoryPolicy, _attribute: object, value: Mapping[Category, Offer]
) -> None:
    missing = set(Category) - set(value)
    if missing:
        msg = f"a category policy must cover every category; missing: {sorted(missing)}"
        raise ValueError(msg)
    for category, offer in value.items():
        if not offer.payment_methods or not offer.delivery_modes:
            msg = f"{category} must be offered at least one payment and delivery mode"
            raise ValueError(msg)


@attrs.frozen
class CategoryPolicy:
    """The shop's mapping of categories to offers; replace it to change the rules.

    >>> policy = CategoryPolicy({**DEFAULT_POLICY.offers,
    ...     Category.INDIVIDUAL: Offer(frozenset({PaymentMethod.CARD}),
    ...                                frozenset({DeliveryMode.HOME}))})
    >>> sorted(policy.offer(Category.INDIVIDUAL).payment_methods)
    [<PaymentMethod.CARD: 'card'>]

    .. versionadded:: 0.2.0
    """

    offers: Mapping[Category, Offer] = attrs.field(validator=_complete)

    def offer(self, category: Category) -> Offer:
        """Return what *category* is offered."""
        return self.offers[category]


_P = PaymentMethod
_D = DeliveryMode
DEFAULT_POLICY = CategoryPolicy(
    {
        Category.INDIVIDUAL: Offer(
            frozenset({_P.CARD, _P.BANK_TRANSFER}),
            frozenset({_D.HOME, _D.RELAY_POINT}),
        ),
        Category.PROFESSIONAL: Offer(
            frozenset({_P.CARD, _P.BANK_TRANSFER}),
            frozenset({_D.BUSINESS_ADDRESS, _D.HOME, _D.RELAY_POINT}),
        ),
        Category.COMPANY: Offer(
            frozenset({_P.CARD, _P.BANK_TRANSFER, _P.DEFERRED_INVOICE_30}),
            frozenset({_D.BUSINESS_ADDRESS}),
        ),
        Category.PUBLIC_BODY: Offer(
            frozenset({_P.ADMINISTRATIVE_MANDATE, _P.BANK_TRANSFER}),
            frozenset({_D.BUSINESS_ADDRESS}),
        ),
    }
)
"""The default offers of SPEC C2."""


class ChorusRequirement(enum.StrEnum):
    """What a public body requires on its Chorus Pro invoices (SPEC C3).

    .. versionadded:: 0.2.0
    """

    NONE = "none"
    """Nothing beyond the SIRET."""
    SERVICE = "service"
    """A service code."""
    ENGAGEMENT = "engagement"
    """An engagement (purchase-order) number."""
    BOTH = "both"
    """A service code and an engagement number."""
    EITHER = "either"
    """A service code or an engagement number."""


@attrs.frozen
class ChorusPro:
    """Chorus Pro routing data of a public body.

    .. versionadded:: 0.2.0
    """

    requirement: ChorusRequirement = ChorusRequirement.NONE
    service_code: str | None = None
    engagement_number: str | None = None

    @classmethod
    def parse(
        cls,
        requirement: str,
        service_code: str,
        engagement_number: str,
        path: str = "chorus",
    ) -> ChorusPro:
        """Validate the routing fields and the entity's requirement on them."""
        errors = Collector()
        try:
            if len(requirement) > _MAX_INPUT:  # size before work (SPEC F9)
                raise ValueError(requirement[:_MAX_INPUT])  # noqa: TRY301
            req = ChorusRequirement(requirement.strip().lower() or "none")
        except ValueError:
            errors.add(f"{path}.requirement", "chorus.requirement_invalid")
            req = ChorusRequirement.NONE
        service = _optional(
            service_code, f"{path}.service_code", SERVICE_CODE_LENGTH, errors
        )
        engagement = _optional(
            engagement_number,
            f"{path}.engagement_number",
            ENGAGEMENT_NUMBER_LENGTH,
            errors,
        )
        if req in {ChorusRequirement.SERVICE, ChorusRequirement.BOTH} and not service:
            errors.add(f"{path}.service_code", "chorus.service_code_required")
        if (
            req in {ChorusRequirement.ENGAGEMENT, ChorusRequirement.BOTH}
            and not engagement
        ):
            errors.add(f"{path}.engagement_number", "chorus.engagement_required")
        if req is ChorusRequirement.EITHER and not (service or engagement):
            errors.add(path, "chorus.service_or_engagement_required")
        errors.raise_if_any()
        return cls(req, service, engagement)

    @property
    def is_empty(self) -> bool:
        """Whether no routing data at all is held."""
        return (
            self.requirement is ChorusRequirement.NONE
            and self.service_code is None
            and self.engagement_number is None
        )


def _optional(value: str, path: str, max_length: int, errors: Collector) -> str | None:
    try:
        return clean_text(value, path, max_length=max_length) or None
    except ValidationError as exc:
        errors.extend(exc)
        return None


def _siren_alone(
    instance: Organisation, _attribute: object, value: Siren | None
) -> None:
    if value is not None and instance.siret is not None:
        msg = "an organisation with a SIRET keeps no SIREN alone: it derives from it"
        raise ValueError(msg)


@attrs.frozen
class Organisation:
    """The organisation behind a non-individual account.

    Registration always gives a SIRET (SPEC C3). Only an import of another
    shop's customers makes an organisation without one (SPEC M1): it keeps
    the SIREN alone if the shop had it, and the account misses its SIRET
    until completed (:attr:`~echoppe_accounts.Missing.SIRET`).

    Attributes:
        name: The organisation's name, first line of its billing address.
        siret: Its SIRET; ``None`` only for an imported organisation.
        chorus: A public body's Chorus Pro routing data.
        siren_alone: The SIREN an imported organisation gave without a
            SIRET; always ``None`` when :attr:`siret` is set.
        ape: Its APE (NAF) activity code, when the old shop kept one.

    .. versionadded:: 0.2.0
    """

    name: str
    siret: Siret | None = None
    chorus: ChorusPro | None = None
    siren_alone: Siren | None = attrs.field(default=None, validator=_siren_alone)
    ape: ApeCode | None = None

    @property
    def siren(self) -> str | None:
        """The SIREN, from the SIRET or kept alone; ``None`` if neither is known.

        .. versionadded:: 0.2.0
        """
        if self.siret is not None:
            return self.siret.siren
        return self.siren_alone.compact if self.siren_alone is not None else None

    @property
    def vat_number(self) -> str | None:
        """The intra-EU VAT number, derived from the SIREN when one is known.

        .. versionadded:: 0.2.0
        """
        if self.siret is not None:
            return self.siret.vat_number
        return self.siren_alone.vat_number if self.siren_alone is not None else None

    def with_siret(self, siret: Siret, path: str = "siret") -> Organisation:
        """Return this organisation with *siret*, which must match a SIREN kept alone.

        Raises:
            ValidationError: ``siret.siren_mismatch`` when the SIRET belongs
                to another company than the SIREN kept (SPEC C4, M1).

        .. versionadded:: 0.2.0
        """
        alone = self.siren_alone
        if alone is not None and siret.siren != alone.compact:
            raise ValidationError.single(
                path, "siret.siren_mismatch", siren=alone.formatted
            )
        return attrs.evolve(self, siret=siret, siren_alone=None)
