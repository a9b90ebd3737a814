"""A development mailer writing each message to a local Maildir folder.

The folder is a standard Maildir (``cur``, ``new``, ``tmp``): one file per
message, readable with ``mutt -f``, ``neomutt``, or any text editor.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from echoppe_accounts.domain.errors import DeliveryError

if TYPE_CHECKING:  # mailbox and email are imported by the first mail (issue 22)
    import mailbox

    from echoppe_accounts.domain.mail import OutgoingMail

_FOLDERS = ("tmp", "new", "cur")


class MaildirMailer:
    """Delivers mail into a local Maildir folder instead of a mail server.

    .. versionadded:: 0.2.0
    """

    def __init__(self, path: str | Path) -> None:
        """Use (and create if needed) the Maildir at *path*."""
        self.path = Path(path)
        self._box: mailbox.Maildir | None = None
        try:
            # What mailbox.Maildir(create=True) does; the standard library's
            # mailbox (and email) are imported by the first mail.
            if not self.path.exists():
                self.path.mkdir(0o700)
                for folder in _FOLDERS:
                    (self.path / folder).mkdir(0o700)
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
        import email.errors  # noqa: PLC0415 (see __init__)
        import mailbox  # noqa: PLC0415

        from echoppe_accounts.adapters.mime import build_message  # noqa: PLC0415

        try:
            message = build_message(mail, sender).as_bytes()
        except (ValueError, email.errors.MessageError) as exc:
            msg = f"mail {mail.id} cannot be built ({type(exc).__name__})"
            raise DeliveryError(msg, permanent=True) from exc
        try:
            if self._box is None:
                self._box = mailbox.Maildir(self.path, create=False)
            self._box.add(message)
        except OSError as exc:
            msg = f"cannot write to the mailbox folder {self.path}"
            raise DeliveryError(msg, connection=True) from exc
