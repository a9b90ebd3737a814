"""The library's exceptions: one root, stable codes, French and English messages.

Every problem with caller input is a :class:`FieldError` with a field path
(``"delivery_addresses[2].address.postal_code"``), a stable machine ``code``
and a message in French (the default) and English. A public operation that
finds problems raises one :class:`ValidationError` carrying all of them
(SPEC F8), never the first one only. The messages come from the message
catalogues (SPEC T1), with plurals right in every language; a shop's
catalogue can reword them or add a language.

>>> err = ValidationError([FieldError("siret", "siret.invalid_checksum")])
>>> err.errors[0].code
'siret.invalid_checksum'
>>> err.errors[0].message()
'Le numéro de SIRET est invalide (clé de contrôle incorrecte).'
>>> err.errors[0].message("en")
'The SIRET number is invalid (wrong check digit).'
>>> AuthenticationError("login.throttled", retry_after=1).message()
'Trop de tentatives : réessayez dans 1 seconde.'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeAlias

import attrs

from echoppe_accounts.domain.i18n import (
    Plural,
    gettext_noop,
    ngettext_noop,
    translation,
)

Language: TypeAlias = str
"""The language of messages and mails, ``"fr"`` (the default), ``"en"`` or one
that a shop's catalogue adds (SPEC T1). A language without a catalogue gets
French.
"""

# code -> message, English in the sources and translated by the catalogues
# (locale/*/LC_MESSAGES/messages.po). Placeholders use str.format with
# FieldError.params; a plural's form is chosen by the parameter it names.
_MESSAGES: Mapping[str, str | Plural] = {
    "required": gettext_noop("This field is required."),
    "not_allowed": gettext_noop(
        "This field is not accepted for this customer category."
    ),
    "text.too_long": ngettext_noop(
        "This field cannot exceed {max} character.",
        "This field cannot exceed {max} characters.",
        "max",
    ),
    "text.control_character": gettext_noop(
        "This field contains an invisible or control character."
    ),
    "email.invalid": gettext_noop("The email address is invalid ({reason})."),
    "email.undeliverable": gettext_noop("This email address cannot receive mail."),
    "email.taken": gettext_noop("An account already exists with this email address."),
    "phone.invalid": gettext_noop("The phone number is invalid."),
    "siret.invalid_format": gettext_noop("The SIRET number must have 14 digits."),
    "siret.invalid_checksum": gettext_noop(
        "The SIRET number is invalid (wrong check digit)."
    ),
    "siret.all_zero": gettext_noop("The SIRET number cannot be all zeros."),
    "siren.invalid_format": gettext_noop("The SIREN number must have 9 digits."),
    "siren.invalid_checksum": gettext_noop(
        "The SIREN number is invalid (wrong check digit)."
    ),
    "siret.siren_mismatch": gettext_noop(
        "This SIRET belongs to another company than SIREN {siren}, the one on your "
        "account."
    ),
    "ape.invalid": gettext_noop(
        "The APE code must be four digits and a letter (62.01Z)."
    ),
    "completion.not_missing": gettext_noop(
        "Your account already has this information: change it from your account page."
    ),
    "address.to_complete": gettext_noop(
        "Your account has no address yet: complete your account first."
    ),
    "account.disabled": gettext_noop(
        "This account is disabled: contact customer service."
    ),
    "account.unverified": gettext_noop(
        "This account awaits the confirmation of its email address."
    ),
    "category.invalid": gettext_noop(
        "Unknown customer category: choose public body, company, individual or "
        "professional."
    ),
    "chorus.requirement_invalid": gettext_noop("Unknown Chorus Pro requirement."),
    "chorus.service_code_required": gettext_noop(
        "This entity requires a Chorus Pro service code."
    ),
    "chorus.engagement_required": gettext_noop(
        "This entity requires a purchase-order (engagement) number."
    ),
    "chorus.service_or_engagement_required": gettext_noop(
        "This entity requires a service code or an engagement number."
    ),
    "chorus.not_public_body": gettext_noop(
        "Chorus Pro routing data only applies to public bodies."
    ),
    "address.too_many_lines": ngettext_noop(
        "The address has at most {max} street line.",
        "The address has at most {max} street lines.",
        "max",
    ),
    "address.line_too_long": gettext_noop(
        "An address line cannot exceed 38 characters (postal standard)."
    ),
    "address.postal_code_invalid": gettext_noop("The postal code is invalid."),
    "address.country_invalid": gettext_noop(
        "The country must be a two-letter ISO 3166-1 code (FR, BE…)."
    ),
    "address.too_many_deliveries": ngettext_noop(
        "An account can have at most {max} delivery address.",
        "An account can have at most {max} delivery addresses.",
        "max",
    ),
    "address.delivery_required": gettext_noop(
        "At least one delivery address is required."
    ),
    "address.last_delivery": gettext_noop(
        "The last delivery address cannot be removed."
    ),
    "address.separate_billing": gettext_noop(
        "All delivery addresses share the account’s billing address; change it for all"
        " of them."
    ),
    "address.unknown_delivery": gettext_noop("Delivery address not found."),
    "password.too_short": ngettext_noop(
        "The password must be at least {min} character long.",
        "The password must be at least {min} characters long.",
        "min",
    ),
    "password.too_long": ngettext_noop(
        "The password cannot exceed {max} character.",
        "The password cannot exceed {max} characters.",
        "max",
    ),
    "password.common": gettext_noop("This password is too common; choose another one."),
    "password.personal": gettext_noop(
        "The password must not be built on your email address, your name or the shop’s"
        " name."
    ),
    "consent.wording_required": gettext_noop(
        "The version of the consent wording shown is required."
    ),
    "token.invalid": gettext_noop("This link is no longer valid. Ask for a new one."),
    "account.not_found": gettext_noop("Account not found."),
    "analytics.visitor_invalid": gettext_noop("Unreadable visitor identifier."),
    "login.failed": gettext_noop("Wrong email address or password."),
    "login.throttled": ngettext_noop(
        "Too many attempts: try again in {seconds} second.",
        "Too many attempts: try again in {seconds} seconds.",
        "seconds",
    ),
    "login.blocked": gettext_noop(
        "Too many attempts: use “I forgot my password” or contact customer service."
    ),
    "password.same_as_temporary": gettext_noop(
        "Choose a password other than the temporary one."
    ),
    "password.wrong_current": gettext_noop("The current password is wrong."),
    "account.already_complete": gettext_noop("This account is already complete."),
    "text.invalid_unicode": gettext_noop(
        "This field contains unreadable text (invalid Unicode character)."
    ),
    "form.too_many_errors": ngettext_noop(
        "The form has too many errors; only the first is shown.",
        "The form has too many errors; only the first {max} are shown.",
        "max",
    ),
    "email.not_normalized": gettext_noop(
        "Write the email address with ordinary characters (no full-width letters or "
        "ligatures)."
    ),
    "phone.ambiguous": gettext_noop(
        "This number exists in several territories: type it in international form, for"
        " example +687 …"
    ),
    "language.invalid": gettext_noop("Language not offered: choose one of {choices}."),
    "account.erased": gettext_noop("This account has been erased."),
    "account.changed_concurrently": gettext_noop(
        "The account was changed meanwhile; please try again."
    ),
    # The PrestaShop database an import reads (SPEC M1): what the shop's
    # operator can fix (the URL, the password, the prefix, the shop's id).
    "prestashop.url_invalid": gettext_noop(
        "The PrestaShop database is named by a URL such as "
        "mysql://user@host:3306/database."
    ),
    "prestashop.driver_missing": gettext_noop(
        "Reading a PrestaShop database needs PyMySQL: install "
        "echoppe-accounts[prestashop]."
    ),
    "prestashop.access_denied": gettext_noop(
        "The database server refused the user {user} or its password."
    ),
    "prestashop.unknown_database": gettext_noop(
        "The database server has no database named {database}."
    ),
    "prestashop.not_prestashop": gettext_noop(
        "The database {database} holds no PrestaShop shop (no table "
        "{table}): check its name."
    ),
    "prestashop.prefix_invalid": gettext_noop(
        "A table prefix is made of letters, digits and underscores (ps_)."
    ),
    "prestashop.wrong_prefix": gettext_noop(
        "No PrestaShop table has the prefix “{prefix}”; this database's tables "
        "have the prefix “{found}”."
    ),
    "prestashop.table_missing": gettext_noop(
        "The table {table} is missing: this is not a PrestaShop 1.6 to 8 "
        "database, or it is incomplete."
    ),
    "prestashop.column_missing": gettext_noop(
        "The column {column} of the table {table} is missing: this is not a "
        "PrestaShop 1.6 to 8 database, or it is incomplete."
    ),
    "prestashop.unknown_shop": gettext_noop(
        "The PrestaShop database has no shop {shop} (its shops: {shops})."
    ),
    "prestashop.timezone_invalid": gettext_noop(
        "Unknown time zone “{timezone}”: give one such as Europe/Paris."
    ),
    # The import of existing customers (SPEC O4): the file as a whole...
    "import.file_unreadable": gettext_noop("The file {file} cannot be read."),
    "import.report_unwritable": gettext_noop(
        "The error report cannot be written to {file}."
    ),
    "import.report_symlink": gettext_noop(
        "The error report {file} is a symbolic link: nothing is written "
        "through one; give another path."
    ),
    "import.report_not_ours": gettext_noop(
        "{file} exists and is not an error report: name the report "
        "yourself or move that file."
    ),
    "import.not_utf8": gettext_noop(
        "The file is not in UTF-8 (line {line}): save it again as CSV UTF-8."
    ),
    "import.no_header": gettext_noop(
        "The file is empty, or its first line does not name the columns."
    ),
    "import.missing_column": gettext_noop(
        "The file lacks the column “{column}”, which is required."
    ),
    "import.unknown_column": gettext_noop(
        "Unknown column “{column}”: see the columns in the documentation."
    ),
    "import.duplicate_column": gettext_noop(
        "The column “{column}” appears more than once."
    ),
    # ... and one of its lines.
    "import.cell_count": ngettext_noop(
        "This line has {found} cell instead of {expected}.",
        "This line has {found} cells instead of {expected}.",
        "found",
    ),
    "import.line_too_long": gettext_noop(
        "This line is longer than {max} bytes: it was not read."
    ),
    "import.malformed_line": gettext_noop(
        "This line, up to line {last}, cannot be read as CSV: a quote is "
        "probably not closed."
    ),
    "import.boolean_invalid": gettext_noop("Write 1 (yes) or 0 (no)."),
    "import.storage_refused": gettext_noop(
        "The database refused this line; it was not imported."
    ),
    "import.date_invalid": gettext_noop(
        "The date “{value}” cannot be read: write it as 2024-03-31 or 2024-03-31 14:05."
    ),
    "import.newsletter_wording_required": gettext_noop(
        "Subscribed customers come without the version of the consent wording: "
        "name the version the old shop showed."
    ),
    # ... and what an import changed on the way (SPEC M1, M2).
    "import.to_complete.phone": gettext_noop(
        "No usable phone: the customer gives one at the next login."
    ),
    "import.to_complete.address": gettext_noop(
        "No usable address: the customer gives one at the next login."
    ),
    "import.to_complete.siret": gettext_noop(
        "The organisation has no SIRET: the customer gives it at the next login."
    ),
    "import.siren_kept": gettext_noop("SIREN {siren} kept."),
    "import.address_split": gettext_noop(
        "The street was laid out on lines of 38 characters (postal standard); "
        "the old shop had: {address}"
    ),
    "import.address_unusable": gettext_noop(
        "This address could not be kept (see the field): {address}"
    ),
    "import.address_beyond_max": gettext_noop(
        "An account holds at most {max} delivery addresses; not kept: {address}"
    ),
    "import.phone_unusable": gettext_noop(
        "This phone number is not valid and was not kept: {value}"
    ),
    "import.siret_unusable": gettext_noop(
        "This SIRET or SIREN is not valid and was not kept: {value}"
    ),
    "import.ape_unusable": gettext_noop(
        "This APE code is not valid and was not kept: {value}"
    ),
    "import.organisation_name_unusable": gettext_noop(
        "This company name cannot be an invoice's first line (38 characters "
        "at most, no control characters) and was not kept; the organisation "
        "will be asked at the next login: {value}"
    ),
    "import.name_shortened": gettext_noop(
        "This name is longer than an invoice's first line (38 characters): "
        "its first names were shortened to initials: {value}"
    ),
    "import.optin_reported": gettext_noop(
        "The customer accepted partners’ offers in the old shop: nothing was "
        "subscribed; the shop decides."
    ),
    "import.language_unknown": gettext_noop(
        "The language “{language}” has no catalogue: the account uses “{default}”."
    ),
    "import.disabled": gettext_noop(
        "The old shop had disabled this account: it stays disabled."
    ),
    "import.guest_not_invited": gettext_noop(
        "A guest of the old shop: an express account, sent no mail."
    ),
    "import.guest_merged": gettext_noop(
        "Another row of the old shop with this email (a guest checkout) is "
        "in this customer’s account: its addresses, and its phone or "
        "newsletter consent where the account had none."
    ),
    "import.unverified_replaced": gettext_noop(
        "Somebody had signed up with this email without proving the mailbox: "
        "that sign-up gave way to this customer’s account."
    ),
    "import.hash_not_kept": gettext_noop(
        "This password hash cannot be kept (MD5 or unknown): the customer "
        "chooses a new password."
    ),
    "import.field_dropped": gettext_noop(
        "An account has no place for this field; not kept: {value}"
    ),
    "import.created_at_missing": gettext_noop(
        "No creation date: the account is dated from the import."
    ),
    "import.newsletter_undated": gettext_noop(
        "The subscription has no date: it is dated from the account’s creation."
    ),
    "import.line_conflict": gettext_noop(
        "Line {line} gives another value for this field: the first line’s is kept."
    ),
}
_UNKNOWN = gettext_noop("Invalid value.")
_STORAGE_FAILED = gettext_noop("the storage failed")
# Translators: after a storage failure's cause, and a semicolon.
_RETRY = gettext_noop("a retry may succeed")
# Translators: after a storage failure's cause, and a semicolon.
_NO_RETRY = gettext_noop("retrying will not help")


class _Params(dict[str, object]):
    """Parameters of a message; a missing one shows as its name, not a crash."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def message_for(code: str, params: Mapping[str, object], language: Language) -> str:
    """Return the message of *code* in *language*, with *params* filled in.

    The text comes from the catalogue of *language* (French, the default,
    for a language without one), so a shop's catalogue can reword it.
    """
    message = _MESSAGES.get(code, _UNKNOWN)
    texts = translation(language)
    if isinstance(message, Plural):
        count = params.get(message.count, 0)
        number = count if isinstance(count, int) else 0
        text = texts.ngettext(message.singular, message.plural, number)
    else:
        text = texts.gettext(message)
    return text.format_map(_Params(params))


def known_codes() -> frozenset[str]:
    """Return every error code the library can produce (stable across releases).

    .. versionadded:: 0.2.0
    """
    return frozenset(_MESSAGES)


@attrs.frozen
class FieldError:
    """One problem with one input field.

    Attributes:
        path: Where the problem is, as a dotted path with list indices
            (``"billing_address.postal_code"``, ``"delivery_addresses[1]"``);
            the empty string for the form as a whole.
        code: A stable machine code (see :func:`known_codes`).
        params: Values used in the message (``{"max": 38}``).

    .. versionadded:: 0.2.0
    """

    path: str
    code: str
    params: Mapping[str, object] = attrs.field(factory=dict, eq=False)

    def message(self, language: Language = "fr") -> str:
        """Return the human message in *language*, French by default (SPEC F8, T1)."""
        return message_for(self.code, self.params, language)

    def under(self, prefix: str) -> FieldError:
        """Return the same error with its path placed under *prefix*."""
        if not prefix:
            return self
        path = f"{prefix}.{self.path}" if self.path else prefix
        if self.path.startswith("["):
            path = f"{prefix}{self.path}"
        return FieldError(path, self.code, self.params)


class EchoppeError(Exception):
    """Root of every exception the library raises.

    .. versionadded:: 0.2.0
    """


class ValidationError(EchoppeError, ValueError):
    """Input was refused; :attr:`errors` lists every problem found.

    Nothing was stored when this is raised.

    Attributes:
        errors (tuple[FieldError, ...]): Every problem found, in form order.

    .. versionadded:: 0.2.0
    """

    def __init__(self, errors: Iterable[FieldError]) -> None:
        """Collect *errors* (at least one)."""
        self.errors: tuple[FieldError, ...] = tuple(errors)
        if not self.errors:
            msg = "ValidationError needs at least one FieldError"
            raise ValueError(msg)
        super().__init__(self.messages("en"))

    @classmethod
    def single(cls, path: str, code: str, **params: object) -> ValidationError:
        """Build an error holding one :class:`FieldError`."""
        return cls([FieldError(path, code, params)])

    @property
    def codes(self) -> frozenset[str]:
        """The set of error codes, handy for tests and branching."""
        return frozenset(e.code for e in self.errors)

    def messages(self, language: Language = "fr") -> str:
        """Return all messages, one per line, each prefixed by its field path."""
        return "; ".join(
            f"{e.path or '(form)'}: {e.message(language)}" for e in self.errors
        )

    def as_dict(self, language: Language = "fr") -> dict[str, list[dict[str, str]]]:
        """Return ``{path: [{"code": …, "message": …}, …]}`` for a form or an API."""
        out: dict[str, list[dict[str, str]]] = {}
        for e in self.errors:
            out.setdefault(e.path, []).append(
                {"code": e.code, "message": e.message(language)}
            )
        return out


class NotFoundError(EchoppeError, LookupError):
    """The account or item asked for does not exist.

    .. versionadded:: 0.2.0
    """


class StorageError(EchoppeError):
    """The storage backend failed; the driver's exception is chained.

    The transaction was rolled back: nothing was half-written. The message
    says the cause in words (``"the disk is full"``, ``"the database server
    cannot be reached"``), and :attr:`retryable` whether the same call may
    succeed later (SPEC O3).

    Attributes:
        retryable (bool): Whether retrying the call may succeed (the server
            is down or busy, a lock timed out), as opposed to a problem that
            will not go away by itself (a corrupt file, a missing table).
        cause (str | None): The cause in English words, a message of the
            catalogues (``"the disk holding the database is full"``), or
            ``None`` when the message is not one.
        source (str): The driver's code of the failure, to search its
            documentation (``"SQLite SQLITE_FULL"``), or ``""``.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        cause: str | None = None,
        source: str = "",
    ) -> None:
        """Describe the failure in words; say whether a retry may succeed."""
        self.retryable = retryable
        self.cause = cause
        self.source = source
        super().__init__(message)

    def message(self, language: Language = "fr") -> str:
        """Return the failure in *language*: its cause, the advice, the code.

        The words come from the catalogues, never from the driver, whose
        message may quote stored values; a failure without a known cause
        gets a general sentence.
        """
        texts = translation(language)
        words = texts.gettext(self.cause or _STORAGE_FAILED)
        advice = texts.gettext(_RETRY if self.retryable else _NO_RETRY)
        code = f" ({self.source})" if self.source else ""
        # Translators: a storage failure's cause, then whether a retry may help.
        sentence = texts.gettext("{cause}; {advice}")
        return sentence.format(cause=words, advice=advice) + code


class ConcurrencyError(StorageError):
    """The account was changed by someone else since it was read.

    Always :attr:`~StorageError.retryable`: read the account again and redo
    the change, for instance with :func:`~echoppe_accounts.retry_on_conflict`.

    .. versionadded:: 0.2.0
    """

    def __init__(self, message: str = "changed concurrently") -> None:
        """Describe the conflict."""
        super().__init__(message, retryable=True)


class AuthenticationError(EchoppeError):
    """A login was refused; :attr:`code` says why, without saying too much.

    ``login.failed`` is the same for a wrong password and an unknown email
    (no account enumeration); ``login.throttled`` carries
    :attr:`retry_after`; ``login.blocked`` asks for a reset (SPEC P4).

    Attributes:
        code (str): ``login.failed``, ``login.throttled`` or ``login.blocked``.
        retry_after (float | None): With ``login.throttled``, the seconds to
            wait before the next attempt.

    .. versionadded:: 0.2.0
    """

    def __init__(self, code: str, retry_after: float | None = None) -> None:
        """Build the error for *code*, with the wait in seconds if throttled."""
        self.code = code
        self.retry_after = retry_after
        super().__init__(self.message("en"))

    def message(self, language: Language = "fr") -> str:
        """Return the message to show the customer, the wait in whole seconds."""
        seconds = 0 if self.retry_after is None else int(self.retry_after + 0.999)
        return message_for(self.code, {"seconds": seconds}, language)


class RateLimitedError(EchoppeError):
    """Too many calls from one client key: wait :attr:`retry_after` seconds.

    Raised by login, reset requests, sign-up and express checkout when the
    shop passes a client key that went past its limit (see
    :class:`~echoppe_accounts.ClientLimits`). It depends on the client
    only, never on the email asked about, so it reveals nothing about
    accounts. The message is the throttled login's: "too many attempts".

    Attributes:
        code (str): ``client.throttled``.
        retry_after (float): The seconds until the client's window ends.

    .. versionadded:: 0.2.0
    """

    code = "client.throttled"

    def __init__(self, retry_after: float) -> None:
        """Build the error with the wait in seconds."""
        self.retry_after = retry_after
        super().__init__(self.message("en"))

    def message(self, language: Language = "fr") -> str:
        """Return the message to show, the wait in whole seconds."""
        seconds = int(self.retry_after + 0.999)
        return message_for("login.throttled", {"seconds": seconds}, language)


class DeliveryError(EchoppeError):
    """A mail could not be handed to the mail server.

    The message says the cause in words, never the mail's content. A
    *permanent* refusal (an SMTP 5xx reply, an invalid recipient) will not
    succeed on retry: the outbox dead-letters the mail at once. A
    *connection* failure (the server cannot be reached, does not greet,
    drops the line) concerns every mail: the outbox ends its round instead
    of paying one timeout per mail (SPEC O1, O3). Any other failure is
    transient: the mail is retried with backoff.

    Attributes:
        permanent (bool): Retrying this mail cannot succeed.
        connection (bool): The server itself is unreachable or misbehaving.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self, message: str, *, permanent: bool = False, connection: bool = False
    ) -> None:
        """Describe the failure; say whether it is permanent or the connection's."""
        self.permanent = permanent
        self.connection = connection
        super().__init__(message)

    @property
    def retryable(self) -> bool:
        """Whether a later attempt may succeed (the opposite of :attr:`permanent`)."""
        return not self.permanent


class TemplateError(EchoppeError, ValueError):
    """A template or a message catalogue cannot render the texts customers read.

    :func:`~echoppe_accounts.bootstrap` renders every template, the
    library's and the shop's, in every language, with sample data: a broken
    override (a syntax error, a variable the library does not give, a
    translation naming an unknown placeholder) fails when the application
    starts, not when a customer asks for a reset (SPEC T1).

    Attributes:
        problems (tuple[tuple[str, str], ...]): Each template (or
            catalogue) that failed, by name, with the reason in words.

    >>> TemplateError([("mail/welcome/body.html", "'nickname' is undefined")])
    TemplateError("mail/welcome/body.html: 'nickname' is undefined")

    .. versionadded:: 0.2.0
    """

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        """Collect *problems* (at least one), as ``(template, reason)`` pairs."""
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        if not self.problems:
            msg = "TemplateError needs at least one problem"
            raise ValueError(msg)
        super().__init__(
            "; ".join(f"{name}: {reason}" for name, reason in self.problems)
        )

    @property
    def templates(self) -> tuple[str, ...]:
        """The names of the templates that failed, in the order found."""
        return tuple(dict.fromkeys(name for name, _ in self.problems))


MAX_ERRORS = 100
"""Most problems reported at once, the last saying the list was cut (SPEC F9)."""


class Collector:
    """Gather :class:`FieldError` s while parsing a form, then raise them at once.

    >>> c = Collector()
    >>> c.add("email", "required")
    >>> c.raise_if_any()
    Traceback (most recent call last):
    ...
    echoppe_accounts.ValidationError: email: This field is required.
    """

    def __init__(self) -> None:
        """Start with no errors."""
        self.errors: list[FieldError] = []

    def add(self, path: str, code: str, **params: object) -> None:
        """Record one problem; past :data:`MAX_ERRORS`, a note says so (F9)."""
        self._append(FieldError(path, code, params))

    def extend(self, error: ValidationError, prefix: str = "") -> None:
        """Record every problem of *error*, placed under *prefix*."""
        for e in error.errors:
            self._append(e.under(prefix))

    def _append(self, error: FieldError) -> None:
        # The last place is kept for the note saying the list was cut.
        kept = MAX_ERRORS - 1
        if len(self.errors) < kept:
            self.errors.append(error)
        elif len(self.errors) == kept:
            self.errors.append(FieldError("", "form.too_many_errors", {"max": kept}))

    def raise_if_any(self) -> None:
        """Raise a :class:`ValidationError` with everything recorded, if anything."""
        if self.errors:
            raise ValidationError(self.errors)


for _cls in (
    EchoppeError,
    ValidationError,
    NotFoundError,
    StorageError,
    ConcurrencyError,
    DeliveryError,
    AuthenticationError,
    RateLimitedError,
    TemplateError,
    FieldError,
):
    _cls.__module__ = "echoppe_accounts"  # where users import and catch them
