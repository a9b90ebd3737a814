"""The fast path of ``Email.parse``: plain ASCII addresses.

A plain address (printable ASCII, a dot-atom local part, a lower-cased
host name of letters, digits and hyphens) is what email-validator accepts
with no work of its own; :func:`plain` reads it, and returns ``None`` for
any other address, which goes to email-validator, the reference. The
fast paths' switch (:mod:`echoppe_accounts.domain.fast`) turns it off;
``tests/unit/test_fast_paths.py`` holds both paths to the same answers.
"""

from __future__ import annotations

import re

import email_validator
from email_validator import rfc_constants

_PLAIN_DOMAIN = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]|[a-z0-9][a-z0-9-]{0,61}[a-z])",
    re.ASCII,
)
"""Lower-case host names of two labels or more whose last one ends in a letter.

Every label fits DNS's 63 characters and neither starts nor ends with a
hyphen: what email-validator accepts of an ASCII domain that must be
deliverable (a dot, a top-level domain ending in a letter).
"""


def plain(value: str) -> tuple[str, str] | None:
    """Return the local part and domain of a plain ASCII address, else ``None``.

    Plain: what *email-validator* accepts with no work of its own (no
    quoting, no IDNA, no mailbox name it lower-cases), and nothing it
    could refuse. ``None`` sends the address to email-validator.
    """
    if not value.isascii():
        return None
    local, _, domain = value.partition("@")
    domain = domain.lower()  # what UTS #46 does to ASCII letters
    if (
        len(local) > rfc_constants.LOCAL_PART_MAX_LENGTH  # its strict mode's limit
        or len(domain) > rfc_constants.DOMAIN_MAX_LENGTH
        or rfc_constants.DOT_ATOM_TEXT.match(local) is None
        or local.lower() in rfc_constants.CASE_INSENSITIVE_MAILBOX_NAMES
        or _PLAIN_DOMAIN.fullmatch(domain) is None
        or "--" in domain  # R-LDH labels and Punycode ("xn--")
    ):
        return None
    # The domain or one of its parent domains (what follows one of its dots)
    # is a special-use name: what endswith(".name") asked, without building
    # the suffixes at each call.
    special = email_validator.SPECIAL_USE_DOMAIN_NAMES
    tail = domain
    while True:
        if tail in special:
            return None
        dot = tail.find(".")
        if dot < 0:
            return local, domain
        tail = tail[dot + 1 :]
