"""Analytics sinks: in memory and in SQLite (SPEC N2, N5).

Analytics events are not account data: they hold no account id, and the
SQLite sink keeps them in a table of their own, which may live in the
accounts' database file or in another one.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import attrs

from echoppe_accounts.adapters import _records as rec
from echoppe_accounts.adapters._driver_errors import sqlite_error
from echoppe_accounts.domain.analytics import AnalyticsEvent, Purpose


@attrs.define
class InMemoryAnalyticsSink:
    """Keeps anonymised events in a list: for tests and prototypes.

    .. versionadded:: 0.2.0
    """

    stored: list[AnalyticsEvent] = attrs.field(factory=list)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)

    def add(self, event: AnalyticsEvent) -> None:
        """Store *event*."""
        with self._lock:
            self.stored.append(event)

    def purge(self, before: datetime) -> int:
        """Delete the events older than *before*."""
        with self._lock:
            kept = [e for e in self.stored if e.at >= before]
            purged, self.stored[:] = len(self.stored) - len(kept), kept
        return purged

    def events(self) -> list[AnalyticsEvent]:
        """Return every stored event, oldest first."""
        with self._lock:
            return sorted(self.stored, key=lambda e: e.at)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS analytics_events (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    purpose TEXT NOT NULL,
    path TEXT NOT NULL,
    referrer_host TEXT,
    browser TEXT NOT NULL,
    browser_major INTEGER,
    device TEXT NOT NULL,
    visitor_id TEXT,
    ip TEXT,
    duration_ms INTEGER
);
CREATE INDEX IF NOT EXISTS analytics_events_at ON analytics_events (at);
"""

_COLUMNS = tuple(f.name for f in attrs.fields(AnalyticsEvent))


class SQLiteAnalyticsSink:
    """Stores anonymised events in a SQLite file, in their own table.

    .. versionadded:: 0.2.0
    """

    def __init__(self, path: str | Path) -> None:
        """Use (and create if needed) the ``analytics_events`` table in *path*."""
        self.path = Path(path)
        try:
            with self._connect() as conn:
                conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise sqlite_error(exc) from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30.0)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA secure_delete=ON")
        return conn

    def _run(
        self, sql: str, params: Mapping[str, object] | Sequence[object] = ()
    ) -> sqlite3.Cursor:
        try:
            conn = self._connect()
            try:
                with conn:
                    return conn.execute(sql, params)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise sqlite_error(exc) from exc

    def add(self, event: AnalyticsEvent) -> None:
        """Store *event*."""
        row = attrs.asdict(event)
        row["at"] = rec.iso(event.at)
        row["purpose"] = event.purpose.value
        marks = ", ".join(f":{c}" for c in _COLUMNS)
        self._run(
            f"INSERT INTO analytics_events ({', '.join(_COLUMNS)}) VALUES ({marks})",  # noqa: S608
            row,
        )

    def purge(self, before: datetime) -> int:
        """Delete the events older than *before*."""
        return self._run(
            "DELETE FROM analytics_events WHERE at < ?", (rec.iso(before),)
        ).rowcount

    def events(self) -> list[AnalyticsEvent]:
        """Return every stored event, oldest first."""
        try:
            conn = self._connect()
            try:
                rows = conn.execute(
                    "SELECT * FROM analytics_events ORDER BY at, rowid"
                ).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise sqlite_error(exc) from exc
        return [
            AnalyticsEvent(
                **{
                    **{c: row[c] for c in _COLUMNS},
                    "at": datetime.fromisoformat(row["at"]),
                    "purpose": Purpose(row["purpose"]),
                }
            )
            for row in rows
        ]
