"""Data as earlier versions of the library stored it, for migration tests."""

from __future__ import annotations

import unicodedata

from builders import NOW, account
from echoppe_accounts import Account, Email


def old_key(address: str) -> str:
    """The email key before 0.2.0: NFKC and casefold of the whole address."""
    return unicodedata.normalize("NFKC", address).casefold()


def legacy_accounts() -> dict[str, Account]:
    """Accounts as versions before 0.2.0 stored them, each with its old key.

    ``eszett`` (``info@straße.de``) and ``sigma`` (``x@σοφιας.gr``) had the
    keys of ``info@strasse.de`` and ``x@σοφιασ.gr``; ``full_width`` is an
    address 0.2.0 refuses but keys alike; ``erased`` keeps its placeholder.
    """
    eszett = account("info@straße.de")
    sigma = account("x@σοφιας.gr")
    plain = account("Claire.Martin@exemple.fr")
    full_width = account()
    full_width.email = Email("ｊｅａｎ@exemple.fr", "")  # accepted before 0.2.0
    erased = account("efface@exemple.fr")
    erased.erase(NOW, lambda: "stamp-of-erasure")
    for a in (eszett, sigma, plain, full_width):
        a.email = Email(a.email.address, old_key(a.email.address))
    return {
        "eszett": eszett,
        "sigma": sigma,
        "plain": plain,
        "full_width": full_width,
        "erased": erased,
    }


LEGACY_RECIPIENTS = ["info@straße.de", "Claire.Martin@Exemple.FR", "pas une adresse"]
"""Recipients of outbox mails queued before 0.2.0; the last one has no key."""

LEGACY_RECIPIENT_KEYS = ["info@xn--strae-oqa.de", "claire.martin@exemple.fr", None]
"""The keys a migration gives :data:`LEGACY_RECIPIENTS`."""


def expected_keys(legacy: dict[str, Account]) -> dict[str, str]:
    """Return the email key of each of *legacy*'s accounts once migrated, by id."""
    return {
        legacy["eszett"].id: "info@xn--strae-oqa.de",
        legacy["sigma"].id: "x@xn--mxaprobt.gr",
        legacy["plain"].id: "claire.martin@exemple.fr",
        legacy["full_width"].id: "jean@exemple.fr",
        legacy["erased"].id: f"erased:{legacy['erased'].id}",
    }


COLUMNS_SINCE_0_2 = frozenset(
    {
        "session_stamp",
        "pending_email",
        "pending_email_key",
        "pending_email_at",
        "former_email",
        "former_email_key",
        "former_email_until",
        "siren",
        "ape",
    }
)
"""``accounts`` columns added after the email-key migration (0.2.0, 0.3.0)."""


def old_account_row(a: Account) -> dict[str, object]:
    """The ``accounts`` row of *a* as versions before 0.2.0 wrote it."""
    from echoppe_accounts.adapters import _records as rec  # noqa: PLC0415

    return {k: v for k, v in rec.account_row(a).items() if k not in COLUMNS_SINCE_0_2}
