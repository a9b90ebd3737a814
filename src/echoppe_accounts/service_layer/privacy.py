"""Personal data: "Mes données", erasure, opt-outs, double opt-in (SPEC G, F7, N3).

The export holds everything the library keeps about one customer, plus the
information GDPR Art. 15 requires, as schema-versioned JSON (Art. 20) and as
an HTML page written for the customer (SPEC T2): sections in words, dates
in the customer's language and the shop's time zone, the Art. 15
information in the customer's language, readable on a phone and printable.
The page is the template ``privacy/export.html``, which a shop can replace.
The export never holds a password hash, a token digest, a temporary
password or another customer's data (G2). :data:`STORED_FIELDS`
says, for every stored column, where it goes in the export or why it is
left out; a test checks it against every storage adapter's schema, so the
export cannot silently fall behind.
"""

from __future__ import annotations

import attrs

from echoppe_accounts.domain.audit import AuditEvent
from echoppe_accounts.domain.consent import (
    ConsentSource,
)
from echoppe_accounts.ports import (
    Clock,
    PasswordHasher,
    SecretSource,
    UnitOfWorkFactory,
)
from echoppe_accounts.service_layer import consent, erasure
from echoppe_accounts.service_layer._ports import Ports, audit, open_account
from echoppe_accounts.service_layer.article_15 import (
    ARTICLE_15,
    article_15,
)
from echoppe_accounts.service_layer.erasure import STAFF_FREE_TEXT
from echoppe_accounts.service_layer.export import (
    EXPORT_PAGE,
    SCHEMA_VERSION,
    PersonalDataExport,
    export_data,
    sample_export,
)
from echoppe_accounts.service_layer.settings import Settings
from echoppe_accounts.service_layer.stored_fields import STORED_FIELDS

__all__ = [
    "ARTICLE_15",
    "EXPORT_PAGE",
    "SCHEMA_VERSION",
    "STAFF_FREE_TEXT",
    "STORED_FIELDS",
    "PersonalDataExport",
    "PrivacyService",
    "article_15",
    "sample_export",
]


@attrs.define
class PrivacyService:
    """The customer's rights over their data, and their consents.

    .. versionadded:: 0.2.0
    """

    uow: UnitOfWorkFactory
    clock: Clock
    secrets: SecretSource
    hasher: PasswordHasher
    settings: Settings

    @property
    def _ports(self) -> Ports:
        """The ports the use cases work with."""
        return Ports(self.uow, self.clock, self.secrets, self.hasher, self.settings)

    def export_personal_data(self, account_id: str) -> PersonalDataExport:
        """Return everything held about the customer ("Mes données", SPEC G1, G2).

        Raises:
            NotFoundError: No such account.
        """
        now = self.clock.now()
        ports = self._ports
        with open_account(ports, account_id, erased=True) as (uow, account):
            events = uow.audit.for_account(account.id)
            audit(ports, uow, AuditEvent.DATA_EXPORTED, account.id)
            uow.commit()
        data = export_data(account, events, now, shop=self.settings.shop_name)
        return PersonalDataExport(data, settings=self.settings)

    def erase_account(
        self, account_id: str, *, actor: str = "customer", farewell: bool = False
    ) -> None:
        """Erase the account, keeping only what invoices need for 10 years (SPEC G3).

        Email, phone, password, delivery contacts, newsletter history,
        pending links, reset requests, failed-login counts and every mail
        to the address are deleted; the billing identity, billing address
        and SIRET stay, so past invoices still resolve. The account cannot
        log in any more, and its email can register again.

        *actor* says who asked (``"customer"``, or a staff member's id); it
        goes to the audit trail.

        With *farewell*, the customer's last mail is queued in the same
        transaction, after every other mail of the account was deleted: to
        the address the account had, naming nobody, it says that the
        account and its data are deleted except the invoice data kept 10
        years (:attr:`MailKind.ACCOUNT_ERASED
        <echoppe_accounts.MailKind.ACCOUNT_ERASED>`, SPEC W2). Self-service
        erasure asks for it; staff and the command line leave it out, and
        nothing is mailed to the account afterwards either way (G3).

        Raises:
            NotFoundError: No such account.
            ValidationError: *actor* is empty, too long or unreadable.
        """
        erasure.erase_account(self._ports, account_id, actor=actor, farewell=farewell)

    def set_analytics_opt_out(self, account_id: str, *, opted_out: bool) -> None:
        """Refuse (or accept again) audience measurement for this account (SPEC N3)."""
        consent.set_analytics_opt_out(self._ports, account_id, opted_out=opted_out)

    def request_newsletter_subscription(
        self, account_id: str, *, source: ConsentSource, wording_version: str
    ) -> None:
        """Start a double opt-in subscription: a mail asks to confirm (SPEC F7).

        Raises:
            ValidationError: The wording version is missing, too long or not
                readable text.
        """
        consent.request_subscription(
            self._ports, account_id, source=source, wording_version=wording_version
        )

    def confirm_newsletter_subscription(self, token: str) -> None:
        """Confirm a double opt-in subscription with the link of its mail (SPEC F7).

        Raises:
            ValidationError: ``token.invalid`` for a link that is unknown,
                used, expired or of another purpose.
        """
        consent.confirm_subscription(self._ports, token)
