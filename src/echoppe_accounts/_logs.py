"""Keeping personal data out of log lines (SPEC O4 amended, R9).

Log records at ``INFO`` and above say what happened in counts, ids and
words; an email address that slips into a message (a driver's error quoting
a row, a server's reply) is masked to its first letter and its top-level
domain: ``jean.dupont@exemple.fr`` becomes ``j***@***.fr``.

>>> mask("refused <jean.dupont@exemple.fr>, then claire@exemple.org")
'refused <j***@***.fr>, then c***@***.org'
"""

from __future__ import annotations

import re

_ADDRESS = re.compile(
    r"(?P<first>[^\s<>()\[\]\"',;:@])[^\s<>()\[\]\"',;:@]*@[^\s<>()\[\]\"',;:@]*?"
    r"(?P<tld>\.[A-Za-z0-9-]+)?(?=[\s<>()\[\]\"',;:]|$)"
)


def mask(text: object) -> str:
    """Return *text* (any object, as ``str``) with every email address masked."""
    return _ADDRESS.sub(
        lambda m: f"{m.group('first')}***@***{m.group('tld') or ''}", str(text)
    )
