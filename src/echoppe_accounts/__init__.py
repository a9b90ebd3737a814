"""echoppe-accounts: the customer-account domain of a French online shop.

Import what you need from here; the submodules are private unless their
name is documented (``echoppe_accounts.ports``, ``echoppe_accounts.testing``,
``echoppe_accounts.exceptions``).
"""

from echoppe_accounts._version import __version__
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
from echoppe_accounts.domain.account import Account, AccountStatus, InvoiceView
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
from echoppe_accounts.domain.limits import ClientAction, ClientLimits, Limit
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
from echoppe_accounts.domain.siret import Siret
from echoppe_accounts.domain.throttle import LoginThrottle, ThrottlePolicy
from echoppe_accounts.domain.tokens import Secret, TokenPurpose, TokenRecord
from echoppe_accounts.service_layer.analytics import AnalyticsService, TrackResult
from echoppe_accounts.service_layer.auth import AuthService, LoginResult
from echoppe_accounts.service_layer.events import (
    CallbackHandler,
    EventDispatcher,
    EventHandler,
    JsonLinesHandler,
)
from echoppe_accounts.service_layer.importer import CustomerImporter, ImportSummary
from echoppe_accounts.service_layer.outbox import DispatchReport, OutboxDispatcher
from echoppe_accounts.service_layer.privacy import PersonalDataExport, PrivacyService
from echoppe_accounts.service_layer.retry import retry_on_conflict
from echoppe_accounts.service_layer.services import AccountService, ExpressRegistration
from echoppe_accounts.service_layer.settings import Settings
from echoppe_accounts.service_layer.worker import OutboxWorker

__all__ = [
    "DEFAULT_POLICY",
    "MAX_DELIVERY_ADDRESSES",
    "Account",
    "AccountEvent",
    "AccountService",
    "AccountStatus",
    "AddressBook",
    "AddressForm",
    "AnalyticsEvent",
    "AnalyticsService",
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
    "known_codes",
    "reminder_due",
    "retry_on_conflict",
    "sqlite_app",
]
