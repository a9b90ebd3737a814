"""echoppe-accounts: the customer-account domain of a French online shop.

Import what you need from here; the submodules are private unless their
name is documented (``echoppe_accounts.ports``, ``echoppe_accounts.testing``,
``echoppe_accounts.exceptions``).

Each public name is imported from its submodule when it is first used
(PEP 562): ``import echoppe_accounts`` costs little, and a program pays
for what it uses (the validation, the SQLite adapter, the SMTP mailer…),
not for every adapter and its dependencies.
"""

# To add a public name, import it under TYPE_CHECKING below (for type
# checkers and readers), list it in __all__, and name its submodule in
# _SUBMODULES; a test checks that the three agree.

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

from echoppe_accounts._version import __version__

if TYPE_CHECKING:
    from echoppe_accounts.adapters.analytics import (
        InMemoryAnalyticsSink,
        SQLiteAnalyticsSink,
    )
    from echoppe_accounts.adapters.legacy_hashes import LegacyHasher
    from echoppe_accounts.adapters.maildir import MaildirMailer
    from echoppe_accounts.adapters.memory import InMemoryStore, InMemoryUnitOfWork
    from echoppe_accounts.adapters.smtp import SMTPMailer
    from echoppe_accounts.adapters.sqlite import SQLiteStore, SQLiteUnitOfWork
    from echoppe_accounts.adapters.system import (
        Argon2Hasher,
        ScryptHasher,
        SystemClock,
        SystemSecrets,
    )
    from echoppe_accounts.bootstrap import App, bootstrap, sqlite_app
    from echoppe_accounts.domain.account import (
        Account,
        AccountStatus,
        Credentials,
        InvoiceView,
    )
    from echoppe_accounts.domain.address import PostalAddress
    from echoppe_accounts.domain.addressbook import (
        MAX_DELIVERY_ADDRESSES,
        AddressBook,
        DeliveryAddress,
    )
    from echoppe_accounts.domain.analytics import (
        AnalyticsEvent,
        Hit,
        IpPolicy,
        Purpose,
        RetentionPolicy,
        UserAgentClass,
        VisitorId,
        reminder_due,
    )
    from echoppe_accounts.domain.ape import ApeCode
    from echoppe_accounts.domain.audit import AuditEvent, AuditRecord
    from echoppe_accounts.domain.category import (
        DEFAULT_POLICY,
        Category,
        CategoryPolicy,
        ChorusPro,
        ChorusRequirement,
        DeliveryMode,
        Offer,
        Organisation,
        PaymentMethod,
    )
    from echoppe_accounts.domain.completion import AccountCompletionForm, Missing
    from echoppe_accounts.domain.consent import (
        ConsentRecord,
        ConsentSource,
        PendingSubscription,
    )
    from echoppe_accounts.domain.email import Email
    from echoppe_accounts.domain.errors import (
        AuthenticationError,
        ConcurrencyError,
        DeliveryError,
        EchoppeError,
        FieldError,
        Language,
        NotFoundError,
        RateLimitedError,
        StorageError,
        TemplateError,
        ValidationError,
        known_codes,
    )
    from echoppe_accounts.domain.events import AccountEvent, EventType
    from echoppe_accounts.domain.forms import (
        AddressForm,
        CompletionForm,
        DeliveryForm,
        ExpressForm,
        OrganisationForm,
        RegistrationForm,
    )
    from echoppe_accounts.domain.i18n import available_languages
    from echoppe_accounts.domain.limits import (
        ClientAction,
        ClientLimits,
        Limit,
        canonical_client_key,
    )
    from echoppe_accounts.domain.mail import (
        DeadLetter,
        MailKind,
        OutboxStats,
        OutgoingMail,
    )
    from echoppe_accounts.domain.password import PasswordPolicy
    from echoppe_accounts.domain.phone import Phone
    from echoppe_accounts.domain.reset import (
        IllegalTransitionError,
        ResetOrigin,
        ResetRequest,
        ResetState,
    )
    from echoppe_accounts.domain.siret import Siren, Siret
    from echoppe_accounts.domain.throttle import LoginThrottle, ThrottlePolicy
    from echoppe_accounts.domain.tokens import Secret, TokenPurpose, TokenRecord
    from echoppe_accounts.entrypoints.csv_import import CustomerImporter, ImportSummary
    from echoppe_accounts.service_layer.analytics import AnalyticsService, TrackResult
    from echoppe_accounts.service_layer.auth import AuthService, LoginResult
    from echoppe_accounts.service_layer.events import (
        CallbackHandler,
        EventDispatcher,
        EventHandler,
        JsonLinesHandler,
    )
    from echoppe_accounts.service_layer.outbox import DispatchReport, OutboxDispatcher
    from echoppe_accounts.service_layer.privacy import (
        PersonalDataExport,
        PrivacyService,
    )
    from echoppe_accounts.service_layer.retry import retry_on_conflict
    from echoppe_accounts.service_layer.services import (
        AccountService,
        ExpressRegistration,
    )
    from echoppe_accounts.service_layer.settings import Settings
    from echoppe_accounts.service_layer.texts import check_texts
    from echoppe_accounts.service_layer.worker import OutboxWorker

_SUBMODULES: dict[str, str] = {
    "InMemoryAnalyticsSink": "adapters.analytics",
    "SQLiteAnalyticsSink": "adapters.analytics",
    "LegacyHasher": "adapters.legacy_hashes",
    "MaildirMailer": "adapters.maildir",
    "InMemoryStore": "adapters.memory",
    "InMemoryUnitOfWork": "adapters.memory",
    "SMTPMailer": "adapters.smtp",
    "SQLiteStore": "adapters.sqlite",
    "SQLiteUnitOfWork": "adapters.sqlite",
    "Argon2Hasher": "adapters.system",
    "ScryptHasher": "adapters.system",
    "SystemClock": "adapters.system",
    "SystemSecrets": "adapters.system",
    "App": "bootstrap",
    "bootstrap": "bootstrap",
    "sqlite_app": "bootstrap",
    "Account": "domain.account",
    "AccountStatus": "domain.account",
    "Credentials": "domain.account",
    "InvoiceView": "domain.account",
    "PostalAddress": "domain.address",
    "ApeCode": "domain.ape",
    "MAX_DELIVERY_ADDRESSES": "domain.addressbook",
    "AddressBook": "domain.addressbook",
    "DeliveryAddress": "domain.addressbook",
    "AnalyticsEvent": "domain.analytics",
    "Hit": "domain.analytics",
    "IpPolicy": "domain.analytics",
    "Purpose": "domain.analytics",
    "RetentionPolicy": "domain.analytics",
    "UserAgentClass": "domain.analytics",
    "VisitorId": "domain.analytics",
    "reminder_due": "domain.analytics",
    "AuditEvent": "domain.audit",
    "AuditRecord": "domain.audit",
    "DEFAULT_POLICY": "domain.category",
    "Category": "domain.category",
    "CategoryPolicy": "domain.category",
    "ChorusPro": "domain.category",
    "ChorusRequirement": "domain.category",
    "DeliveryMode": "domain.category",
    "Offer": "domain.category",
    "Organisation": "domain.category",
    "PaymentMethod": "domain.category",
    "AccountCompletionForm": "domain.completion",
    "Missing": "domain.completion",
    "ConsentRecord": "domain.consent",
    "ConsentSource": "domain.consent",
    "PendingSubscription": "domain.consent",
    "Email": "domain.email",
    "AuthenticationError": "domain.errors",
    "ConcurrencyError": "domain.errors",
    "DeliveryError": "domain.errors",
    "EchoppeError": "domain.errors",
    "FieldError": "domain.errors",
    "Language": "domain.errors",
    "NotFoundError": "domain.errors",
    "RateLimitedError": "domain.errors",
    "StorageError": "domain.errors",
    "TemplateError": "domain.errors",
    "ValidationError": "domain.errors",
    "known_codes": "domain.errors",
    "AccountEvent": "domain.events",
    "EventType": "domain.events",
    "AddressForm": "domain.forms",
    "CompletionForm": "domain.forms",
    "DeliveryForm": "domain.forms",
    "ExpressForm": "domain.forms",
    "OrganisationForm": "domain.forms",
    "RegistrationForm": "domain.forms",
    "available_languages": "domain.i18n",
    "ClientAction": "domain.limits",
    "ClientLimits": "domain.limits",
    "canonical_client_key": "domain.limits",
    "Limit": "domain.limits",
    "DeadLetter": "domain.mail",
    "MailKind": "domain.mail",
    "OutboxStats": "domain.mail",
    "OutgoingMail": "domain.mail",
    "PasswordPolicy": "domain.password",
    "Phone": "domain.phone",
    "IllegalTransitionError": "domain.reset",
    "ResetOrigin": "domain.reset",
    "ResetRequest": "domain.reset",
    "ResetState": "domain.reset",
    "Siren": "domain.siret",
    "Siret": "domain.siret",
    "LoginThrottle": "domain.throttle",
    "ThrottlePolicy": "domain.throttle",
    "Secret": "domain.tokens",
    "TokenPurpose": "domain.tokens",
    "TokenRecord": "domain.tokens",
    "AnalyticsService": "service_layer.analytics",
    "TrackResult": "service_layer.analytics",
    "AuthService": "service_layer.auth",
    "LoginResult": "service_layer.auth",
    "CallbackHandler": "service_layer.events",
    "EventDispatcher": "service_layer.events",
    "EventHandler": "service_layer.events",
    "JsonLinesHandler": "service_layer.events",
    "CustomerImporter": "entrypoints.csv_import",
    "ImportSummary": "entrypoints.csv_import",
    "DispatchReport": "service_layer.outbox",
    "OutboxDispatcher": "service_layer.outbox",
    "PersonalDataExport": "service_layer.privacy",
    "PrivacyService": "service_layer.privacy",
    "retry_on_conflict": "service_layer.retry",
    "AccountService": "service_layer.services",
    "ExpressRegistration": "service_layer.services",
    "Settings": "service_layer.settings",
    "check_texts": "service_layer.texts",
    "OutboxWorker": "service_layer.worker",
}
"""The submodule (under ``echoppe_accounts.``) that defines each public name."""


def __getattr__(name: str) -> object:
    """Import the public *name* from its submodule on first use (PEP 562)."""
    submodule = _SUBMODULES.get(name)
    if submodule is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(f"{__name__}.{submodule}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public names with the module's own."""
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """This package, whose ``bootstrap`` stays the function once its module loads.

    Importing a submodule sets it as an attribute of its package: the
    submodule ``echoppe_accounts.bootstrap`` would hide the function
    ``echoppe_accounts.bootstrap`` the package exports.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name == "bootstrap" and isinstance(value, types.ModuleType):
            value = value.bootstrap
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "DEFAULT_POLICY",
    "MAX_DELIVERY_ADDRESSES",
    "Account",
    "AccountCompletionForm",
    "AccountEvent",
    "AccountService",
    "AccountStatus",
    "AddressBook",
    "AddressForm",
    "AnalyticsEvent",
    "AnalyticsService",
    "ApeCode",
    "App",
    "Argon2Hasher",
    "AuditEvent",
    "AuditRecord",
    "AuthService",
    "AuthenticationError",
    "CallbackHandler",
    "Category",
    "CategoryPolicy",
    "ChorusPro",
    "ChorusRequirement",
    "ClientAction",
    "ClientLimits",
    "CompletionForm",
    "ConcurrencyError",
    "ConsentRecord",
    "ConsentSource",
    "Credentials",
    "CustomerImporter",
    "DeadLetter",
    "DeliveryAddress",
    "DeliveryError",
    "DeliveryForm",
    "DeliveryMode",
    "DispatchReport",
    "EchoppeError",
    "Email",
    "EventDispatcher",
    "EventHandler",
    "EventType",
    "ExpressForm",
    "ExpressRegistration",
    "FieldError",
    "Hit",
    "IllegalTransitionError",
    "ImportSummary",
    "InMemoryAnalyticsSink",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "InvoiceView",
    "IpPolicy",
    "JsonLinesHandler",
    "Language",
    "LegacyHasher",
    "Limit",
    "LoginResult",
    "LoginThrottle",
    "MailKind",
    "MaildirMailer",
    "Missing",
    "NotFoundError",
    "Offer",
    "Organisation",
    "OrganisationForm",
    "OutboxDispatcher",
    "OutboxStats",
    "OutboxWorker",
    "OutgoingMail",
    "PasswordPolicy",
    "PaymentMethod",
    "PendingSubscription",
    "PersonalDataExport",
    "Phone",
    "PostalAddress",
    "PrivacyService",
    "Purpose",
    "RateLimitedError",
    "RegistrationForm",
    "ResetOrigin",
    "ResetRequest",
    "ResetState",
    "RetentionPolicy",
    "SMTPMailer",
    "SQLiteAnalyticsSink",
    "SQLiteStore",
    "SQLiteUnitOfWork",
    "ScryptHasher",
    "Secret",
    "Settings",
    "Siren",
    "Siret",
    "StorageError",
    "SystemClock",
    "SystemSecrets",
    "TemplateError",
    "ThrottlePolicy",
    "TokenPurpose",
    "TokenRecord",
    "TrackResult",
    "UserAgentClass",
    "ValidationError",
    "VisitorId",
    "__version__",
    "available_languages",
    "bootstrap",
    "canonical_client_key",
    "check_texts",
    "known_codes",
    "reminder_due",
    "retry_on_conflict",
    "sqlite_app",
]
