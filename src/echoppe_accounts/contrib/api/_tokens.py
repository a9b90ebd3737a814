"""Sealed tokens: the session (cookie or bearer), the CSRF token, the device token.

Each is AES-256-GCM over a small JSON payload, with a key derived from
:attr:`ApiSettings.secret_key` for its purpose alone, so a token of one kind
never opens as another. Sealing, not only signing: the restricted session's
change token (SPEC R4) and the device token (P4) are secrets and stay
unreadable in the client's hands.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

import attrs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

RESTRICTED_MAX_AGE = timedelta(hours=1)
"""How long a restricted session lasts: the life of its change token (SPEC R4)."""
_NONCE = 12
_MAX_TOKEN = 4096
"""Longest token looked at: size before work (SPEC F9)."""


def _derive(secret: bytes, purpose: str) -> AESGCM:
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"echoppe-accounts.contrib.api",
        info=purpose.encode(),
    ).derive(secret)
    return AESGCM(key)


@attrs.frozen
class Session:
    """What a session token holds.

    Attributes:
        account_id: The customer logged in.
        stamp: The account's session stamp at login (SPEC P6).
        csrf: The CSRF token bound to a cookie session.
        change_token: In a restricted session (SPEC R4), the token that sets
            the new password; ``None`` otherwise.
        issued_at: When the session began.
        bearer: Whether the token travels as ``Authorization: Bearer``.
    """

    account_id: str
    stamp: str = attrs.field(repr=False)
    csrf: str = attrs.field(repr=False)
    change_token: str | None = attrs.field(repr=False)
    issued_at: datetime
    bearer: bool

    @property
    def restricted(self) -> bool:
        """Whether the only thing this session may do is set a new password."""
        return self.change_token is not None


class Sealer:
    """Seals and opens the API's tokens with keys derived from one secret."""

    def __init__(self, secret: bytes) -> None:
        """Derive one key per purpose from *secret*."""
        self._keys = {
            purpose: _derive(secret, purpose)
            for purpose in ("session", "bearer", "csrf", "device")
        }

    def seal(self, purpose: str, payload: dict[str, Any]) -> str:
        """Return *payload* sealed for *purpose*, as URL-safe text."""
        nonce = secrets.token_bytes(_NONCE)
        body = json.dumps(payload, separators=(",", ":")).encode()
        sealed = self._keys[purpose].encrypt(nonce, body, purpose.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, purpose: str, token: str) -> dict[str, Any] | None:
        """Return the payload of *token* sealed for *purpose*, or ``None``."""
        if not token or len(token) > _MAX_TOKEN or not token.isascii():
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            body = self._keys[purpose].decrypt(
                raw[:_NONCE], raw[_NONCE:], purpose.encode()
            )
            payload = json.loads(body)
        except (binascii.Error, ValueError, InvalidTag):
            return None
        return payload if isinstance(payload, dict) else None

    # -- sessions ------------------------------------------------------------

    def seal_session(self, session: Session) -> str:
        """Return the token of *session*."""
        return self.seal(
            "bearer" if session.bearer else "session",
            {
                "a": session.account_id,
                "s": session.stamp,
                "c": session.csrf,
                "r": session.change_token,
                "i": session.issued_at.isoformat(),
            },
        )

    def open_session(
        self, token: str, *, bearer: bool, now: datetime, max_age: timedelta
    ) -> Session | None:
        """Return the session of *token*, or ``None`` if forged or too old."""
        payload = self.open("bearer" if bearer else "session", token)
        if payload is None:
            return None
        try:
            issued = datetime.fromisoformat(payload["i"])
            session = Session(
                account_id=str(payload["a"]),
                stamp=str(payload["s"]),
                csrf=str(payload["c"]),
                change_token=None if payload["r"] is None else str(payload["r"]),
                issued_at=issued,
                bearer=bearer,
            )
        except (KeyError, TypeError, ValueError):  # pragma: no cover (sealed by us)
            return None
        if session.restricted:
            max_age = min(max_age, RESTRICTED_MAX_AGE)
        if not timedelta(0) <= now - issued <= max_age:
            return None
        return session


def new_csrf() -> str:
    """Return a fresh CSRF token (128 bits)."""
    return secrets.token_urlsafe(16)
