"""A confirm racing a cancel of one email change: one wins, no deadlock (F10, R8).

Both use cases write the account and its two links. Each used to lock its
own link first and then wait for the other's, so on PostgreSQL one of the
two was aborted as a deadlock (40P01) in 14 of 15 races (issue 18). Both
now lock the account first and run one after the other. Since the amended
F10 the old address's link also works after the confirmation (it restores
the former address): a cancel that comes second restores, a confirm that
comes second finds its link dead (``token.invalid``); either way the
account ends with its former address.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from conftest import FAST_HASHER
from echoppe_accounts import (
    AccountService,
    AuthService,
    MailKind,
    Settings,
    SQLiteStore,
    SystemSecrets,
    ValidationError,
)
from sample_forms import form, links, pending

PASSWORD = "une phrase de passe solide"

ROUNDS = 20


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    """A unit-of-work factory on SQLite, then on PostgreSQL."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_uow_factory")
    return SQLiteStore(tmp_path / "accounts.sqlite3").unit_of_work


def outcome(call, token: str) -> str:
    """Run *call* with *token*; return ``"ok"`` or the error's code (or type)."""
    try:
        call(token)
    except ValidationError as exc:
        return "/".join(sorted(exc.codes))
    except Exception as exc:  # noqa: BLE001 (any other error fails the test)
        return type(exc).__name__
    return "ok"


def race(first, second) -> list[str]:
    """Run *first* and *second* at once (a barrier); return both outcomes."""
    barrier = threading.Barrier(2)
    results: dict[int, str] = {}

    def run(index: int, call) -> None:
        barrier.wait()
        results[index] = call()

    threads = [
        threading.Thread(target=run, args=(i, call))
        for i, call in enumerate((first, second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return [results.get(0, "hung"), results.get(1, "hung")]


def test_confirm_racing_cancel_one_wins_the_other_is_refused(store, clock):
    """F10, R8: 20 races of confirm against cancel, never a deadlock.

    Never a storage error; the cancel always works (before the confirmation
    it cancels, after it it restores), and the account ends with its former
    address either way.
    """
    service = AccountService(
        uow=store,
        clock=clock,
        secrets=SystemSecrets(),
        hasher=FAST_HASHER,
        settings=Settings(base_url="https://www.lechoppe.fr"),
    )
    wins = {"confirm": 0, "cancel": 0}
    for n in range(ROUNDS):
        # One account a round: a restored account has no password left.
        account = service.register(form(email=f"jean.{n}@exemple.fr"))
        new = f"jean.{n}@nouveau.fr"
        service.change_email(account.id, new, PASSWORD)
        mails = pending(service)
        confirm = links(
            [m for m in mails if m.kind is MailKind.EMAIL_CHANGE_CONFIRM][-1]
        )["confirmer"]
        cancel = links(
            [m for m in mails if m.kind is MailKind.EMAIL_CHANGE_NOTICE][-1]
        )["annuler"]
        before = service.get(account.id).email.address
        confirmed, cancelled = race(
            lambda confirm=confirm: outcome(service.confirm_email_change, confirm),
            lambda cancel=cancel: outcome(service.cancel_email_change, cancel),
        )
        assert cancelled == "ok", n  # cancels, or restores after the confirm
        assert confirmed in {"ok", "token.invalid"}, n
        after = service.get(account.id)
        assert after.pending_email is None
        assert after.email.address == before
        wins["confirm" if confirmed == "ok" else "cancel"] += 1
    assert sum(wins.values()) == ROUNDS


def test_confirm_racing_a_reset_confirmation_never_deadlocks(store, clock):
    """F10, R8: an email change confirmed while a reset is confirmed: no deadlock.

    Both change how the account opens; they take the account's locks in
    one order, so each race ends with one done and the other's link dead
    (the email change supersedes the reset; the reset's confirmation drops
    the pending change), never with a storage error.
    """
    parts = {
        "uow": store,
        "clock": clock,
        "secrets": SystemSecrets(),
        "hasher": FAST_HASHER,
        "settings": Settings(base_url="https://www.lechoppe.fr"),
    }
    service, auth = AccountService(**parts), AuthService(**parts)
    for n in range(ROUNDS):
        # One account a round: three email changes a day per account (F10).
        account = service.register(form(email=f"jean.{n}@exemple.fr"))
        email = account.email.address
        service.change_email(account.id, f"jean.{n}@nouveau.fr", PASSWORD)
        auth.request_password_reset(email)
        mails = pending(service)
        confirm = links(
            [m for m in mails if m.kind is MailKind.EMAIL_CHANGE_CONFIRM][-1]
        )["confirmer"]
        reset = links([m for m in mails if m.kind is MailKind.RESET_CONFIRM][-1])[
            "confirmer"
        ]
        changed, reset_confirmed = race(
            lambda confirm=confirm: outcome(service.confirm_email_change, confirm),
            lambda reset=reset: outcome(auth.confirm_password_reset, reset),
        )
        # Whichever comes first wins; the other's link died with it (F10, R8).
        assert sorted([changed, reset_confirmed]) == ["ok", "token.invalid"], n
        clock.advance(timedelta(minutes=5))  # past the reset's cooldown


@pytest.mark.parametrize("token", ["x" * 10_000, "\ud800", "inconnu", ""])
def test_a_link_that_is_no_token_locks_nothing_and_is_refused(store, clock, token):
    """F10, F9: text no token could be, or an unknown one: ``token.invalid``."""
    service = AccountService(
        uow=store,
        clock=clock,
        secrets=SystemSecrets(),
        hasher=FAST_HASHER,
        settings=Settings(base_url="https://www.lechoppe.fr"),
    )
    for call in (service.confirm_email_change, service.cancel_email_change):
        assert outcome(call, token) == "token.invalid"
