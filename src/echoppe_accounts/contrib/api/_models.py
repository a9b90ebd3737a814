"""The JSON bodies of the API, as typed models: the OpenAPI schema comes from them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from echoppe_accounts import Account, DeliveryAddress, PostalAddress


class _In(BaseModel):
    """A request body: unknown fields are refused, so a typo is not lost quietly."""

    model_config = ConfigDict(extra="forbid")


class AddressIn(_In):
    """A postal address as typed (SPEC A4)."""

    street_lines: list[str] = Field(default_factory=list, max_length=10)
    postal_code: str = ""
    city: str = ""
    country: str = "FR"


class DeliveryIn(_In):
    """A delivery address: its contact name, the address, an optional label."""

    contact_name: str = ""
    address: AddressIn = Field(default_factory=AddressIn)
    label: str = ""


class OrganisationIn(_In):
    """The category's own fields (SPEC C3): organisation, SIRET, Chorus Pro."""

    organisation_name: str = ""
    siret: str = ""
    chorus_requirement: str = ""
    chorus_service_code: str = ""
    chorus_engagement_number: str = ""


class SignupIn(OrganisationIn):
    """The full sign-up form, for the four categories (SPEC C1–C4, F1–F7)."""

    category: str = ""
    email: str = ""
    phone: str = ""
    name: str = ""
    password: str = ""
    billing_address: AddressIn = Field(default_factory=AddressIn)
    delivery_addresses: list[DeliveryIn] = Field(default_factory=list, max_length=60)
    newsletter: bool = False
    newsletter_wording_version: str = ""
    language: str = "fr"


class SignupOut(BaseModel):
    """The answer to a sign-up: whether a mailbox must be proven first (SPEC X5)."""

    verification_required: bool


class ExpressIn(_In):
    """Express account creation at checkout: an email and a delivery address (X2)."""

    email: str = ""
    delivery_address: DeliveryIn = Field(default_factory=DeliveryIn)
    name: str = ""
    newsletter: bool = False
    newsletter_wording_version: str = ""
    language: str = "fr"


class TokenIn(_In):
    """The token of a link in a mail, which the front end posts (SPEC W2)."""

    token: str


class VerifyIn(TokenIn):
    """A verification link with the password chosen at sign-up (SPEC X5)."""

    password: str = ""


class CompleteIn(OrganisationIn):
    """Completing an express account with its set-password link (SPEC X2).

    The category's fields sit beside the others, as in the sign-up form,
    so that each error's path names a field of this body (SPEC F8).
    """

    token: str
    password: str = ""
    phone: str = ""
    name: str = ""
    category: str = ""


class LoginIn(_In):
    """A login; *session* chooses a cookie (browsers) or a bearer token (apps).

    An app sends back the ``device_token`` of its last login (SPEC P4); a
    browser has it in a cookie.
    """

    email: str
    password: str
    session: Literal["cookie", "bearer"] = "cookie"
    device_token: str | None = None


class SessionOut(BaseModel):
    """An open session.

    ``token`` and ``device_token`` are given to bearer clients only; a
    browser has them in HttpOnly cookies and gets ``csrf_token`` instead,
    to send back in the CSRF header on every state change.
    """

    account_id: str
    restricted: bool
    session: Literal["cookie", "bearer"]
    expires_at: datetime
    token: str | None = None
    csrf_token: str | None = None
    device_token: str | None = None


class CsrfOut(BaseModel):
    """A CSRF token, for the header of the next state change."""

    csrf_token: str


class EmailIn(_In):
    """An email address: a reset request (SPEC R1)."""

    email: str


class NewPasswordIn(_In):
    """The new password of a restricted session (SPEC R4)."""

    new_password: str


class PasswordChangeIn(_In):
    """A password change while logged in (SPEC P2, R10)."""

    current_password: str
    new_password: str


class EmailChangeIn(_In):
    """An email change request, with the current password (SPEC F10)."""

    email: str
    current_password: str


class NewsletterIn(_In):
    """A subscription; the wording version defaults to the API's setting (F7)."""

    wording_version: str = ""


class ErasureIn(_In):
    """Self-service erasure: the password again and an explicit ``confirm: true``."""

    password: str
    confirm: bool = False


class AddressOut(BaseModel):
    """A stored postal address."""

    street_lines: list[str]
    postal_code: str
    city: str
    country: str

    @classmethod
    def of(cls, address: PostalAddress) -> AddressOut:
        """Return the JSON form of *address*."""
        return cls(
            street_lines=list(address.street_lines),
            postal_code=address.postal_code,
            city=address.city,
            country=address.country,
        )


class DeliveryOut(BaseModel):
    """A stored delivery address."""

    id: str
    contact_name: str
    address: AddressOut
    label: str | None

    @classmethod
    def of(cls, delivery: DeliveryAddress) -> DeliveryOut:
        """Return the JSON form of *delivery*."""
        return cls(
            id=delivery.id,
            contact_name=delivery.contact_name,
            address=AddressOut.of(delivery.address),
            label=delivery.label,
        )


class AddressBookOut(BaseModel):
    """The single billing address and the delivery addresses (SPEC A1, A2)."""

    billing: AddressOut
    deliveries: list[DeliveryOut]


class OrganisationOut(BaseModel):
    """The organisation of a public body, company or professional (SPEC C3)."""

    name: str
    siret: str | None
    """``None`` for an imported organisation that has yet to give it (SPEC M1)."""
    chorus_service_code: str | None = None
    chorus_engagement_number: str | None = None
    siren: str | None = None
    ape: str | None = None


class AccountOut(BaseModel):
    """The customer's account, as the "Mon compte" page shows it."""

    id: str
    email: str
    pending_email: str | None
    name: str
    phone: str | None
    category: str
    organisation: OrganisationOut | None
    status: str
    language: str
    newsletter: bool
    addresses: AddressBookOut | None
    """``None`` for an imported account to complete (SPEC M1)."""
    to_complete: list[str] = []
    """What the account must still give, as ``POST /account/complete`` takes it."""

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        """Return the JSON form of *account*."""
        org = account.organisation
        chorus = org.chorus if org is not None else None
        book = account.addresses
        return cls(
            id=account.id,
            email=account.email.address,
            pending_email=account.pending_email.address
            if account.pending_email
            else None,
            name=account.name,
            phone=account.phone.e164 if account.phone else None,
            category=account.category.value,
            organisation=None
            if org is None
            else OrganisationOut(
                name=org.name,
                siret=org.siret.compact if org.siret is not None else None,
                chorus_service_code=chorus.service_code if chorus else None,
                chorus_engagement_number=chorus.engagement_number if chorus else None,
                siren=org.siren,
                ape=org.ape.code if org.ape is not None else None,
            ),
            status=account.status.value,
            language=account.language,
            newsletter=account.subscribed,
            addresses=None
            if book is None
            else AddressBookOut(
                billing=AddressOut.of(book.billing),
                deliveries=[DeliveryOut.of(d) for d in book.deliveries],
            ),
            to_complete=sorted(m.value for m in account.missing),
        )


class FieldErrorOut(BaseModel):
    """One problem (SPEC F8): where, a stable code, a message in the asked language."""

    path: str
    code: str
    message: str


class ErrorOut(BaseModel):
    """Every error answer: the problems, and with a 429 the seconds to wait."""

    errors: list[FieldErrorOut]
    retry_after: int | None = None


class NewsletterOut(BaseModel):
    """Whether the subscription holds now, or waits for its confirm link (F7)."""

    subscribed: bool
    confirmation_sent: bool
