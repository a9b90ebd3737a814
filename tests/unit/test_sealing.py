"""Sealing outbox bodies: AES-256-GCM bound to the mail, keys read as text (O2)."""

from __future__ import annotations

import base64

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from builders import mail
from echoppe_accounts.domain.sealing import (
    KEY_BYTES,
    NONCE_BYTES,
    PREFIX,
    SealError,
    check_key,
    is_sealed,
    parse_key,
    seal,
    seal_mail,
    unseal,
    unseal_mail,
)

keys = st.binary(min_size=KEY_BYTES, max_size=KEY_BYTES)
nonces = st.binary(min_size=NONCE_BYTES, max_size=NONCE_BYTES)
texts = st.text()
ids = st.text(min_size=1, max_size=40)


@given(keys, nonces, texts, ids)
def test_a_sealed_text_opens_with_its_key_and_associated_data(
    key, nonce, text, associated
):
    """O2: what is sealed opens again, identical, and does not show in the seal."""
    sealed = seal(key, text, associated=associated, nonce=nonce)
    assert is_sealed(sealed)
    assert sealed.isascii()
    assert unseal(key, sealed, associated=associated) == text


@given(keys, keys, nonces, texts, ids, ids)
def test_another_key_or_another_mail_does_not_open_it(
    key, other_key, nonce, text, associated, other
):
    """O2: a seal opens only with its key and for its own mail (associated data)."""
    sealed = seal(key, text, associated=associated, nonce=nonce)
    if other_key != key:
        with pytest.raises(SealError):
            unseal(other_key, sealed, associated=associated)
    if other != associated:
        with pytest.raises(SealError):
            unseal(key, sealed, associated=other)


@given(keys, nonces, texts, st.data())
def test_a_changed_seal_does_not_open(key, nonce, text, data):
    """O2: flipping any bit of a sealed body is detected (authenticated encryption)."""
    sealed = seal(key, text, associated="m", nonce=nonce)
    raw = bytearray(base64.urlsafe_b64decode(sealed[len(PREFIX) :]))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] ^= 1 << data.draw(st.integers(0, 7))
    changed = PREFIX + base64.urlsafe_b64encode(bytes(raw)).decode()
    with pytest.raises(SealError):
        unseal(key, changed, associated="m")


@pytest.mark.parametrize(
    "garbage", ["Bonjour", PREFIX, PREFIX + "!!!", PREFIX + "AAAA", ""]
)
def test_what_is_not_a_seal_does_not_open(garbage):
    """O2: plain or truncated text is refused with SealError, not a crash."""
    with pytest.raises(SealError):
        unseal(bytes(KEY_BYTES), garbage, associated="m")


@given(keys)
def test_keys_read_from_hexadecimal_and_base64(key):
    """O2: a key written in hex (any case) or base64 (either alphabet) reads back."""
    written = [
        key.hex(),
        key.hex().upper(),
        base64.b64encode(key).decode(),
        base64.urlsafe_b64encode(key).decode().rstrip("="),
        f"  {base64.b64encode(key).decode()}\n",
    ]
    assert {parse_key(text) for text in written} == {key}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "trop-court-secret",
        "00" * 31,
        "00" * 33,
        base64.b64encode(bytes(16)).decode(),
    ],
)
def test_a_key_of_the_wrong_size_is_refused_without_being_quoted(text):
    """O2: anything but 32 bytes is refused; the message never shows the value."""
    with pytest.raises(ValueError, match="32 bytes") as info:
        parse_key(text)
    assert not text or text not in str(info.value)


def test_seal_checks_its_key_and_nonce():
    """O2: a key of another size or a nonce of another size is refused."""
    with pytest.raises(ValueError, match="32 bytes"):
        check_key(bytes(16))
    with pytest.raises(ValueError, match="nonce"):
        seal(bytes(KEY_BYTES), "x", associated="m", nonce=bytes(8))


def test_a_mail_sealed_then_unsealed_is_the_same_mail():
    """O2: both bodies are sealed, each with its own nonce, and open back."""
    key = bytes(range(KEY_BYTES))
    source = iter([bytes(NONCE_BYTES), b"\x01" * NONCE_BYTES])
    original = mail()
    sealed = seal_mail(original, key, lambda n: next(source)[:n])
    assert is_sealed(sealed.text)
    assert is_sealed(sealed.html)
    assert "Bonjour" not in sealed.text + sealed.html
    assert unseal_mail(sealed, key) == original


def test_a_body_moved_to_another_mail_or_part_does_not_open():
    """O2: the seal is bound to the mail's id and to its part (text or HTML)."""
    key = bytes(range(KEY_BYTES))
    first = seal_mail(mail(), key, bytes)
    second = seal_mail(mail(), key, bytes)
    with pytest.raises(SealError):
        unseal_mail(attrs.evolve(second, text=first.text), key)
    with pytest.raises(SealError):
        unseal_mail(attrs.evolve(first, text=first.html), key)


def test_unsealed_or_wiped_bodies_pass_through():
    """O2: a body queued before sealing, or wiped once sent, is returned as is."""
    plain = mail()
    assert unseal_mail(plain, bytes(KEY_BYTES)) == plain
    wiped = attrs.evolve(plain, text="", html="")
    assert unseal_mail(wiped, bytes(KEY_BYTES)) == wiped
