"""Building standard MIME messages from outgoing mails (text + HTML, UTF-8)."""

from __future__ import annotations

import email.policy
import functools
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from echoppe_accounts.domain.mail import OutgoingMail

_UTF8_HEADERS = email.policy.default.clone(utf8=True)
"""RFC 6532 headers, for internationalised addresses (sent with SMTPUTF8)."""


@functools.lru_cache(maxsize=16)
def sender_address(sender: str) -> tuple[str, str]:
    """Return the display name and address of *sender*, parsed once.

    A dispatcher sends every mail from the same sender: parsing it for
    each mail cost more than building the ``From`` header.
    """
    name, addr = parseaddr(sender)
    return name, addr


def message_id(mail: OutgoingMail, sender: str) -> str:
    """Return the stable ``Message-ID`` of *mail*: the same on every attempt."""
    domain = sender_address(sender)[1].rpartition("@")[2] or "localhost"
    return f"<{mail.id}@{domain}>"


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    """Return *mail* as a ``multipart/alternative`` message from *sender*.

    An internationalised address (``léa@exemple.fr``) cannot be written
    with RFC 2047 encoded words: such a message uses UTF-8 headers
    (RFC 6532) and must be sent with the ``SMTPUTF8`` extension.
    """
    # Only the addresses decide: with ASCII addresses, names and subjects
    # go as encoded words and the whole message stays ASCII.
    name, addr = sender_address(sender)
    international = not (mail.to + addr).isascii()
    msg = EmailMessage(policy=_UTF8_HEADERS if international else email.policy.default)
    msg["From"] = Address(display_name=name, addr_spec=addr) if name else addr
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(mail.created_at)
    msg["Message-ID"] = message_id(mail, sender)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.text, charset="utf-8")
    msg.add_alternative(mail.html, subtype="html", charset="utf-8")
    return msg
