"""retry_on_conflict: redo a use case that lost a race, and nothing else (SPEC O3)."""

from __future__ import annotations

import logging

import pytest

from echoppe_accounts import (
    ConcurrencyError,
    StorageError,
    ValidationError,
    retry_on_conflict,
)


class Script:
    """A stand-in use case that raises or returns what it is told, in turn."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls: list[tuple[tuple, dict]] = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def conflict() -> ConcurrencyError:
    """A conflict on one account, as a use case raises it."""
    return ConcurrencyError("acc-1")


def test_a_call_that_succeeds_is_made_once():
    """O3: without a conflict the use case runs once and nothing sleeps."""
    use_case, pauses = Script("ok"), []
    assert retry_on_conflict(use_case, sleep=pauses.append)("a", b=2) == "ok"
    assert use_case.calls == [(("a",), {"b": 2})]
    assert pauses == []


def test_succeeds_after_conflicts_with_the_same_arguments():
    """O3: each ConcurrencyError calls the use case again, same arguments."""
    use_case, pauses = Script(conflict(), conflict(), "saved"), []
    result = retry_on_conflict(use_case, sleep=pauses.append)("acc-1", name="Léa")
    assert result == "saved"
    assert use_case.calls == [(("acc-1",), {"name": "Léa"})] * 3
    assert len(pauses) == 2


def test_gives_up_after_attempts_with_the_last_conflict():
    """O3: after *attempts* calls in all the last ConcurrencyError goes through."""
    errors = [conflict() for _ in range(4)]
    use_case = Script(*errors)
    with pytest.raises(ConcurrencyError) as info:
        retry_on_conflict(use_case, attempts=4, sleep=lambda _: None)()
    assert info.value is errors[-1]
    assert len(use_case.calls) == 4


def test_the_default_is_three_attempts():
    """O3: three calls in all unless told otherwise."""
    use_case = Script(*(conflict() for _ in range(5)))
    with pytest.raises(ConcurrencyError):
        retry_on_conflict(use_case, sleep=lambda _: None)()
    assert len(use_case.calls) == 3


def test_one_attempt_never_retries():
    """O3: attempts=1 is the use case alone."""
    use_case = Script(conflict(), "unused")
    with pytest.raises(ConcurrencyError):
        retry_on_conflict(use_case, attempts=1)()
    assert len(use_case.calls) == 1


@pytest.mark.parametrize(
    "error",
    [
        ValidationError.single("email", "email.taken"),
        StorageError("the disk holding the database is full", retryable=False),
        StorageError("the connection was lost", retryable=True),
        RuntimeError("a bug"),
    ],
    ids=["validation", "storage", "retryable-storage", "other"],
)
def test_other_errors_are_not_retried(error):
    """O3: only a conflict is redone by default; anything else propagates at once."""
    use_case = Script(error, "unused")
    with pytest.raises(type(error)) as info:
        retry_on_conflict(use_case, sleep=lambda _: None)()
    assert info.value is error
    assert len(use_case.calls) == 1


def test_retryable_storage_errors_are_retried_when_asked():
    """O3: storage_errors=True also redoes a StorageError whose retryable is true."""
    lost = StorageError("the connection was lost", retryable=True)
    use_case = Script(lost, conflict(), "saved")
    assert retry_on_conflict(use_case, storage_errors=True, sleep=lambda _: None)()
    assert len(use_case.calls) == 3


def test_permanent_storage_errors_are_never_retried():
    """O3: even with storage_errors=True, a non-retryable StorageError goes through."""
    full = StorageError("the disk holding the database is full", retryable=False)
    use_case = Script(full, "unused")
    with pytest.raises(StorageError):
        retry_on_conflict(use_case, storage_errors=True, sleep=lambda _: None)()
    assert len(use_case.calls) == 1


def test_pauses_are_jittered_under_a_doubling_bound():
    """O3: the k-th pause is drawn between 0 and backoff * 2**(k-1)."""
    pauses: list[float] = []
    use_case = Script(*(conflict() for _ in range(5)), "saved")
    retry_on_conflict(use_case, attempts=6, backoff=0.5, sleep=pauses.append)()
    assert len(pauses) == 5
    for k, pause in enumerate(pauses):
        assert 0 <= pause <= 0.5 * 2**k


def test_no_backoff_retries_without_sleeping():
    """O3: backoff=0 calls again at once."""
    pauses: list[float] = []
    use_case = Script(conflict(), "saved")
    retry_on_conflict(use_case, backoff=0, sleep=pauses.append)()
    assert pauses == []


def test_decorator_form_keeps_the_function_name_and_doc():
    """O3: @retry_on_conflict(attempts=…) decorates a shop's own function."""
    outcomes = Script(conflict(), "renamed")

    @retry_on_conflict(attempts=2, sleep=lambda _: None)
    def rename(account_id: str, name: str) -> str:
        """Rename the customer."""
        return outcomes(account_id, name)

    assert rename("acc-1", "Léa") == "renamed"
    assert rename.__name__ == "rename"
    assert rename.__doc__ == "Rename the customer."
    assert len(outcomes.calls) == 2


@pytest.mark.parametrize(
    ("options", "word"), [({"attempts": 0}, "attempts"), ({"backoff": -1}, "backoff")]
)
def test_nonsense_settings_are_refused(options, word):
    """O3: fewer than one attempt or a negative backoff is a ValueError at once."""
    with pytest.raises(ValueError, match=word):
        retry_on_conflict(**options)


def test_retries_are_logged_without_arguments(caplog):
    """O3: a retry logs the use case's name and the count, never its arguments."""
    use_case = Script(conflict(), "saved")
    with caplog.at_level(logging.DEBUG, logger="echoppe_accounts.retry"):
        retry_on_conflict(use_case, sleep=lambda _: None)("jean.dupont@exemple.fr")
    (record,) = caplog.records
    assert "attempt 1 of 3" in record.getMessage()
    assert "ConcurrencyError" in record.getMessage()
    assert "jean.dupont" not in record.getMessage()
