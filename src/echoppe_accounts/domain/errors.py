"""The library's exceptions: one root, stable codes, French and English messages.

Every problem with caller input is a :class:`FieldError` with a field path
(``"delivery_addresses[2].address.postal_code"``), a stable machine ``code``
and a message in French (the default) and English. A public operation that
finds problems raises one :class:`ValidationError` carrying all of them
(SPEC F8), never the first one only.

>>> err = ValidationError([FieldError("siret", "siret.invalid_checksum")])
>>> err.errors[0].code
'siret.invalid_checksum'
>>> err.errors[0].message()
'Le numéro de SIRET est invalide (clé de contrôle incorrecte).'
>>> err.errors[0].message("en")
'The SIRET number is invalid (wrong check digit).'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import attrs

Language = Literal["fr", "en"]
"""The languages of messages and mails, French (default) and English."""

# code -> (French, English). Placeholders use str.format with FieldError.params.
_MESSAGES: Mapping[str, tuple[str, str]] = {
    "required": ("Ce champ est obligatoire.", "This field is required."),
    "not_allowed": (
        "Ce champ n’est pas accepté pour cette catégorie de client.",
        "This field is not accepted for this customer category.",
    ),
    "text.too_long": (
        "Ce champ ne peut dépasser {max} caractères.",
        "This field cannot exceed {max} characters.",
    ),
    "text.control_character": (
        "Ce champ contient un caractère invisible ou de contrôle.",
        "This field contains an invisible or control character.",
    ),
    "email.invalid": (
        "L’adresse e-mail est invalide.",
        "The email address is invalid ({reason}).",
    ),
    "email.undeliverable": (
        "Cette adresse e-mail ne peut pas recevoir de courrier.",
        "This email address cannot receive mail.",
    ),
    "email.taken": (
        "Un compte existe déjà avec cette adresse e-mail.",
        "An account already exists with this email address.",
    ),
    "phone.invalid": (
        "Le numéro de téléphone est invalide.",
        "The phone number is invalid.",
    ),
    "siret.invalid_format": (
        "Le numéro de SIRET doit comporter 14 chiffres.",
        "The SIRET number must have 14 digits.",
    ),
    "siret.invalid_checksum": (
        "Le numéro de SIRET est invalide (clé de contrôle incorrecte).",
        "The SIRET number is invalid (wrong check digit).",
    ),
    "siret.all_zero": (
        "Le numéro de SIRET ne peut pas être composé uniquement de zéros.",
        "The SIRET number cannot be all zeros.",
    ),
    "category.invalid": (
        (
            "Catégorie de client inconnue : choisissez collectivité, entreprise, "
            "particulier ou professionnel."
        ),
        (
            "Unknown customer category: choose public body, company, individual "
            "or professional."
        ),
    ),
    "chorus.requirement_invalid": (
        "Exigence Chorus Pro inconnue.",
        "Unknown Chorus Pro requirement.",
    ),
    "chorus.service_code_required": (
        "Le code service Chorus Pro est exigé par cette entité.",
        "This entity requires a Chorus Pro service code.",
    ),
    "chorus.engagement_required": (
        "Le numéro d’engagement est exigé par cette entité.",
        "This entity requires a purchase-order (engagement) number.",
    ),
    "chorus.service_or_engagement_required": (
        "Cette entité exige un code service ou un numéro d’engagement.",
        "This entity requires a service code or an engagement number.",
    ),
    "chorus.not_public_body": (
        "Les données Chorus Pro ne concernent que les collectivités.",
        "Chorus Pro routing data only applies to public bodies.",
    ),
    "address.too_many_lines": (
        "L’adresse compte au plus {max} lignes de voie.",
        "The address has at most {max} street lines.",
    ),
    "address.line_too_long": (
        "Une ligne d’adresse ne peut dépasser 38 caractères (norme postale).",
        "An address line cannot exceed 38 characters (postal standard).",
    ),
    "address.postal_code_invalid": (
        "Le code postal est invalide.",
        "The postal code is invalid.",
    ),
    "address.country_invalid": (
        "Le pays doit être un code ISO 3166-1 à deux lettres (FR, BE…).",
        "The country must be a two-letter ISO 3166-1 code (FR, BE…).",
    ),
    "address.too_many_deliveries": (
        "Un compte peut avoir au plus {max} adresses de livraison.",
        "An account can have at most {max} delivery addresses.",
    ),
    "address.delivery_required": (
        "Au moins une adresse de livraison est nécessaire.",
        "At least one delivery address is required.",
    ),
    "address.last_delivery": (
        "La dernière adresse de livraison ne peut pas être supprimée.",
        "The last delivery address cannot be removed.",
    ),
    "address.separate_billing": (
        (
            "Toutes les adresses de livraison partagent l’adresse de facturation du "
            "compte ; modifiez celle-ci pour toutes."
        ),
        (
            "All delivery addresses share the account’s billing address; change it "
            "for all of them."
        ),
    ),
    "address.unknown_delivery": (
        "Adresse de livraison introuvable.",
        "Delivery address not found.",
    ),
    "password.too_short": (
        "Le mot de passe doit comporter au moins {min} caractères.",
        "The password must be at least {min} characters long.",
    ),
    "password.too_long": (
        "Le mot de passe ne peut dépasser {max} caractères.",
        "The password cannot exceed {max} characters.",
    ),
    "password.common": (
        "Ce mot de passe est trop courant ; choisissez-en un autre.",
        "This password is too common; choose another one.",
    ),
    "password.personal": (
        (
            "Le mot de passe ne doit pas reprendre votre adresse e-mail, votre nom "
            "ou le nom de la boutique."
        ),
        (
            "The password must not be built on your email address, your name or "
            "the shop’s name."
        ),
    ),
    "consent.wording_required": (
        "La version du texte de consentement affiché est obligatoire.",
        "The version of the consent wording shown is required.",
    ),
    "token.invalid": (
        "Ce lien n’est plus valable. Demandez-en un nouveau.",
        "This link is no longer valid. Ask for a new one.",
    ),
    "account.not_found": ("Compte introuvable.", "Account not found."),
    "analytics.visitor_invalid": (
        "Identifiant de visiteur illisible.",
        "Unreadable visitor identifier.",
    ),
    "login.failed": (
        "Adresse e-mail ou mot de passe incorrect.",
        "Wrong email address or password.",
    ),
    "login.throttled": (
        "Trop de tentatives : réessayez dans {seconds} secondes.",
        "Too many attempts: try again in {seconds} seconds.",
    ),
    "login.blocked": (
        (
            "Trop de tentatives : utilisez « J’ai oublié mon mot de passe » ou "
            "contactez le service clients."
        ),
        ("Too many attempts: use “I forgot my password” or contact customer service."),
    ),
    "password.same_as_temporary": (
        "Choisissez un mot de passe différent du mot de passe temporaire.",
        "Choose a password other than the temporary one.",
    ),
    "password.wrong_current": (
        "Le mot de passe actuel est incorrect.",
        "The current password is wrong.",
    ),
    "account.already_complete": (
        "Ce compte est déjà complet.",
        "This account is already complete.",
    ),
    "text.invalid_unicode": (
        "Ce champ contient un texte illisible (caractère Unicode invalide).",
        "This field contains unreadable text (invalid Unicode character).",
    ),
    "form.too_many_errors": (
        (
            "Le formulaire contient trop d’erreurs ; seules les {max} premières "
            "sont affichées."
        ),
        "The form has too many errors; only the first {max} are shown.",
    ),
    "email.not_normalized": (
        (
            "Écrivez l’adresse e-mail avec des caractères ordinaires (sans lettres "
            "pleine chasse ni ligatures)."
        ),
        (
            "Write the email address with ordinary characters (no full-width "
            "letters or ligatures)."
        ),
    ),
    "phone.ambiguous": (
        (
            "Ce numéro existe dans plusieurs territoires : saisissez-le au format "
            "international, par exemple +687 …"
        ),
        (
            "This number exists in several territories: type it in international "
            "form, for example +687 …"
        ),
    ),
    "language.invalid": (
        "Langue non proposée : choisissez fr (français) ou en (anglais).",
        "Language not offered: choose fr (French) or en (English).",
    ),
    "account.erased": (
        "Ce compte a été supprimé.",
        "This account has been erased.",
    ),
    "account.changed_concurrently": (
        "Le compte a été modifié entre-temps ; veuillez réessayer.",
        "The account was changed meanwhile; please try again.",
    ),
}


def message_for(code: str, params: Mapping[str, object], language: Language) -> str:
    """Return the message of *code* in *language*, with *params* filled in."""
    french, english = _MESSAGES.get(code, ("Valeur invalide.", "Invalid value."))
    template = french if language == "fr" else english
    return template.format_map(dict(params))


def known_codes() -> frozenset[str]:
    """Return every error code the library can produce (stable across releases).

    .. versionadded:: 0.1.0
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

    .. versionadded:: 0.1.0
    """

    path: str
    code: str
    params: Mapping[str, object] = attrs.field(factory=dict, eq=False)

    def message(self, language: Language = "fr") -> str:
        """Return the human message, in French unless *language* is ``"en"``."""
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

    .. versionadded:: 0.1.0
    """


class ValidationError(EchoppeError, ValueError):
    """Input was refused; :attr:`errors` lists every problem found.

    Nothing was stored when this is raised.

    Attributes:
        errors (tuple[FieldError, ...]): Every problem found, in form order.

    .. versionadded:: 0.1.0
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

    .. versionadded:: 0.1.0
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

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       :attr:`retryable`.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        """Describe the failure in words; say whether a retry may succeed."""
        self.retryable = retryable
        super().__init__(message)


class ConcurrencyError(StorageError):
    """The account was changed by someone else since it was read.

    Always :attr:`~StorageError.retryable`: read the account again and redo
    the change, for instance with :func:`~echoppe_accounts.retry_on_conflict`.

    .. versionadded:: 0.1.0
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

    .. versionadded:: 0.1.0
    """

    def __init__(self, code: str, retry_after: float | None = None) -> None:
        """Build the error for *code*, with the wait in seconds if throttled."""
        self.code = code
        self.retry_after = retry_after
        super().__init__(self.message("en"))

    def message(self, language: Language = "fr") -> str:
        """Return the message to show the customer."""
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

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       :attr:`permanent` and :attr:`connection`.
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
    FieldError,
):
    _cls.__module__ = "echoppe_accounts"  # where users import and catch them
