"""What a shop configures: its name, base URL, sender, policies and lifetimes."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from echoppe_accounts.domain.category import DEFAULT_POLICY, CategoryPolicy
from echoppe_accounts.domain.limits import ClientLimits
from echoppe_accounts.domain.password import PasswordPolicy
from echoppe_accounts.domain.sealing import check_key

if TYPE_CHECKING:
    import jinja2


def _check_outbox_key(_: object, __: object, value: bytes | None) -> None:
    if value is not None:
        check_key(value)


def _check_timezone(_: object, __: object, value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        msg = (
            f"timezone must be an IANA time zone such as 'Europe/Paris', not {value!r}"
        )
        raise ValueError(msg) from None


def _folders(value: object) -> tuple[Path, ...]:
    if isinstance(value, str | os.PathLike):
        value = [value]
    if not isinstance(value, list | tuple):
        msg = f"locale_dirs must be folders, not {value!r}"
        raise TypeError(msg)
    return tuple(Path(os.fspath(folder)) for folder in value)


def _check_base_url(_: object, __: object, value: str) -> None:
    parts = urlsplit(value)
    local = parts.hostname in {"localhost", "127.0.0.1", "::1"}
    if (
        parts.scheme not in {"https", "http"}
        or (parts.scheme == "http" and not local)
        or not parts.hostname
        or parts.query
        or parts.fragment
    ):
        msg = (
            "base_url must be an absolute https URL without query or fragment "
            f"(http is allowed for localhost only), not {value!r}"
        )
        raise ValueError(msg)


SAMPLE_SHOP_NAME = "example.org"
"""The shop's name in texts rendered without :class:`Settings` (samples)."""


def _site_name(base_url: str) -> str:
    """Return the host of *base_url* without ``www.``: the shop's default name.

    >>> _site_name("https://www.example.org/shop/")
    'example.org'
    """
    host = urlsplit(base_url).hostname or ""
    return host.removeprefix("www.")


_ATOMS = re.compile(r"[\w .!#$%&'*+/=?^`{|}~-]*")
"""A display name that needs no quotes (RFC 5322 atoms, spaces and dots)."""


def _mailbox(name: str, address: str) -> str:
    """Return ``name <address>``, quoting *name* if it holds specials."""
    if not _ATOMS.fullmatch(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"


@attrs.frozen
class Settings:
    """The shop's configuration of the library.

    Links in mails are always built from :attr:`base_url`, never from request
    data (SPEC R9), so a forged ``Host`` header cannot redirect a token.

    Attributes:
        base_url: The shop's absolute ``https`` URL (``http`` for localhost
            only), without query or fragment; every link starts with it.
        shop_name: The shop's name, in mails, on the "Mes données" page and
            refused as a password. By default the host of :attr:`base_url`
            without ``www.`` (``https://www.example.org`` → ``example.org``):
            the library names no shop of its own.
        sender: The ``From`` of every mail. By default :attr:`shop_name` at
            ``noreply@`` the same host (``example.org
            <noreply@example.org>``); set it to an address whose domain
            lets the mail server send (SPF, DKIM).
        category_policy: The payment methods and delivery modes of each
            category (SPEC C2).
        password_policy: The rules of new passwords (SPEC P2); by default
            the minimum, refusing passwords built on :attr:`shop_name`.
        set_password_ttl: How long the link of a set-password mail is valid.
        set_password_path: The path of that link, with a ``{token}``
            placeholder.
        reset_confirm_path: The path of the confirm link of a reset's first
            mail, with a ``{token}`` placeholder (SPEC R2).
        reset_cancel_path: The path of its "this was not me" link, likewise.
        newsletter_confirm_path: The path of the link confirming a newsletter
            subscription (SPEC F7), with a ``{token}`` placeholder.
        newsletter_confirm_ttl: How long that link is valid.
        email_change_ttl: How long the links of an email change are valid
            (SPEC F10).
        email_change_confirm_path: The path of the link, sent to the new
            address, that confirms an email change, with a ``{token}``
            placeholder.
        email_change_cancel_path: The path of the link, sent to the current
            address, that cancels the change and, after its confirmation,
            restores the former address (valid 7 days, SPEC F10).
        email_changes_per_day: How many email changes one account may ask
            for in 24 hours (SPEC F10).
        verified_signup: Verified sign-up (SPEC X5), off by default as the
            FAQ wants the fastest sign-up: when on, a registration with a
            known email answers exactly as a new one and mails the owner,
            and a new account logs in once its mailbox is proven.
        signup_verify_path: The path of the link of the verification mail.
        signup_verify_ttl: How long that link is valid.
        client_limits: How often one client key may try each action
            (login, reset, sign-up, express checkout).
        outbox_key: The 256-bit key (32 random bytes) that seals mail bodies
            in the outbox, so that no usable token or temporary password
            rests in the database (SPEC O2). Keep it out of the database:
            in the shop's secret store, or the ``ECHOPPE_OUTBOX_KEY``
            environment variable read by
            :func:`~echoppe_accounts.bootstrap`. ``None`` lets
            :func:`~echoppe_accounts.bootstrap` find one (see there). Never
            shown in ``repr``.
        outbox_old_key: The previous outbox key, while the shop rotates it:
            it still opens the mails sealed with it, and seals nothing.
            ``None`` lets :func:`~echoppe_accounts.bootstrap` read
            ``ECHOPPE_OUTBOX_OLD_KEY``. Never shown in ``repr``.
        imported_hash_cost: What a login on an imported bcrypt hash may
            reveal (SPEC P3, M3). ``None`` (the default): such a login
            costs bcrypt plus argon2id, others argon2id alone, and someone
            timing many attempts can tell an imported account not yet
            upgraded. A bcrypt cost (PrestaShop's 10): every other login,
            unknown emails included, also pays a bcrypt hash of that cost,
            so all cost the same while imported hashes remain. Used by the
            default hasher of :func:`~echoppe_accounts.bootstrap` (see
            :class:`~echoppe_accounts.LegacyHasher`); the costs measured
            are in the security page.
        outbox_retry_window: How long a mail that keeps failing for a
            moment is retried, from its creation (or its requeue), before
            it becomes a dead letter (SPEC O1).
        templates: The shop's templates of the texts customers read (mails,
            the "Mes données" page), looked up before the library's: a
            folder, or any ``jinja2.BaseLoader``. A file there named like
            a library template (``mail/welcome/body.html``) replaces it;
            every template is rendered with sample data by
            :func:`~echoppe_accounts.bootstrap`, so a broken one stops the
            start with a :class:`~echoppe_accounts.TemplateError` (SPEC T1).
            ``None``: the library's only.
        locale_dirs: Folders of the shop's message catalogues
            (``<folder>/<language>/LC_MESSAGES/messages.mo``), looked up
            before the library's: one rewords a message, or adds a
            language, which customers may then choose (SPEC T1).
            :func:`~echoppe_accounts.bootstrap` installs them for the
            whole process.
        timezone: The IANA time zone dates are shown in, to customers
            (``Europe/Paris``, summer time included).
        fast_paths: Whether the library reads the common case of emails,
            phone numbers, SIRET, French addresses and outgoing mails
            itself (faster; the tests hold it to the dependencies' answers).
            ``False`` sends every input to the general path, for the whole
            process, when :func:`~echoppe_accounts.bootstrap` wires it;
            ``True`` turns them on; ``None`` (the default) leaves the
            choice to the environment variable ``ECHOPPE_FAST_PATHS``
            (``0`` turns them off), on otherwise.

    >>> settings = Settings(base_url="https://www.example.org")
    >>> settings.link("/compte?t={token}", "x")
    'https://www.example.org/compte?t=x'
    >>> settings.shop_name, settings.sender
    ('example.org', 'example.org <noreply@example.org>')
    >>> Settings(
    ...     base_url="https://www.lechoppe.fr",
    ...     shop_name="L'Échoppe",
    ...     sender="L'Échoppe <ne-pas-repondre@lechoppe.fr>",
    ... ).shop_name
    "L'Échoppe"
    >>> Settings(base_url="http://evil.example")
    Traceback (most recent call last):
    ...
    ValueError: base_url must be an absolute https URL without query or fragment ...

    .. versionadded:: 0.2.0
    """

    base_url: str = attrs.field(validator=_check_base_url)
    shop_name: str = attrs.field(
        default=attrs.Factory(lambda self: _site_name(self.base_url), takes_self=True)
    )
    sender: str = attrs.field(
        default=attrs.Factory(
            lambda self: _mailbox(
                self.shop_name, f"noreply@{_site_name(self.base_url)}"
            ),
            takes_self=True,
        )
    )
    category_policy: CategoryPolicy = DEFAULT_POLICY
    password_policy: PasswordPolicy = attrs.field(
        default=attrs.Factory(
            lambda self: PasswordPolicy(shop_name=self.shop_name), takes_self=True
        )
    )
    set_password_ttl: timedelta = timedelta(hours=72)
    set_password_path: str = "/compte/mot-de-passe/definir?jeton={token}"  # noqa: S105
    reset_confirm_path: str = "/compte/mot-de-passe/confirmer?jeton={token}"
    reset_cancel_path: str = "/compte/mot-de-passe/annuler?jeton={token}"
    newsletter_confirm_path: str = "/newsletter/confirmer?jeton={token}"
    newsletter_confirm_ttl: timedelta = timedelta(days=7)
    email_change_ttl: timedelta = timedelta(hours=24)
    email_change_confirm_path: str = "/compte/e-mail/confirmer?jeton={token}"
    email_change_cancel_path: str = "/compte/e-mail/annuler?jeton={token}"
    email_changes_per_day: int = 3
    verified_signup: bool = False
    signup_verify_path: str = "/compte/verifier?jeton={token}"
    signup_verify_ttl: timedelta = timedelta(hours=24)
    client_limits: ClientLimits = attrs.field(factory=ClientLimits)
    outbox_key: bytes | None = attrs.field(
        default=None,
        repr=False,
        validator=[
            attrs.validators.optional(attrs.validators.instance_of(bytes)),
            _check_outbox_key,
        ],
    )
    outbox_old_key: bytes | None = attrs.field(
        default=None,
        repr=False,
        validator=[
            attrs.validators.optional(attrs.validators.instance_of(bytes)),
            _check_outbox_key,
        ],
    )
    outbox_retry_window: timedelta = timedelta(hours=72)
    imported_hash_cost: int | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(
            [attrs.validators.ge(4), attrs.validators.le(12)]
        ),
    )
    templates: str | os.PathLike[str] | jinja2.BaseLoader | None = None
    locale_dirs: tuple[Path, ...] = attrs.field(default=(), converter=_folders)
    timezone: str = attrs.field(default="Europe/Paris", validator=_check_timezone)
    fast_paths: bool | None = None

    def link(self, path_template: str, token: str) -> str:
        """Return the absolute link for *path_template* with *token* filled in."""
        return self.base_url.rstrip("/") + path_template.format(token=token)
