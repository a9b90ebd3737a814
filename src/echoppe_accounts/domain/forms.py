"""Raw input of the public use cases, and its validation into domain values.

A shop passes what its forms received, as strings; the library validates
every field and reports every problem at once, each with a path that points
into the form (``delivery_addresses[0].address.postal_code``), a stable code
and French and English messages (SPEC F8).

>>> form = RegistrationForm(category="entreprise", email="compta@exemple.fr",
...     siret="123", billing_address=AddressForm(["1 rue X"], "75001", "Paris"))
>>> try:
...     parse_registration(form)
... except ValidationError as exc:
...     sorted(e.path for e in exc.errors)
['delivery_addresses', 'name', 'organisation_name', 'password', 'phone', 'siret']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import attrs

from echoppe_accounts.domain.address import PostalAddress
from echoppe_accounts.domain.addressbook import (
    CONTACT_NAME_LENGTH,
    LABEL_LENGTH,
    MAX_DELIVERY_ADDRESSES,
)
from echoppe_accounts.domain.category import (
    ORGANISATION_NAME_LENGTH,
    Category,
    ChorusPro,
    Organisation,
)
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import Collector, Language, ValidationError
from echoppe_accounts.domain.i18n import (
    DEFAULT_LANGUAGE,
    available_languages,
    normalise,
)
from echoppe_accounts.domain.password import PasswordPolicy
from echoppe_accounts.domain.phone import Phone
from echoppe_accounts.domain.siret import Siret
from echoppe_accounts.domain.text import clean_text

T = TypeVar("T")


def _seq(value: Sequence[str] | str) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _deliveries(value: Iterable[DeliveryForm]) -> tuple[DeliveryForm, ...]:
    return tuple(value)


@attrs.frozen
class AddressForm:
    """A postal address as typed.

    .. versionadded:: 0.2.0
    """

    street_lines: tuple[str, ...] = attrs.field(default=(), converter=_seq)
    postal_code: str = ""
    city: str = ""
    country: str = "FR"


@attrs.frozen
class DeliveryForm:
    """A delivery address as typed: contact name, address, optional label.

    .. versionadded:: 0.2.0
    """

    contact_name: str = ""
    address: AddressForm = AddressForm()
    label: str = ""


@attrs.frozen
class OrganisationForm:
    """The category-specific fields as typed (SPEC C3).

    .. versionadded:: 0.2.0
    """

    organisation_name: str = ""
    siret: str = ""
    chorus_requirement: str = ""
    chorus_service_code: str = ""
    chorus_engagement_number: str = ""

    @property
    def is_blank(self) -> bool:
        """Whether nothing at all was typed."""
        return not any(s.strip() for s in attrs.astuple(self))


@attrs.frozen(repr=False)
class RegistrationForm:
    """Everything the full registration form sends (SPEC F1–F7).

    Its ``repr`` hides the password.

    .. versionadded:: 0.2.0
    """

    category: str = ""
    email: str = ""
    phone: str = ""
    name: str = ""
    password: str = ""
    organisation_name: str = ""
    siret: str = ""
    chorus_requirement: str = ""
    chorus_service_code: str = ""
    chorus_engagement_number: str = ""
    billing_address: AddressForm = AddressForm()
    delivery_addresses: tuple[DeliveryForm, ...] = attrs.field(
        default=(), converter=_deliveries
    )
    newsletter: bool = False
    newsletter_wording_version: str = ""
    language: str = "fr"

    @property
    def organisation(self) -> OrganisationForm:
        """The category-specific fields."""
        return OrganisationForm(
            self.organisation_name,
            self.siret,
            self.chorus_requirement,
            self.chorus_service_code,
            self.chorus_engagement_number,
        )

    def __repr__(self) -> str:
        """Show the form without its password."""
        return f"RegistrationForm(category={self.category!r}, email={self.email!r}, …)"


@attrs.frozen
class ExpressForm:
    """What express creation at checkout sends: an email and a delivery address.

    *name* is the customer's own name for invoices; when empty, the delivery
    contact name given at checkout stands in for it until the customer
    completes the account.

    .. versionadded:: 0.2.0
    """

    email: str = ""
    delivery_address: DeliveryForm = DeliveryForm()
    name: str = ""
    newsletter: bool = False
    newsletter_wording_version: str = ""
    language: str = "fr"


@attrs.frozen(repr=False)
class CompletionForm:
    """What completing an express account sends (SPEC X2).

    .. versionadded:: 0.2.0
    """

    password: str = ""
    phone: str = ""
    name: str = ""
    category: str = ""
    organisation: OrganisationForm = OrganisationForm()

    def __repr__(self) -> str:
        """Show the form without its password."""
        return f"CompletionForm(category={self.category!r}, …)"


@attrs.frozen
class ParsedDelivery:
    """A validated delivery address, not yet given an id.

    .. versionadded:: 0.2.0
    """

    contact_name: str
    address: PostalAddress
    label: str | None


@attrs.frozen
class ParsedRegistration:
    """A validated registration, ready to become an account."""

    category: Category
    email: Email
    phone: Phone
    name: str
    password: str = attrs.field(repr=False)
    organisation: Organisation | None
    billing: PostalAddress
    deliveries: tuple[ParsedDelivery, ...]
    newsletter_wording_version: str | None
    language: Language


def attempt(errors: Collector, prefix: str, parse: Callable[[], T]) -> T | None:
    """Run *parse*, recording its :class:`ValidationError` under *prefix*."""
    try:
        return parse()
    except ValidationError as exc:
        errors.extend(exc, prefix)
        return None


def parse_text(value: str, path: str, max_length: int, errors: Collector) -> str | None:
    """Return required, cleaned free text, recording a problem in *errors*."""
    try:
        text = clean_text(value, path, max_length=max_length)
    except ValidationError as exc:
        errors.extend(exc)
        return None
    if text == "":
        errors.add(path, "required")
        return None
    return text


def parse_address(
    form: AddressForm, path: str, errors: Collector
) -> PostalAddress | None:
    """Validate an address form, recording problems under *path*."""
    try:
        return PostalAddress.parse(
            form.street_lines, form.postal_code, form.city, form.country
        )
    except ValidationError as exc:
        errors.extend(exc, path)
        return None


def parse_delivery(
    form: DeliveryForm, path: str, errors: Collector
) -> ParsedDelivery | None:
    """Validate a delivery form, recording problems under *path*."""
    contact = parse_text(
        form.contact_name, f"{path}.contact_name", CONTACT_NAME_LENGTH, errors
    )
    try:
        label: str | None = clean_text(
            form.label, f"{path}.label", max_length=LABEL_LENGTH
        )
    except ValidationError as exc:
        errors.extend(exc)
        label = None
    address = parse_address(form.address, f"{path}.address", errors)
    if contact is None or address is None:
        return None
    return ParsedDelivery(contact, address, label or None)


def parse_deliveries(
    forms: Sequence[DeliveryForm], errors: Collector
) -> tuple[ParsedDelivery, ...]:
    """Validate one to fifty delivery forms (SPEC A1)."""
    if not forms:
        errors.add("delivery_addresses", "address.delivery_required")
    if len(forms) > MAX_DELIVERY_ADDRESSES:
        errors.add(
            "delivery_addresses",
            "address.too_many_deliveries",
            max=MAX_DELIVERY_ADDRESSES,
        )
        return ()
    parsed = [
        parse_delivery(f, f"delivery_addresses[{i}]", errors)
        for i, f in enumerate(forms)
    ]
    return tuple(p for p in parsed if p is not None)


def parse_organisation(
    category: Category | None,
    form: OrganisationForm | RegistrationForm,
    errors: Collector,
) -> Organisation | None:
    """Validate the category-specific fields against *category* (SPEC C3).

    *form* is an :class:`OrganisationForm`, or a :class:`RegistrationForm`,
    whose fields of the same names are read without copying them into one.
    """
    if category is None:
        return None
    if not category.needs_organisation:
        for field in (
            "organisation_name",
            "siret",
            "chorus_service_code",
            "chorus_engagement_number",
        ):
            if getattr(form, field).strip():
                errors.add(field, "not_allowed")
        return None
    name = parse_text(
        form.organisation_name, "organisation_name", ORGANISATION_NAME_LENGTH, errors
    )
    try:
        siret: Siret | None = Siret.parse(form.siret, "siret")
    except ValidationError as exc:
        errors.extend(exc)
        siret = None
    chorus: ChorusPro | None = None
    if category is Category.PUBLIC_BODY:
        chorus = attempt(
            errors,
            "",
            lambda: ChorusPro.parse(
                form.chorus_requirement,
                form.chorus_service_code,
                form.chorus_engagement_number,
            ),
        )
    elif form.chorus_service_code.strip() or form.chorus_engagement_number.strip():
        errors.add("chorus", "chorus.not_public_body")
    if name is None or siret is None:
        return None
    if chorus is not None and chorus.is_empty:
        chorus = None
    return Organisation(name, siret, chorus)


_LANGUAGE_MAX_INPUT = 16


def parse_language(value: str, errors: Collector) -> Language:
    """Return the language of *value* if it has a catalogue, else an error.

    ``"fr"`` (also for an empty value), ``"en"``, or a language the shop
    added with its catalogues (SPEC T1).
    """
    languages = available_languages()
    if value in languages:  # a catalogue's own name, as most forms send it
        return value
    if len(value) > _LANGUAGE_MAX_INPUT:  # size before work (SPEC F9)
        errors.add("language", "language.invalid", choices=_choices(languages))
        return DEFAULT_LANGUAGE
    code = normalise(value.strip() or DEFAULT_LANGUAGE)
    if code is None or code not in languages:
        errors.add("language", "language.invalid", choices=_choices(languages))
        return DEFAULT_LANGUAGE
    return code


def _choices(languages: frozenset[str]) -> str:
    return ", ".join(sorted(languages))


def parse_consent(subscribe: bool, wording: str, errors: Collector) -> str | None:  # noqa: FBT001
    """Return the consent wording version for a subscription, if any (SPEC F7)."""
    if not subscribe:
        return None
    version = attempt(
        errors,
        "",
        lambda: clean_text(wording, "newsletter_wording_version", max_length=40),
    )
    if version == "":
        errors.add("newsletter_wording_version", "consent.wording_required")
    return version or None


def parse_password(
    password: str,
    policy: PasswordPolicy,
    personal: Sequence[str | None],
    errors: Collector,
) -> str | None:
    """Check a new password against *policy* and the customer's own words."""
    if not password:
        errors.add("password", "required")
        return None
    try:
        return policy.check(password, personal=[w for w in personal if w])
    except ValidationError as exc:
        errors.extend(exc)
        return None


def phone_hint(
    billing: PostalAddress | None, deliveries: Sequence[ParsedDelivery] = ()
) -> str | None:
    """Return the country that reads a national phone number (SPEC F2).

    The billing address's country, else the first delivery address's.

    .. versionadded:: 0.2.0
    """
    if billing is not None:
        return billing.country
    return deliveries[0].address.country if deliveries else None


def parse_registration(
    form: RegistrationForm,
    policy: PasswordPolicy | None = None,
    *,
    check_password: bool = True,
) -> ParsedRegistration:
    """Validate a full registration; raise one :class:`ValidationError` with all.

    With *check_password* false the password field is not read and the
    result's password is empty: an import of existing customers brings a
    password hash, or none, instead of a password to check against the
    policy (SPEC O4); everything else is validated as at sign-up.
    """
    errors = Collector()
    try:
        category: Category | None = Category.parse(form.category)
    except ValidationError as exc:
        errors.extend(exc)
        category = None
    try:
        email: Email | None = Email.parse(form.email)
    except ValidationError as exc:
        errors.extend(exc)
        email = None
    name = parse_text(form.name, "name", 38, errors)
    organisation = parse_organisation(category, form, errors)
    billing = parse_address(form.billing_address, "billing_address", errors)
    deliveries = parse_deliveries(form.delivery_addresses, errors)
    # The address country tells which region a national number belongs to
    # where the French plan cannot (SPEC F2): the billing address's, else the
    # first delivery address's. Read after the addresses, reported in order.
    hint = phone_hint(billing, deliveries)
    try:
        phone: Phone | None = Phone.parse(form.phone, hint=hint)
    except ValidationError as exc:
        errors.extend(exc)
        phone = None
    wording = parse_consent(form.newsletter, form.newsletter_wording_version, errors)
    language = parse_language(form.language, errors)
    password = (
        parse_password(
            form.password,
            policy or PasswordPolicy(),
            # Only values that passed their own checks: a 10 MB organisation
            # name typed by an individual must not reach the policy (SPEC F9).
            [
                email.address if email else None,
                name,
                organisation.name if organisation else None,
            ],
            errors,
        )
        if check_password
        else ""
    )
    errors.raise_if_any()
    # The collector raised nothing, so every parsed value is present.
    assert category is not None  # noqa: S101
    assert email is not None  # noqa: S101
    assert phone is not None  # noqa: S101
    assert name is not None  # noqa: S101
    assert billing is not None  # noqa: S101
    assert password is not None  # noqa: S101
    return ParsedRegistration(
        category=category,
        email=email,
        phone=phone,
        name=name,
        password=password,
        organisation=organisation,
        billing=billing,
        deliveries=deliveries,
        newsletter_wording_version=wording,
        language=language,
    )
