"""Seals bound to the recipient, older keys, and earlier seals (SPEC O2 amended)."""

from __future__ import annotations

import os

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from builders import mail
from echoppe_accounts.domain.sealing import (
    KEY_BYTES,
    NONCE_BYTES,
    PREFIX,
    V1_PREFIX,
    SealError,
    seal,
    seal_mail,
    unseal_mail,
)
from strategies import emails

keys = st.binary(min_size=KEY_BYTES, max_size=KEY_BYTES)


@given(keys, emails(), emails())
def test_a_rewritten_recipient_opens_nothing(key, to, other):
    """O2: a sealed body opens for its own recipient only."""
    sealed = seal_mail(mail(to=to), key, os.urandom)
    assert sealed.text.startswith(PREFIX)
    assert unseal_mail(sealed, key).text == "Bonjour"
    if other != to:
        with pytest.raises(SealError):
            unseal_mail(attrs.evolve(sealed, to=other), key)


@given(keys, keys)
def test_an_older_key_still_opens_what_it_sealed(old, new):
    """O2: during a rotation the previous key opens the mails queued before."""
    sealed = seal_mail(mail(), old, os.urandom)
    assert unseal_mail(sealed, new, old).html == "<p>Bonjour</p>"
    if old != new:
        with pytest.raises(SealError):
            unseal_mail(sealed, new)


def test_a_body_sealed_by_the_previous_format_still_opens():
    """O2: mails queued before the upgrade (``sealed:v1:``, id and part) are sent."""
    key = bytes(range(32))
    queued = mail()
    v1 = seal(
        key,
        "jeton=abc",
        associated=f"echoppe_accounts.outbox/{queued.id}/text",
        nonce=bytes(NONCE_BYTES),
    ).replace(PREFIX, V1_PREFIX, 1)
    opened = unseal_mail(attrs.evolve(queued, text=v1), key)
    assert opened.text == "jeton=abc"
    with pytest.raises(SealError):  # still bound to its mail's id
        unseal_mail(attrs.evolve(queued, id="autre", text=v1), key)
