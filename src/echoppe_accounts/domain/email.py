"""Email addresses (SPEC F1).

Syntax is checked by *email-validator* without any network access; the
address is kept in the library's ``normalized`` form, and the account's
uniqueness key is that form with NFKC and case folding applied to the whole
address, so that ``Jean.Dupont@Exemple.FR`` and ``jean.dupont@exemple.fr``
are one account.

>>> e = Email.parse("Jean.Dupont@Exemple.FR")
>>> e.address
'Jean.Dupont@exemple.fr'
>>> e.key
'jean.dupont@exemple.fr'
>>> Email.parse("jean.dupont@exemple.fr").key == e.key
True
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

from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.text import has_forbidden_character

MAX_LENGTH = 254
"""Longest address accepted, in characters (RFC 5321 path limit less brackets)."""


def canonical_key(address: str) -> str:
    """Return the uniqueness key of an already normalised *address* (NFKC+casefold).

    The key is only ever used to *find* an account; mail always goes to the
    stored address, never to a key or to what a requester typed.
    """
    return unicodedata.normalize("NFKC", address).casefold()


@attrs.frozen
class Email:
    """A syntactically valid email address and its canonical key.

    Build it with :meth:`parse`; the constructor trusts its arguments.

    Attributes:
        address: The normalised address, where mail is sent.
        key: The uniqueness key, *address* with NFKC and case folding
            applied.

    .. versionadded:: 0.1.0
    """

    address: str
    key: str

    @classmethod
    def parse(cls, value: str, path: str = "email") -> Email:
        """Validate *value* and return an :class:`Email`, or raise at *path*."""
        value = value.strip()
        if not value:
            raise ValidationError.single(path, "required")
        if len(value) > MAX_LENGTH or has_forbidden_character(value):
            raise ValidationError.single(path, "email.invalid", reason="bad length")
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
        return cls(result.normalized, canonical_key(result.normalized))

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
