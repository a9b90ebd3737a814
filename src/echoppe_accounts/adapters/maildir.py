"""A development mailer writing each message to a local Maildir folder.

The folder is a standard Maildir (``cur``, ``new``, ``tmp``): one file per
message, readable with ``mutt -f``, ``neomutt``, or any text editor.
"""

from __future__ import annotations

import email.errors
import mailbox
from pathlib import Path

from echoppe_accounts.adapters.mime import build_message
from echoppe_accounts.domain.errors import DeliveryError
from echoppe_accounts.domain.mail import OutgoingMail


class MaildirMailer:
    """Delivers mail into a local Maildir folder instead of a mail server.

    .. versionadded:: 0.2.0
    """

    def __init__(self, path: str | Path) -> None:
        """Use (and create if needed) the Maildir at *path*."""
        self.path = Path(path)
        try:
            self._box = mailbox.Maildir(self.path, create=True)
        except OSError as exc:
            msg = f"cannot open the mailbox folder {self.path}"
            raise DeliveryError(msg) from exc

    def send(self, mail: OutgoingMail, sender: str) -> None:
        """Write *mail* as a new message file.

        Raises:
            DeliveryError: :attr:`~echoppe_accounts.DeliveryError.permanent`
                if the message cannot be built;
                :attr:`~echoppe_accounts.DeliveryError.connection` if the
                folder cannot be written (a full disk fails every mail
                alike, so the dispatcher ends its round).
        """
        try:
            message = build_message(mail, sender).as_bytes()
        except (ValueError, email.errors.MessageError) as exc:
            msg = f"mail {mail.id} cannot be built ({type(exc).__name__})"
            raise DeliveryError(msg, permanent=True) from exc
        try:
            self._box.add(message)
        except OSError as exc:
            msg = f"cannot write to the mailbox folder {self.path}"
            raise DeliveryError(msg, connection=True) from exc
