"""Spies on the ports: count KDF calls, record storage calls, never measure time."""

from __future__ import annotations

from collections import Counter
from typing import Any, Self

from echoppe_accounts.ports import PasswordHasher, UnitOfWorkFactory


class SpyHasher:
    """A password hasher that counts its calls, wrapping a real one."""

    def __init__(self, inner: PasswordHasher) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def hash(self, password: str) -> str:
        self.calls["hash"] += 1
        return self.inner.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self.calls["verify"] += 1
        return self.inner.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.inner.needs_rehash(password_hash)

    @property
    def kdf_calls(self) -> int:
        """How many times the key-derivation function ran."""
        return self.calls["hash"] + self.calls["verify"]


class _RecordingRepository:
    def __init__(self, name: str, inner: Any, log: list[str]) -> None:
        self._name, self._inner, self._log = name, inner, log

    def __getattr__(self, method: str) -> Any:
        target = getattr(self._inner, method)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._log.append(f"{self._name}.{method}")
            return target(*args, **kwargs)

        return call


class RecordingUnitOfWork:
    """Wraps a unit of work and records every repository call, in order."""

    def __init__(self, inner: Any, log: list[str]) -> None:
        self._inner, self._log = inner, log

    def __enter__(self) -> Self:
        self._log.append("begin")
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._log.append("end")
        self._inner.__exit__(*exc)

    def commit(self) -> None:
        self._log.append("commit")
        self._inner.commit()

    def __getattr__(self, name: str) -> Any:
        return _RecordingRepository(name, getattr(self._inner, name), self._log)


def recording(factory: UnitOfWorkFactory, log: list[str]) -> UnitOfWorkFactory:
    """Return a factory of recording units of work over *factory*."""

    def make(*, durable: bool = True) -> RecordingUnitOfWork:
        return RecordingUnitOfWork(factory(durable=durable), log)

    return make  # type: ignore[return-value]
