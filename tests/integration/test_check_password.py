"""Checking a logged-in customer's password again, as a login attempt (SPEC P3, P4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from echoppe_accounts import (
    AuthenticationError,
    NotFoundError,
    ValidationError,
)
from sample_forms import express, form, links, pending, temporary_password

EMAIL = "jean.dupont@exemple.fr"
PASSWORD = "une phrase de passe solide"


def test_the_right_password_is_true_and_a_wrong_one_false(service, auth):
    """W2: the check answers, and changes no session (P6)."""
    account = service.register(form())
    session = auth.login(EMAIL, PASSWORD)
    assert auth.check_password(account.id, PASSWORD) is True
    assert auth.check_password(account.id, "pas le bon mot de passe") is False
    assert auth.is_session_current(account.id, session.session_stamp)


def test_failed_checks_throttle_the_login_and_the_check(service, auth):
    """P4: wrong passwords at a check count as failed logins of the account."""
    account = service.register(form())
    for _ in range(auth.throttle_policy.free_attempts + 1):
        assert auth.check_password(account.id, "faux") is False
    with pytest.raises(AuthenticationError) as info:
        auth.check_password(account.id, PASSWORD)
    assert info.value.code == "login.throttled"
    with pytest.raises(AuthenticationError) as info:
        auth.login(EMAIL, PASSWORD)
    assert info.value.code == "login.throttled"


def test_a_right_check_forgets_the_failures(service, auth):
    """P4: a success resets the count, as a successful login does."""
    account = service.register(form())
    free = auth.throttle_policy.free_attempts
    for _ in range(free):
        auth.check_password(account.id, "faux")
    assert auth.check_password(account.id, PASSWORD) is True
    for _ in range(free):
        assert auth.check_password(account.id, "faux") is False
    assert auth.login(EMAIL, PASSWORD).account_id == account.id


def test_failed_logins_throttle_the_check(service, auth):
    """P4: the check answers to the same count as the login."""
    account = service.register(form())
    for _ in range(auth.throttle_policy.free_attempts + 1):
        with pytest.raises(AuthenticationError):
            auth.login(EMAIL, "faux")
    with pytest.raises(AuthenticationError) as info:
        auth.check_password(account.id, PASSWORD)
    assert info.value.code == "login.throttled"


@pytest.mark.parametrize(
    "case", ["right", "wrong", "too long", "express", "not readable"]
)
def test_every_check_costs_one_password_hash(service, auth, case):
    """P3: one password-hash check, whatever the account holds or is given."""
    account = service.register(form())
    quick = service.register_express(express())
    auth.check_password(account.id, "échauffement")  # the dummy hash is made
    auth.hasher.calls.clear()
    target, password = {
        "right": (account.id, PASSWORD),
        "wrong": (account.id, "faux"),
        "too long": (account.id, "x" * 10_000),
        "express": (quick.account_id, PASSWORD),
        "not readable": (account.id, "\ud800abc"),
    }[case]
    assert auth.check_password(target, password) is (case == "right")
    assert auth.hasher.kdf_calls == 1


def test_a_temporary_password_is_not_the_password(service, auth, clock):
    """R4: the temporary password of a reset opens a restricted login only."""
    account = service.register(form())
    auth.request_password_reset(EMAIL)
    [*_, first] = pending(service)
    auth.confirm_password_reset(links(first)["confirmer"])
    temporary = temporary_password(pending(service)[-1])
    assert auth.check_password(account.id, temporary) is False
    clock.advance(timedelta(minutes=1))
    assert auth.login(EMAIL, temporary).restricted


def test_an_unknown_or_erased_account_is_refused(service, auth, privacy):
    """G3: an erased account is inert; an unknown id is not found."""
    account = service.register(form())
    privacy.erase_account(account.id)
    with pytest.raises(ValidationError) as info:
        auth.check_password(account.id, PASSWORD)
    assert info.value.codes == {"account.erased"}
    with pytest.raises(NotFoundError):
        auth.check_password("019b8d62-7a80-7be8-a6c1-471debeb7745", PASSWORD)
