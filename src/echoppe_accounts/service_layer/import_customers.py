"""One customer of another shop validated into a candidate account (SPEC M1, M2).

:func:`validate_customer` reads an
:class:`~echoppe_accounts.service_layer.import_records.ImportedCustomer` as
the sign-up form is read (the same value objects, codes and messages), but
what SPEC requires and the old shop never asked for makes an account *to
complete* instead of a refusal (SPEC M1): a missing or unusable phone, no
usable address, a business without a SIRET (its SIREN kept when it gave
one). Each change made on the way is a report entry (SPEC M2): a
:class:`~echoppe_accounts.FieldError` whose path names the field (the CSV
import's column names) and whose code says what happened:

========================================  ==============================================
code                                      what the import did
========================================  ==============================================
``import.to_complete.phone``              no usable phone: asked at the next login
``import.to_complete.address``            no usable address: asked at the next login
``import.to_complete.siret``              a business without a SIRET
``import.siren_kept``                     its SIREN kept (its SIRET asked at login)
``import.address_split``                  street lines laid out along AFNOR NF Z10-011
``import.address_unusable``               an address not kept (the field says why)
``import.address_beyond_max``             an address past the 50 an account may hold
``import.phone_unusable``                 a phone not kept (the next one was tried)
``import.siret_unusable``                 a SIRET or SIREN not kept
``import.ape_unusable``                   an APE code not kept
``import.organisation_name_unusable``     a company name not kept (asked at login)
``import.name_shortened``                 first names as initials, to fit 38 characters
``import.optin_reported``                 partners' offers accepted: the shop decides
``import.language_unknown``               a language without catalogue: the default
``import.disabled``                       disabled in the old shop: disabled here
``import.guest_not_invited``              a guest: an express account, not mailed
``import.guest_merged``                   a guest row and a registered one: one account
``import.hash_not_kept``                  a password hash not kept: invited
``import.field_dropped``                  a field an account has no place for
``import.created_at_missing``             no creation date: the import's time
``import.newsletter_undated``             a subscription without its date
``import.line_conflict``                  (CSV) a later line of the customer differs
========================================  ==============================================

A customer is refused only when no account can be made of it: no valid
email, no usable name (empty, unreadable, or too long for an invoice's
first line even with its first names as initials), an unknown category,
Chorus Pro data that break C3, an organisation for an explicit
individual, or (CSV) a subscription without the wording's version, a
date or a yes/no cell that cannot be read.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

import attrs

from echoppe_accounts.domain.address import PostalAddress
from echoppe_accounts.domain.addressbook import (
    CONTACT_NAME_LENGTH,
    LABEL_LENGTH,
    MAX_DELIVERY_ADDRESSES,
)
from echoppe_accounts.domain.afnor import (
    LINE_LENGTH,
    MAX_STREET_LINES,
    fit_street_lines,
)
from echoppe_accounts.domain.ape import ApeCode
from echoppe_accounts.domain.category import (
    ORGANISATION_NAME_LENGTH,
    Category,
    ChorusPro,
    Organisation,
)
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import Collector, FieldError, ValidationError
from echoppe_accounts.domain.forms import ParsedDelivery
from echoppe_accounts.domain.i18n import DEFAULT_LANGUAGE, normalise
from echoppe_accounts.domain.legacy_hash import WORDPRESS_PREFIX, usable_legacy_hash
from echoppe_accounts.domain.phone import Phone
from echoppe_accounts.domain.siret import Siren, Siret
from echoppe_accounts.domain.text import clean_text
from echoppe_accounts.service_layer.import_records import (
    ImportedAddress,
    ImportedCustomer,
)

__all__ = ["CHANGE_CODES", "Candidate", "ImportContext", "validate_customer"]

CHANGE_CODES: Final = frozenset(
    {
        "import.to_complete.phone",
        "import.to_complete.address",
        "import.to_complete.siret",
        "import.siren_kept",
        "import.address_split",
        "import.address_unusable",
        "import.address_beyond_max",
        "import.phone_unusable",
        "import.siret_unusable",
        "import.ape_unusable",
        "import.organisation_name_unusable",
        "import.name_shortened",
        "import.optin_reported",
        "import.language_unknown",
        "import.disabled",
        "import.guest_not_invited",
        "import.guest_merged",
        "import.hash_not_kept",
        "import.field_dropped",
        "import.created_at_missing",
        "import.newsletter_undated",
        "import.line_conflict",
        "import.unverified_replaced",
    }
)
"""The codes of the report's entries that say what was changed, not refused.

Every other code of a report refuses its customer (or CSV line).

.. versionadded:: 0.2.0
"""

NAME_LENGTH = 38  # the first line of an individual's invoice
_SIREN_DIGITS = 9
_SIRET_INPUT = 64  # longer: a SIRET's own check refuses it (SPEC F9)
_SEPARATORS = str.maketrans("", "", " .\t\u00a0")


def _compact(number: str) -> str:
    return number.translate(_SEPARATORS)


_SHOWN = 200  # characters of an original text quoted in the report


@attrs.frozen
class ImportContext:
    """What a run tells the validation of each customer.

    Attributes:
        keep_hashes: Keep usable bcrypt and phpass hashes (the login's
            hasher checks them); otherwise their owners are invited.
        keep_wordpress: Keep usable WordPress 6.8+ hashes (``$wp$2y$…``)
            too (the login's hasher checks them).
        languages: The languages the shop has catalogues for.
        newsletter_wording: The consent wording's version of a source that
            keeps none per customer; ``None`` when it must come with each.
        dated: The source keeps creation dates: one that lacks it is
            reported.
        newsletter_dated: The source keeps subscriptions' dates: one that
            lacks it is reported.
        invite_guests: Mail guests the set-password link too.

    .. versionadded:: 0.2.0
    """

    keep_hashes: bool
    languages: frozenset[str]
    newsletter_wording: str | None = None
    dated: bool = True
    invite_guests: bool = False
    newsletter_dated: bool = True
    keep_wordpress: bool = False


@attrs.define
class Candidate:
    """A customer ready to become an account, with the changes made to get there.

    Not frozen, for speed (one per line of a file); nothing changes it once
    made.

    .. versionadded:: 0.2.0
    """

    line: int
    """Its position in the source (the CSV line number), for the report's order."""
    ref: str
    """The old shop's id of the customer, or the CSV line number."""
    email: Email
    name: str
    category: Category
    phone: Phone | None
    organisation: Organisation | None
    billing: PostalAddress | None
    deliveries: tuple[ParsedDelivery, ...]
    language: str
    password_hash: str | None = attrs.field(repr=False)
    created_at: datetime | None = None
    newsletter: tuple[datetime | None, str] | None = None
    """When the customer subscribed (``None`` if not known), and the wording."""
    disabled: bool = False
    guest: bool = False
    invite: bool = False
    """Whether the customer is sent the set-password mail.

    It is when there is no usable hash, the account is not disabled, and
    it is not a guest's (unless the shop invites guests)."""
    changes: tuple[FieldError, ...] = ()


def _text(value: str, path: str, max_length: int, errors: Collector) -> str | None:
    try:
        text = clean_text(value, path, max_length=max_length)
    except ValidationError as exc:
        errors.extend(exc)
        return None
    if not text:
        errors.add(path, "required")
        return None
    return text


def _initials(names: str) -> str:
    """``Marie-Christine Anne`` → ``M.-C. A.``: first names as AFNOR shortens them."""
    return " ".join(
        "-".join(f"{part[0]}." for part in word.split("-") if part)
        for word in names.split()
    )


def _person_name(record: ImportedCustomer, reader: _Reader) -> str | None:
    """The customer's name, first names shortened to initials if too long (A4).

    The name is an invoice's first line (38 characters); a longer one keeps
    its last name whole and its first names as initials, reported. Only a
    name that cannot fit even so, or is unreadable, is refused.
    """
    probe = Collector()
    name = _text(record.name, "name", NAME_LENGTH, probe)
    if name is not None or record.name.strip() == "":
        reader.refuse(probe)
        return name
    if record.last_name.strip():
        first, last = record.first_name, record.last_name
    else:  # one field: the last word is the last name
        first, _, last = record.name.strip().rpartition(" ")
    shortened = Collector()
    short = _text(f"{_initials(first)} {last}", "name", NAME_LENGTH, shortened)
    if short is None or not first.strip():
        reader.refuse(probe)
        return None
    reader.change("name", "import.name_shortened", value=_shown(record.name))
    return short


def _shown(text: str) -> str:
    return " ".join(text.split())[:_SHOWN]


def _original(address: ImportedAddress) -> str:
    street = " / ".join(p for p in (address.address1, address.address2) if p.strip())
    parts = (street, f"{address.postal_code} {address.city}".strip(), address.country)
    return _shown(", ".join(p for p in parts if p.strip()))


@attrs.define
class _Reader:
    """The reading of one customer: its refusals and its changes."""

    record: ImportedCustomer
    context: ImportContext
    errors: Collector = attrs.Factory(Collector)
    changes: list[FieldError] = attrs.Factory(list)

    def refuse(self, problems: Collector) -> None:
        """Refuse the customer for *problems*."""
        for error in problems.errors:
            self.errors.add(error.path, error.code, **error.params)

    def change(self, path: str, code: str, **params: object) -> None:
        self.changes.append(FieldError(path, code, params))

    # -- the category and the organisation (SPEC C3, M1) ------------------------------

    def category(self) -> Category | None:
        record = self.record
        if record.category.strip():
            try:
                return Category.parse(record.category)
            except ValidationError as exc:
                self.errors.extend(exc)
                return None
        business = record.company.strip() or record.siret.strip()
        return Category.COMPANY if business else Category.INDIVIDUAL

    def _individual(self) -> None:
        """Refuse what an individual cannot have; report an APE code dropped."""
        record = self.record
        fields = [
            ("chorus_service_code", record.chorus_service_code),
            ("chorus_engagement_number", record.chorus_engagement_number),
        ]
        if record.category.strip():  # the shop said "individual"
            fields += [("organisation_name", record.company), ("siret", record.siret)]
        for path, value in fields:
            if value.strip():
                self.errors.add(path, "not_allowed")
        if record.ape.strip():
            self.change("ape", "import.field_dropped", value=_shown(record.ape))

    def organisation(self, category: Category) -> Organisation | None:
        record = self.record
        if not category.needs_organisation:
            self._individual()
            return None
        chorus = self._chorus(category)
        name = None
        if record.company.strip():
            unusable = Collector()
            name = _text(
                record.company, "organisation_name", ORGANISATION_NAME_LENGTH, unusable
            )
            if name is None:
                # Too long for an invoice's first line, or unreadable: the
                # organisation is asked at the next login (M1), never a refusal.
                self.change(
                    "organisation_name",
                    "import.organisation_name_unusable",
                    value=_shown(record.company),
                )
        siret, siren = self._siret()
        ape = self._ape()
        if name is None:
            if record.siret.strip():
                self.change("siret", "import.field_dropped", value=_shown(record.siret))
            if ape is not None:
                self.change("ape", "import.field_dropped", value=ape.code)
            return None
        return Organisation(name, siret, chorus, siren_alone=siren, ape=ape)

    def _chorus(self, category: Category) -> ChorusPro | None:
        record = self.record
        if category is not Category.PUBLIC_BODY:
            if (
                record.chorus_service_code.strip()
                or record.chorus_engagement_number.strip()
            ):
                self.errors.add("chorus", "chorus.not_public_body")
            return None
        try:
            chorus = ChorusPro.parse(
                record.chorus_requirement,
                record.chorus_service_code,
                record.chorus_engagement_number,
                path="chorus_",
            )
        except ValidationError as exc:
            for error in exc.errors:
                column = error.path.replace("_.", "_").rstrip("_")
                self.errors.add(column, error.code, **error.params)
            return None
        return None if chorus.is_empty else chorus

    def _siret(self) -> tuple[Siret | None, Siren | None]:
        text = self.record.siret
        if not text.strip():
            return None, None
        try:
            if len(text) <= _SIRET_INPUT and len(_compact(text)) == _SIREN_DIGITS:
                return None, Siren.parse(text)
            return Siret.parse(text), None
        except ValidationError as exc:
            self.change(
                "siret",
                "import.siret_unusable",
                value=_shown(text),
                reason=exc.errors[0].code,
            )
            return None, None

    def _ape(self) -> ApeCode | None:
        text = self.record.ape
        if not text.strip():
            return None
        try:
            return ApeCode.parse(text)
        except ValidationError:
            self.change("ape", "import.ape_unusable", value=_shown(text))
            return None

    # -- addresses (SPEC A1, A4, X1, M2) ----------------------------------------------

    def address(self, source: ImportedAddress, prefix: str) -> PostalAddress | None:
        """Return *source* as a postal address, or report why it is not kept."""
        first, second = source.address1, source.address2
        split = False
        lines: Sequence[str] | None
        if not second and len(first) <= LINE_LENGTH and "\n" not in first:
            lines = (first,)  # the common case, read as typed
        else:
            typed = [p for f in (first, second) for p in f.splitlines() if p.strip()]
            if len(typed) <= MAX_STREET_LINES and all(
                len(p) <= LINE_LENGTH for p in typed
            ):
                lines = typed
            else:
                lines = fit_street_lines(first, second)
                split = True
        if lines is None:
            self.change(
                f"{prefix}street", "import.address_unusable", address=_original(source)
            )
            return None
        try:
            address = PostalAddress.parse(
                lines, source.postal_code, source.city, source.country or "FR"
            )
        except ValidationError as exc:
            path = exc.errors[0].path
            column = "street" if path.startswith("street_lines") else path
            self.change(
                f"{prefix}{column}",
                "import.address_unusable",
                address=_original(source),
            )
            return None
        if split:
            self.change(
                f"{prefix}street", "import.address_split", address=_original(source)
            )
        return address

    def delivery(
        self, source: ImportedAddress, address: PostalAddress
    ) -> ParsedDelivery | None:
        contact = source.contact_name or self.record.name
        errors = Collector()
        name = _text(contact, "delivery_contact_name", CONTACT_NAME_LENGTH, errors)
        try:
            label = (
                clean_text(source.alias, "delivery_label", max_length=LABEL_LENGTH)
                if source.alias
                else ""
            )
        except ValidationError:
            self.change(
                "delivery_label", "import.field_dropped", value=_shown(source.alias)
            )
            label = ""
        if name is None:
            self.change(
                "delivery_contact_name",
                "import.address_unusable",
                address=_original(source),
            )
            return None
        return ParsedDelivery(name, address, label or None)

    def addresses(self) -> tuple[PostalAddress | None, tuple[ParsedDelivery, ...], str]:
        """Return the billing address, the deliveries, and the billing's country."""
        record = self.record
        billing_source = record.billing
        usable: list[tuple[ImportedAddress, PostalAddress]] = []
        for source in record.addresses:
            prefix = "billing_" if source is billing_source else "delivery_"
            address = self.address(source, prefix)
            if address is not None:
                usable.append((source, address))
        if not usable:
            return None, (), "FR"
        billing = next(
            (pair for pair in usable if pair[0] is billing_source), usable[-1]
        )
        others = [pair for pair in usable if pair is not billing] or [billing]
        deliveries: list[ParsedDelivery] = []
        for source, address in others:
            delivery = self.delivery(source, address)
            if delivery is None or delivery in deliveries:
                continue
            if len(deliveries) == MAX_DELIVERY_ADDRESSES:
                self.change(
                    "delivery_street",
                    "import.address_beyond_max",
                    max=MAX_DELIVERY_ADDRESSES,
                    address=_original(source),
                )
                continue
            deliveries.append(delivery)
        if not deliveries:  # every contact name unusable: the customer's own
            try:
                name = clean_text(self.record.name, "name", max_length=NAME_LENGTH)
            except ValidationError:  # refused under "name" already
                name = ""
            if not name:
                return None, (), billing[1].country
            deliveries.append(ParsedDelivery(name, billing[1], None))
        return billing[1], tuple(deliveries), billing[1].country

    # -- the rest ---------------------------------------------------------------------

    def phone(self, hint: str) -> Phone | None:
        record = self.record
        if record.phone.strip():  # the common case: the customer's own
            try:
                return Phone.parse(record.phone, hint=hint)
            except ValidationError:
                self.change(
                    "phone", "import.phone_unusable", value=_shown(record.phone)
                )
        candidates: list[tuple[str, str]] = []
        # Found once: looking for it is linear, per address it was quadratic
        # (a CSV's consecutive lines make one customer of any size, SPEC F9).
        billing = record.billing
        ordered = sorted(record.addresses, key=lambda a: a is not billing)
        for address in ordered:
            candidates += [("phone", address.mobile), ("phone", address.phone)]
        seen = {record.phone}
        for path, text in candidates:
            if not text.strip() or text in seen:
                continue
            seen.add(text)
            try:
                return Phone.parse(text, hint=hint)
            except ValidationError:
                self.change(path, "import.phone_unusable", value=_shown(text))
        return None

    def language(self) -> str:
        text = self.record.language
        languages = self.context.languages
        if text in languages:
            return text
        code = normalise(text.strip()) if len(text) <= 16 and text.strip() else None  # noqa: PLR2004
        if code is not None and code in languages:
            return code
        if text.strip():
            self.change(
                "language",
                "import.language_unknown",
                language=_shown(text)[:16],
                default=DEFAULT_LANGUAGE,
            )
        return DEFAULT_LANGUAGE

    def newsletter(self) -> tuple[datetime | None, str] | None:
        record = self.record
        if not record.newsletter:
            return None
        wording = record.newsletter_wording.strip() or self.context.newsletter_wording
        if not wording:
            self.errors.add("newsletter_wording_version", "consent.wording_required")
            return None
        try:
            version = clean_text(wording, "newsletter_wording_version", max_length=40)
        except ValidationError as exc:
            self.errors.extend(exc)
            return None
        if record.newsletter_at is None and self.context.newsletter_dated:
            self.change("newsletter_at", "import.newsletter_undated")
        return record.newsletter_at, version

    def password_hash(self) -> str | None:
        record = self.record
        text = record.password_hash
        if record.guest or not text.strip():
            return None
        kept = usable_legacy_hash(text) if self.context.keep_hashes else None
        if kept is not None and kept.startswith(WORDPRESS_PREFIX):
            kept = kept if self.context.keep_wordpress else None
        if kept is None:
            self.change("password_hash", "import.hash_not_kept")
        return kept

    def flags(self) -> None:
        record = self.record
        if record.optin:
            self.change("optin", "import.optin_reported")
        if not record.active:
            self.change("active", "import.disabled")
        if record.guest and not self.context.invite_guests:
            self.change("guest", "import.guest_not_invited")
        if record.created_at is None and self.context.dated:
            self.change("created_at", "import.created_at_missing")
        for field in record.dropped:
            self.change(field[:64], "import.field_dropped", value=_shown(field)[:64])


def validate_customer(
    record: ImportedCustomer,
    context: ImportContext,
    line: int = 0,
    problems: Sequence[FieldError] = (),
    changes: Sequence[FieldError] = (),
) -> Candidate:
    """Return the candidate account of *record*, with every change made on the way.

    *line* orders the report (the CSV line, else the record's position);
    *problems* are those the source itself found (a CSV cell that cannot be
    read), reported with the others.

    Raises:
        ValidationError: With every problem of a customer of whom no
            account can be made (see the module's documentation).

    .. versionadded:: 0.2.0
    """
    reader = _Reader(record, context)
    reader.changes.extend(changes)
    errors = reader.errors
    category = reader.category()
    try:
        email: Email | None = Email.parse(record.email)
    except ValidationError as exc:
        errors.extend(exc)
        email = None
    name = _person_name(record, reader)
    organisation = reader.organisation(category) if category is not None else None
    billing, deliveries, country = reader.addresses()
    phone = reader.phone(country)
    language = reader.language()
    newsletter = reader.newsletter()
    password_hash = reader.password_hash()
    for problem in problems:
        errors.add(problem.path, problem.code, **problem.params)
    errors.raise_if_any()
    assert email is not None  # noqa: S101 (raised above otherwise)
    assert name is not None  # noqa: S101
    assert category is not None  # noqa: S101
    reader.flags()
    if phone is None:
        reader.change("phone", "import.to_complete.phone")
    if billing is None:
        reader.change("billing_street", "import.to_complete.address")
    if category.needs_organisation and (
        organisation is None or organisation.siret is None
    ):
        reader.change("siret", "import.to_complete.siret")
        if organisation is not None and organisation.siren_alone is not None:
            reader.change(
                "siret", "import.siren_kept", siren=organisation.siren_alone.formatted
            )
    return Candidate(
        line=line,
        ref=record.ref,
        email=email,
        name=name,
        category=category,
        phone=phone,
        organisation=organisation,
        billing=billing,
        deliveries=deliveries,
        language=language,
        password_hash=password_hash,
        created_at=record.created_at,
        newsletter=newsletter,
        disabled=not record.active,
        guest=record.guest,
        invite=password_hash is None
        and record.active
        and (context.invite_guests or not record.guest),
        changes=tuple(reader.changes),
    )
