"""Email addresses (SPEC F1).

Syntax is checked by *email-validator* without any network access, and the
address is kept in the library's ``normalized`` form. The account's
uniqueness key is the local part with NFKC and case folding, ``@``, and the
domain as its lower-case IDNA A-label: ``Jean.Dupont@Exemple.FR`` and
``jean.dupont@exemple.fr`` are one account, while ``info@straße.de`` and
``info@strasse.de`` are two, because they are two IDNA domains (folding the
whole address would turn ``ß`` into ``ss``).

An address is never stored in one form and keyed in another: a local part
that NFKC would change (full-width letters, ligatures) is refused with
``email.not_normalized`` rather than stored as typed and keyed as folded.
A domain typed in full-width letters is fine: the IDNA mapping rewrites it,
and the stored address holds the rewritten domain.

A plain address, the common case, is read here without calling
*email-validator*: printable ASCII, a local part of email-validator's own
dot-atom pattern, and a domain of letters, digits, hyphens and dots ending
in a letter, outside the special-use names email-validator refuses. Its
result is what email-validator returns for such an address; anything else,
and every address this reading would refuse, goes to email-validator. The
tests hold both paths to the same answers (``tests/unit/test_fast_paths.py``).

>>> e = Email.parse("Jean.Dupont@Exemple.FR")
>>> e.address
'Jean.Dupont@exemple.fr'
>>> e.key
'jean.dupont@exemple.fr'
>>> Email.parse("jean.dupont@exemple.fr").key == e.key
True
>>> Email.parse("info@straße.de").key
'info@xn--strae-oqa.de'
>>> Email.parse("info@strasse.de").key
'info@strasse.de'
>>> Email.parse("ｊｅａｎ@exemple.fr")
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: email: Write the email address with ordinary...
>>> Email.parse("jean.dupont@")
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: email: The email address is invalid (...).
"""

from __future__ import annotations

import hashlib
import unicodedata

import attrs
import email_validator
import idna

from echoppe_accounts.domain import fast
from echoppe_accounts.domain._fast_email import plain as _plain
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.text import check_raw, has_forbidden_character

MAX_LENGTH = 254
"""Longest address accepted, in characters (RFC 5321 path limit less brackets)."""

_DOMAIN_MAX_LENGTH = 253
"""Longest domain name (RFC 1035), checked before any IDNA work."""


def _key(local: str, ascii_domain: str) -> str:
    return f"{unicodedata.normalize('NFKC', local).casefold()}@{ascii_domain.lower()}"


def _a_label(domain: str) -> str:
    if domain.isascii():
        # What email-validator does for ASCII domains: no IDNA library call.
        return domain.lower()
    # The same steps as email-validator's, so that the key of a stored
    # address is the key its parse gave.
    mapped = idna.uts46_remap(domain, std3_rules=False, transitional=False)
    return ".".join(idna.alabel(label).decode("ascii") for label in mapped.split("."))


def canonical_key(address: str) -> str:
    """Return the uniqueness key of *address*, a stored (normalised) address.

    The key is the local part with NFKC and case folding, ``@``, and the
    domain as its lower-case IDNA A-label, as :meth:`Email.parse` computes
    it; ``canonical_key(Email.parse(x).address) == Email.parse(x).key``.
    It is only ever used to *find* an account or the mails about one; mail
    always goes to the stored address, never to a key or to what a
    requester typed.

    >>> canonical_key("Jean.Dupont@exemple.fr")
    'jean.dupont@exemple.fr'
    >>> canonical_key("info@straße.de")
    'info@xn--strae-oqa.de'

    Args:
        address: An address as :attr:`Email.address` holds it (a typed one
            works too when its domain is valid IDNA).

    Raises:
        ValidationError: ``email.invalid`` when *address* is too long, has
            no ``@``, or has a non-ASCII domain that is not valid IDNA.
    """
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or len(address) > MAX_LENGTH:
        raise ValidationError.single("email", "email.invalid", reason="no key")
    if len(domain) > _DOMAIN_MAX_LENGTH:
        raise ValidationError.single("email", "email.invalid", reason="long domain")
    try:
        a_label = _a_label(domain)
    except (idna.IDNAError, UnicodeError, ValueError):
        raise ValidationError.single(
            "email", "email.invalid", reason="domain is not IDNA"
        ) from None
    return _key(local, a_label)


@attrs.frozen
class Email:
    """A syntactically valid email address and its canonical key.

    Build it with :meth:`parse`; the constructor trusts its arguments.

    Attributes:
        address: The normalised address, where mail is sent.
        key: The uniqueness key: the local part with NFKC and case
            folding, ``@``, and the lower-case IDNA A-label of the domain
            (see ``echoppe_accounts.domain.email.canonical_key``).

    .. versionadded:: 0.2.0
    """

    address: str
    key: str

    @classmethod
    def parse(cls, value: str, path: str = "email") -> Email:
        """Validate *value* and return an :class:`Email`, or raise at *path*.

        Size and Unicode validity are checked before anything else (SPEC F9).

        Raises:
            ValidationError: ``required`` for a blank value;
                ``text.too_long`` or ``text.invalid_unicode`` for a value
                refused before any work; ``email.invalid`` for an invalid
                address; ``email.not_normalized`` for a local part written
                in full-width letters, ligatures or other compatibility
                characters.
        """
        check_raw(value, path, max_length=MAX_LENGTH)
        value = value.strip()
        if not value:
            raise ValidationError.single(path, "required")
        if len(value) > MAX_LENGTH or has_forbidden_character(value):
            raise ValidationError.single(path, "email.invalid", reason="bad length")
        if fast.enabled() and (plain := _plain(value)) is not None:
            # ASCII: NFKC changes nothing, and case folding is lower().
            local, domain = plain
            return cls(f"{local}@{domain}", f"{local.lower()}@{domain}")
        try:
            result = email_validator.validate_email(value, check_deliverability=False)
        except email_validator.EmailNotValidError as exc:
            raise ValidationError.single(
                path, "email.invalid", reason=str(exc)
            ) from None
        except (ValueError, UnicodeError):  # idna and codecs edge cases
            raise ValidationError.single(
                path, "email.invalid", reason="unreadable"
            ) from None
        local = result.local_part
        # The stored local part is what the key folds: were NFKC to change
        # it, mail would go to one mailbox and the key name another. The
        # domain needs no check: IDNA maps it, and the key uses its A-label.
        if unicodedata.normalize("NFKC", local) != local:
            raise ValidationError.single(path, "email.not_normalized")
        # _key() of a local part NFKC leaves as it is: not normalised again.
        return cls(
            result.normalized, f"{local.casefold()}@{result.ascii_domain.lower()}"
        )

    @property
    def login_key(self) -> str:
        """A digest of :attr:`key`, to count attempts without keeping addresses.

        Failed logins and reset requests are tracked by this digest, also
        for addresses that have no account (SPEC P4, R6).
        """
        return hashlib.sha256(f"login:{self.key}".encode()).hexdigest()

    @property
    def domain(self) -> str:
        """The part after the last ``@``."""
        return self.address.rpartition("@")[2]

    def __str__(self) -> str:
        """Return the address."""
        return self.address
