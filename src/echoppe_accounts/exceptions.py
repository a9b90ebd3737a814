"""The exceptions raised by echoppe-accounts (all derive from :class:`EchoppeError`)."""

from echoppe_accounts.domain.errors import (
    ConcurrencyError,
    DeliveryError,
    EchoppeError,
    FieldError,
    NotFoundError,
    StorageError,
    ValidationError,
    known_codes,
)

__all__ = [
    "ConcurrencyError",
    "DeliveryError",
    "EchoppeError",
    "FieldError",
    "NotFoundError",
    "StorageError",
    "ValidationError",
    "known_codes",
]
