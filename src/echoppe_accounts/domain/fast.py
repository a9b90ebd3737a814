"""The switch of every fast path (issue 22).

The library reads the common case of some inputs itself (plain emails,
French phone numbers as people type them, SIRET typed as digits, plain
French addresses, the common outgoing mail) and hands anything else to
its dependency, which stays the reference; tests hold each fast path to
its general path (``tests/unit/test_fast_paths.py``). A shop that meets a
divergence turns them all off, for the whole process, with the
environment variable ``ECHOPPE_FAST_PATHS=0`` (read at import) or
:attr:`Settings.fast_paths <echoppe_accounts.Settings.fast_paths>` (applied
by :func:`~echoppe_accounts.bootstrap`): every input then goes to the
general path, slower and the same.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

ENVIRONMENT_VARIABLE = "ECHOPPE_FAST_PATHS"
"""``0``, ``false``, ``no`` or ``off`` (any case) turns every fast path off."""

_OFF = frozenset({"0", "false", "no", "off"})

_state = {"on": os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower() not in _OFF}


def enabled() -> bool:
    """Tell whether the fast paths are on in this process."""
    return _state["on"]


def set_enabled(on: bool) -> None:  # noqa: FBT001 (one flag, named by the function)
    """Turn every fast path on or off for the whole process."""
    _state["on"] = bool(on)


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Turn the fast paths off inside the block, as they were afterwards."""
    was = _state["on"]
    _state["on"] = False
    try:
        yield
    finally:
        _state["on"] = was
