"""Portable phpass hashes (WordPress, WooCommerce, phpBB): kept, then upgraded (M3)."""

from __future__ import annotations

import pytest

from conftest import FAST_HASHER
from echoppe_accounts import LegacyHasher
from echoppe_accounts.adapters._phpass import phpass
from echoppe_accounts.domain.legacy_hash import (
    PHPASS_WRAPPED_PREFIX,
    phpass_cost,
    usable_legacy_hash,
)

VECTORS = [
    # phpass 0.3's test script
    ("test12345", "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0"),
    ("test1", "$H$9aaaaaSXBjgypwqm.JsMssPLiS8YQ00"),
    # John the Ripper 1.7.9's phpass vectors
    ("123456", "$H$9PE8jEklgZhgLmZl5.HYJAzfGCQtzi1"),
    ("123456", "$H$9pdx7dbOW3Nnt32sikrjAxYFjX8XoK1"),
    ("thisisalongertestPW", "$P$912345678LIjjb6PhecupozNBmDndU0"),
    ("JohnRipper", "$P$612345678si5M0DDyPpmRCmcltU/YW/"),
    ("JohnRipper", "$H$712345678WhEyvy1YWzT4647jzeOmo0"),
    ("JohnRipper", "$P$B12345678L6Lpt4BxNotVIMILOa9u81"),  # WordPress's 2^13
    ("", "$P$7JaFQsPzJSuenezefD/3jHgt5hVfNH0"),
    ("compL3X!", "$P$FiS0N5L672xzQx1rt1vgdJQRYKnQM9/"),
]
"""Known phpass hashes by password, from phpass's and John the Ripper's tests."""


@pytest.mark.parametrize(("password", "known"), VECTORS)
def test_phpass_gives_the_known_hashes(password, known):
    """M3: the hand-written phpass agrees with the reference vectors."""
    if phpass_cost(known) is None:  # 2^17 rounds ("F"): dearer than what is kept
        assert phpass(password, known) is None
        assert phpass(password, "$P$B" + known[4:]) != known
        return
    assert phpass(password, known) == known
    assert phpass(password + "x", known) != known


@pytest.mark.parametrize(
    ("text", "usable"),
    [
        ("$P$B12345678L6Lpt4BxNotVIMILOa9u81", True),
        ("  $H$9aaaaaSXBjgypwqm.JsMssPLiS8YQ00 ", True),
        ("$P$612345678si5M0DDyPpmRCmcltU/YW/", True),  # 2^8
        ("$P$412345678si5M0DDyPpmRCmcltU/YW/", False),  # 2^6: below phpass's own
        ("$P$H12345678L6Lpt4BxNotVIMILOa9u81", False),  # 2^19: dearer than the cap
        ("$P$B12345678L6Lpt4BxNotVIMILOa9u8", False),  # one short
        ("$P$B12345678L6Lpt4BxNotVIMILOa9u8!", False),  # not its alphabet
        ("$Q$B12345678L6Lpt4BxNotVIMILOa9u81", False),
    ],
)
def test_only_well_formed_phpass_hashes_of_a_kept_cost_are_usable(text, usable):
    """M3: phpass of cost 2^7 to 2^16 is kept; anything else invites the customer."""
    assert (usable_legacy_hash(text) is not None) is usable


@pytest.mark.parametrize(("password", "known"), [VECTORS[0], VECTORS[7], VECTORS[1]])
def test_a_wrapped_phpass_hash_checks_the_old_password_and_needs_a_rehash(
    password, known
):
    """M3, P1: kept wrapped in argon2id; the old password matches; then upgraded."""
    hasher = LegacyHasher(FAST_HASHER)
    wrapped = hasher.wrap(known)
    assert wrapped.startswith(PHPASS_WRAPPED_PREFIX + known[1:12])
    assert known[12:] not in wrapped  # the phpass output itself is not stored
    assert hasher.verify(wrapped, password)
    assert not hasher.verify(wrapped, password + "!")
    assert not hasher.verify(wrapped, "\ud800")
    assert hasher.needs_rehash(wrapped)


def test_a_plain_phpass_hash_is_checked_too():
    """M3: a hash stored unwrapped still checks (and is replaced at login)."""
    hasher = LegacyHasher(FAST_HASHER)
    password, known = VECTORS[7]
    assert hasher.verify(known, password)
    assert not hasher.verify(known, "autre")
    assert hasher.needs_rehash(known)
    assert not hasher.verify(known[:12] + "x" * 22, password)  # malformed
