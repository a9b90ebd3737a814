"""The exceptions raised by echoppe-accounts.

All derive from :class:`~echoppe_accounts.EchoppeError`, and all are also
importable from the package itself.
"""

from echoppe_accounts.domain.errors import (
    AuthenticationError,
    ConcurrencyError,
    DeliveryError,
    EchoppeError,
    FieldError,
    NotFoundError,
    StorageError,
    TemplateError,
    ValidationError,
    known_codes,
)
from echoppe_accounts.domain.reset import IllegalTransitionError

__all__ = [
    "AuthenticationError",
    "ConcurrencyError",
    "DeliveryError",
    "EchoppeError",
    "FieldError",
    "IllegalTransitionError",
    "NotFoundError",
    "StorageError",
    "TemplateError",
    "ValidationError",
    "known_codes",
]
