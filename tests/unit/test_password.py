"""The password policy (SPEC P2, as implemented so far)."""

from __future__ import annotations

import gzip
import string
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from echoppe_accounts import PasswordPolicy, ValidationError
from echoppe_accounts.domain import password as password_module
from echoppe_accounts.domain.password import bundled_common_passwords
from strategies import arbitrary_text, outcome

# No common-password list: these tests are about the other rules, whatever
# list a shop (or a later default) brings.
POLICY = PasswordPolicy(shop_name="L'Échoppe", common_passwords=frozenset())


def codes_of(password: str, policy: PasswordPolicy = POLICY, **kwargs) -> frozenset:
    """Return the codes of the ValidationError raised by *policy* for *password*."""
    with pytest.raises(ValidationError) as info:
        policy.check(password, **kwargs)
    return info.value.codes


# --- Length ------------------------------------------------------------------


def test_seven_code_points_refused_eight_accepted():
    """P2: at least 8 code points by default."""
    assert codes_of("abcdefg") == {"password.too_short"}
    assert POLICY.check("abcdefgh") == "abcdefgh"


def test_too_short_message_names_the_minimum():
    """P2, F8: the customer is told the minimum length."""
    with pytest.raises(ValidationError) as info:
        PasswordPolicy(min_length=12, common_passwords=frozenset()).check("onze chiffr")
    assert [e.path for e in info.value.errors] == ["password"]
    assert "12" in info.value.errors[0].message("fr")
    assert "12" in info.value.errors[0].message("en")


def test_128_code_points_accepted_129_refused():
    """P2: at most 128 code points."""
    assert POLICY.check("x" * 128) == "x" * 128
    assert codes_of("x" * 129) == {"password.too_long"}


def test_length_counts_code_points_not_bytes():
    """P2: eight accented letters or emoji are eight code points, enough."""
    assert POLICY.check("éàèùçôîê") == "éàèùçôîê"
    assert POLICY.check("🔑" * 8) == "🔑" * 8
    assert codes_of("🔑" * 7) == {"password.too_short"}


@pytest.mark.parametrize("minimum", [8, 12, 20, 64])
def test_minimum_is_configurable(minimum):
    """P2: the shop may raise the minimum; it is then enforced."""
    policy = PasswordPolicy(min_length=minimum, common_passwords=frozenset())
    assert policy.check("p" * minimum) == "p" * minimum
    assert codes_of("p" * (minimum - 1), policy) == {"password.too_short"}


@pytest.mark.parametrize("minimum", [-1, 0, 1, 6, 7, 129])
def test_minimum_below_eight_refused_at_construction(minimum):
    """P2: a policy weaker than 8 code points (or above the 128 cap) is refused."""
    with pytest.raises(ValueError, match="min_length"):
        PasswordPolicy(min_length=minimum)


# --- NFKC, and nothing else ---------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ｐａｓｓｗｏｒｄ４２", "password42"),  # full-width
        ("cafe\u0301 au lait", "café au lait"),  # decomposed accent
        ("ﬁﬁﬁﬁ", "fifififi"),  # ligatures: 8 code points once normalised
    ],
)
def test_nfkc_applied(typed, stored):
    """P2: the password is NFKC-normalised, so each way of typing it matches."""
    assert POLICY.check(typed) == stored


def test_length_measured_on_the_normalised_password():
    """P2: 7 decomposed accents are 14 code points typed, 7 once normalised."""
    assert codes_of("e\u0301" * 7) == {"password.too_short"}


@pytest.mark.parametrize(
    "password",
    ["  deux espaces  ", "Casse Mélangée", "tab\tinside!", "MAJUSCULES"],
)
def test_nothing_else_changed(password):
    """P2: no trimming, no case change: only NFKC."""
    assert POLICY.check(password) == password


@given(arbitrary_text(max_size=140))
def test_accepted_password_is_its_nfkc_form(password):
    """P2, F8, F9: any input is refused with ValidationError or returned as NFKC.

    Text that is not valid Unicode (a lone surrogate) cannot be hashed: it
    is refused as unreadable.
    """
    checked, error = outcome(POLICY.check, password)
    if error is not None:
        assert error.codes <= {
            "password.too_short",
            "password.too_long",
            "password.personal",
            "text.invalid_unicode",
        }
    else:
        assert checked == unicodedata.normalize("NFKC", password)
        assert 8 <= len(checked) <= 128


# --- No composition rules ----------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["correct horse battery staple", "58203147", "aaaaaaaaaaaa", "ordinateur"],
)
def test_no_composition_rules(password):
    """P2: no digit, capital or symbol is demanded."""
    assert POLICY.check(password) == password


@given(
    st.lists(st.text(string.ascii_lowercase, min_size=1, max_size=10), min_size=2)
    .map(" ".join)
    .filter(lambda p: 8 <= len(p) <= 128)
)
def test_long_lowercase_passphrase_accepted(passphrase):
    """P2: a passphrase of lower-case words is accepted as it is."""
    assert POLICY.check(passphrase) == passphrase


# --- Personal words ----------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "personal"),
    [
        ("jeandupont2024", ["jean.dupont@exemple.fr"]),
        ("Jean.Dupont!", ["jean.dupont@exemple.fr"]),
        ("dupont123", ["jean.dupont@exemple.fr"]),
        ("MarieCurie!!", ["Marie Curie"]),
        ("curie-1867", ["Marie Curie"]),
        ("Boulangerie Martin", ["Boulangerie Martin"]),
        ("HÉLÈNEDUPRÉ", ["Hélène Dupré"]),
    ],
)
def test_password_built_on_personal_data_refused(password, personal):
    """P2: a password built on the customer's email local part or name is refused."""
    assert codes_of(password, personal=personal) == {"password.personal"}


@pytest.mark.parametrize("password", ["Léchoppe2024", "L'Échoppe!", "échoppe123"])
def test_password_built_on_shop_name_refused(password):
    """P2: a password built on the shop's name is refused."""
    assert codes_of(password) == {"password.personal"}


def test_shop_name_is_configurable():
    """P2: the shop name checked is the policy's own."""
    policy = PasswordPolicy(shop_name="Librairie Dupuis", common_passwords=frozenset())
    assert codes_of("dupuis2024", policy) == {"password.personal"}
    assert policy.check("Léchoppe2024") == "Léchoppe2024"


@pytest.mark.parametrize(
    ("password", "personal"),
    [("lechoppe2024", []), ("echoppe123!", []), ("heleneDupre", ["Hélène Dupré"])],
)
def test_personal_words_recognised_without_accents(password, personal):
    """P2: ``lechoppe2024`` is built on the shop's name ``L'Échoppe`` all the same."""
    assert codes_of(password, personal=personal) == {"password.personal"}


def test_passphrase_merely_containing_a_name_accepted():
    """P2: a long passphrase that only mentions the first name is not built on it."""
    password = "jean aime les longues randonnées en montagne"
    assert POLICY.check(password, personal=["Jean Dupont"]) == password


@given(
    st.text(string.ascii_letters, min_size=8, max_size=40),
    st.text(string.digits + "!?*-", max_size=8),
)
def test_name_with_a_suffix_refused(name, suffix):
    """P2: a name followed by a few digits or symbols is built on that name."""
    assert codes_of(name + suffix, personal=[name]) == {"password.personal"}


# --- Common passwords --------------------------------------------------------


def test_common_passwords_set_honoured():
    """P2: a password on the shop's list of common passwords is refused."""
    policy = PasswordPolicy(common_passwords=frozenset({"motdepasse", "azertyuiop"}))
    assert codes_of("motdepasse", policy) == {"password.common"}
    assert codes_of("azertyuiop", policy) == {"password.common"}
    assert policy.check("soleil levant sur la mer") == "soleil levant sur la mer"


@pytest.mark.parametrize(
    "password", ["MotDePasse", "MOTDEPASSE", "mot de passe", "mot-de-passe"]
)
def test_common_password_variants_refused(password):
    """P2: case and separators do not get a common password through."""
    policy = PasswordPolicy(common_passwords=frozenset({"motdepasse"}))
    assert codes_of(password, policy) == {"password.common"}


@pytest.mark.parametrize("password", ["motdepasse", "azertyuiop", "MotDePasse!"])
def test_default_policy_refuses_bundled_common_passwords(password):
    """P2: out of the box, the bundled list (French passwords included) applies."""
    assert codes_of(password, PasswordPolicy()) == {"password.common"}


def test_bundled_file_is_grouped_by_length():
    """P2: the bundled file lists each length's passwords together, folded, once.

    A check reads only the group of its length (issue 22), so a password
    filed in another length's group would never be refused.
    """
    data = Path(password_module.__file__).parents[1] / "data"
    text = gzip.decompress(
        (data / password_module.COMMON_PASSWORDS_FILE).read_bytes()
    ).decode("utf-8")
    groups = text.strip("\n").split("\n\n")
    lengths = [{len(word) for word in group.split("\n")} for group in groups]
    assert all(len(found) == 1 for found in lengths)
    assert len({length for (length,) in lengths}) == len(groups)
    words = [word for word in text.split("\n") if word]
    assert len(words) == len(set(words)) >= 10_000
    assert all(unicodedata.normalize("NFKC", w).casefold() == w for w in words)


def test_bundled_list_is_a_read_only_set():
    """P2: the bundled list compares, hashes and combines as the equal frozenset."""
    bundled = bundled_common_passwords()
    plain = frozenset(bundled)
    assert bundled == plain
    assert hash(bundled) == hash(plain)
    assert "motdepasse" in bundled
    assert "motdepasse!" not in bundled
    assert 12 not in bundled
    extended = bundled | {"echoppe2026"}
    assert isinstance(extended, frozenset)
    assert extended == plain | {"echoppe2026"}
    policy = PasswordPolicy(common_passwords=extended)
    assert codes_of("echoppe2026", policy) == {"password.common"}


def test_bundled_list_has_at_least_ten_thousand_entries():
    """P2: the bundled list holds at least 10,000 common passwords."""
    assert len(bundled_common_passwords()) >= 10_000
    assert {"azerty", "motdepasse", "soleil"} <= bundled_common_passwords()


@given(st.sampled_from(["\ud800", "\udfff", "motdepasse\udc80ok"]))
def test_lone_surrogate_is_refused_as_unreadable(password):
    """F9: a password holding a lone surrogate is a validation error, not a crash."""
    _, error = outcome(POLICY.check, password)
    assert error is not None
    assert error.codes == {"text.invalid_unicode"}


def test_huge_password_refused_before_normalising(monkeypatch):
    """F9: a 10 MB password is refused from its length, never normalised."""
    import echoppe_accounts.domain.password as module  # noqa: PLC0415

    def fail(*_):
        pytest.fail("a huge password was normalised")

    monkeypatch.setattr(module, "normalize", fail)
    _, error = outcome(POLICY.check, "x" * 10_000_000)
    assert error is not None
    assert error.codes == {"password.too_long"}
