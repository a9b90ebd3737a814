"""The SQLite adapter's tables: the repositories a unit of work gives.

Imported by :class:`~echoppe_accounts.SQLiteUnitOfWork` when the first unit
of work begins, with the record mapping and the domain types they read and
write: opening a store (wiring a process) loads none of them (issue 22).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeAlias

from echoppe_accounts.adapters import _records as rec
from echoppe_accounts.domain.account import Account, Credentials
from echoppe_accounts.domain.audit import AuditRecord
from echoppe_accounts.domain.errors import ConcurrencyError, ValidationError
from echoppe_accounts.domain.events import AccountEvent
from echoppe_accounts.domain.mail import (
    ADDRESS_WIPED_WHEN_SENT,
    DeadLetter,
    OutboxStats,
    OutgoingMail,
)
from echoppe_accounts.domain.reset import ResetRequest
from echoppe_accounts.domain.throttle import LoginThrottle
from echoppe_accounts.domain.tokens import TokenPurpose, TokenRecord

_Parameters: TypeAlias = Sequence[object] | Mapping[str, object]
"""What a statement's values are bound from: by position or by name."""


class _Link:
    """A unit of work's connection, as its repositories use it.

    After a commit, the next statement first begins a new (deferred)
    transaction, which the unit of work rolls back at its end unless it is
    committed: a unit of work that ends with its commit, as most do, runs
    no ``BEGIN`` and no ``ROLLBACK`` after it.
    """

    __slots__ = ("begin", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.begin = False
        """Whether a transaction must begin before the next statement."""

    def execute(self, sql: str, parameters: _Parameters = ()) -> sqlite3.Cursor:
        if self.begin:
            self.begin = False
            self.conn.execute("BEGIN")
        return self.conn.execute(sql, parameters)

    def executemany(
        self, sql: str, parameters: Iterable[_Parameters]
    ) -> sqlite3.Cursor:
        if self.begin:
            self.begin = False
            self.conn.execute("BEGIN")
        return self.conn.executemany(sql, parameters)


@functools.lru_cache(maxsize=64)
def _insert_statement(table: str, columns: tuple[str, ...]) -> str:
    # Written once per table and set of columns; values are bound by
    # position, which SQLite binds faster than by name.
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608


def _insert(conn: _Link, table: str, row: dict[str, Any]) -> None:
    conn.execute(_insert_statement(table, tuple(row)), tuple(row.values()))


def _insert_many(conn: _Link, table: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert *rows*, all with the columns of the first, in one statement."""
    if len(rows) == 1:
        _insert(conn, table, rows[0])
    elif rows:
        conn.executemany(
            _insert_statement(table, tuple(rows[0])), [tuple(r.values()) for r in rows]
        )


_KEYS_PER_QUERY = 500  # bound parameters of one look-up (SQLite allows 999+)


class _Accounts:
    def __init__(self, conn: _Link) -> None:
        self._conn = conn

    def _write_children(self, *accounts: Account, new: bool = False) -> None:
        if not new:  # a new account has no children to replace
            for table in ("delivery_addresses", "newsletter_consents"):
                self._conn.executemany(
                    f"DELETE FROM {table} WHERE account_id = ?",  # noqa: S608
                    [(a.id,) for a in accounts],
                )
        _insert_many(
            self._conn,
            "delivery_addresses",
            [row for a in accounts for row in rec.delivery_rows(a)],
        )
        _insert_many(
            self._conn,
            "newsletter_consents",
            [row for a in accounts for row in rec.consent_rows(a)],
        )

    def add(self, *accounts: Account) -> None:
        if len(accounts) == 1:  # one statement undoes itself when refused
            self._add(accounts)
            return
        # All or none: a refused row must not leave the ones before it.
        self._conn.execute("SAVEPOINT add_accounts")
        try:
            self._add(accounts)
        except BaseException:
            self._conn.execute("ROLLBACK TO add_accounts")
            raise
        finally:
            self._conn.execute("RELEASE add_accounts")

    def _add(self, accounts: Sequence[Account]) -> None:
        try:
            _insert_many(self._conn, "accounts", [rec.account_row(a) for a in accounts])
        except sqlite3.IntegrityError as exc:
            if "email_key" in str(exc):
                raise ValidationError.single("email", "email.taken") from None
            raise
        self._write_children(*accounts, new=True)

    def taken_email_keys(self, keys: Collection[str]) -> set[str]:
        wanted = list(dict.fromkeys(keys))
        taken: set[str] = set()
        for start in range(0, len(wanted), _KEYS_PER_QUERY):
            chunk = wanted[start : start + _KEYS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT email_key FROM accounts WHERE email_key IN ({marks})",  # noqa: S608
                chunk,
            )
            taken.update(row[0] for row in rows)
        return taken

    def _load(self, where: str, value: str) -> Account | None:
        row = self._conn.execute(
            f"SELECT * FROM accounts WHERE {where} = ?",  # noqa: S608
            (value,),
        ).fetchone()
        if row is None:
            return None
        deliveries = self._conn.execute(
            "SELECT * FROM delivery_addresses WHERE account_id = ?", (row["id"],)
        ).fetchall()
        consents = self._conn.execute(
            "SELECT * FROM newsletter_consents WHERE account_id = ?", (row["id"],)
        ).fetchall()
        return rec.account_from_rows(row, deliveries, consents)

    def get(self, account_id: str) -> Account | None:
        return self._load("id", account_id)

    def credentials(self, email_key: str) -> Credentials | None:
        row = self._conn.execute(
            f"SELECT {rec.CREDENTIALS_COLUMNS} FROM accounts WHERE email_key = ?",  # noqa: S608
            (email_key,),
        ).fetchone()
        return None if row is None else rec.credentials_from_row(row)

    def credentials_by_email_keys(
        self, email_keys: Collection[str]
    ) -> dict[str, Credentials]:
        wanted = list(dict.fromkeys(email_keys))
        found: dict[str, Credentials] = {}
        for start in range(0, len(wanted), _KEYS_PER_QUERY):
            chunk = wanted[start : start + _KEYS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT email_key, {rec.CREDENTIALS_COLUMNS} FROM accounts "  # noqa: S608
                f"WHERE email_key IN ({marks})",
                chunk,
            )
            found.update(
                (row["email_key"], rec.credentials_from_row(row)) for row in rows
            )
        return found

    def session_stamp(self, account_id: str) -> str | None:
        row = self._conn.execute(
            "SELECT session_stamp FROM accounts WHERE id = ?", (account_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def get_by_email_key(self, key: str) -> Account | None:
        return self._load("email_key", key)

    def get_by_former_email_key(self, key: str) -> Account | None:
        row = self._conn.execute(
            "SELECT id FROM accounts WHERE former_email_key = ? "
            "ORDER BY former_email_until DESC LIMIT 1",
            (key,),
        ).fetchone()
        return None if row is None else self._load("id", str(row[0]))

    def restorable_email_keys(self, keys: Collection[str], now: datetime) -> set[str]:
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        at = rec.iso(now)
        for start in range(0, len(wanted), _KEYS_PER_QUERY):
            chunk = wanted[start : start + _KEYS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            rows = self._conn.execute(
                "SELECT DISTINCT former_email_key FROM accounts "  # noqa: S608
                f"WHERE former_email_key IN ({marks}) AND former_email IS NOT NULL "
                "AND former_email_until > ?",
                (*chunk, at),
            )
            found.update(row[0] for row in rows)
        return found

    def lock(self, account_id: str) -> bool:
        # BEGIN IMMEDIATE took the database's write lock: the unit of work
        # is alone already.
        row = self._conn.execute(
            "SELECT 1 FROM accounts WHERE id = ?", (account_id,)
        ).fetchone()
        return row is not None

    def save(self, account: Account) -> None:
        row = rec.account_row(account)
        row["version"] = account.version + 1
        assignments = ", ".join(f"{c} = :{c}" for c in row if c != "id")
        try:
            cursor = self._conn.execute(
                f"UPDATE accounts SET {assignments} "  # noqa: S608
                "WHERE id = :id AND version = :expected",
                {**row, "expected": account.version},
            )
        except sqlite3.IntegrityError as exc:
            if "email_key" in str(exc):
                raise ValidationError.single("email", "email.taken") from None
            raise
        if cursor.rowcount != 1:
            raise ConcurrencyError(account.id)
        self._write_children(account)
        account.version += 1

    def remove(self, account_id: str) -> None:
        for table in ("delivery_addresses", "newsletter_consents", "tokens"):
            self._conn.execute(
                f"DELETE FROM {table} WHERE account_id = ?",  # noqa: S608
                (account_id,),
            )
        self._conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,))

    def unverified_before(self, cutoff: datetime, limit: int) -> list[str]:
        rows = self._conn.execute(
            "SELECT id FROM accounts WHERE status = 'unverified' "
            "AND created_at < ? ORDER BY created_at LIMIT ?",
            (rec.iso(cutoff), limit),
        ).fetchall()
        return [str(row[0]) for row in rows]

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM accounts").fetchone()[0])


class _Tokens:
    def __init__(self, conn: _Link) -> None:
        self._conn = conn

    def add(self, record: TokenRecord) -> None:
        _insert(self._conn, "tokens", rec.token_row(record))

    def find(self, digest: str) -> TokenRecord | None:
        row = self._conn.execute(
            "SELECT * FROM tokens WHERE digest = ?", (digest,)
        ).fetchone()
        return None if row is None else rec.token_from_row(row)

    def consume(
        self, digest: str, purpose: TokenPurpose, now: datetime
    ) -> TokenRecord | None:
        # One statement: the check and the mark cannot be split by a rival.
        row = self._conn.execute(
            "UPDATE tokens SET used_at = :now WHERE digest = :digest "
            "AND purpose = :purpose AND used_at IS NULL AND revoked_at IS NULL "
            "AND expires_at > :now RETURNING *",
            {"now": rec.iso(now), "digest": digest, "purpose": purpose.value},
        ).fetchone()
        return None if row is None else rec.token_from_row(row)

    def revoke(
        self, account_id: str, purposes: Sequence[TokenPurpose], now: datetime
    ) -> int:
        marks = ", ".join("?" for _ in purposes)
        cursor = self._conn.execute(
            f"UPDATE tokens SET revoked_at = ? WHERE account_id = ? "  # noqa: S608
            f"AND purpose IN ({marks}) AND used_at IS NULL AND revoked_at IS NULL "
            "AND expires_at > ?",
            (rec.iso(now), account_id, *(p.value for p in purposes), rec.iso(now)),
        )
        return cursor.rowcount

    def for_account(self, account_id: str) -> list[TokenRecord]:
        rows = self._conn.execute(
            "SELECT * FROM tokens WHERE account_id = ? ORDER BY created_at",
            (account_id,),
        ).fetchall()
        return [rec.token_from_row(r) for r in rows]

    def purge(
        self, account_id: str, purposes: Sequence[TokenPurpose], now: datetime
    ) -> int:
        marks = ", ".join("?" for _ in purposes)
        cursor = self._conn.execute(
            f"DELETE FROM tokens WHERE account_id = ? AND purpose IN ({marks}) "  # noqa: S608
            "AND (used_at IS NOT NULL OR revoked_at IS NOT NULL OR expires_at <= ?)",
            (account_id, *(p.value for p in purposes), rec.iso(now)),
        )
        return cursor.rowcount

    def delete_for_account(self, account_id: str) -> int:
        cursor = self._conn.execute(
            "DELETE FROM tokens WHERE account_id = ?", (account_id,)
        )
        return cursor.rowcount


_PENDING = rec.OUTBOX_PENDING


_WIPED_KIND_VALUES = frozenset(kind.value for kind in ADDRESS_WIPED_WHEN_SENT)
"""The kinds whose recipient is forgotten once sent (ADDRESS_WIPED_WHEN_SENT)."""


class _Outbox:
    def __init__(self, conn: _Link, on_forget: list[bool]) -> None:
        self._conn = conn
        self._on_forget = on_forget

    def add(self, mail: OutgoingMail) -> None:
        row = rec.outbox_row(mail)
        for name in ("created_at", "due_at", "expires_at", "requeued_at"):
            row[name] = rec.iso(row[name])
        _insert(self._conn, "outbox", row)

    def due(self, now: datetime, limit: int) -> list[OutgoingMail]:
        rows = self._conn.execute(
            f"SELECT * FROM outbox WHERE {_PENDING} AND due_at <= ? "  # noqa: S608
            "ORDER BY due_at, rowid LIMIT ?",
            (rec.iso(now), limit),
        ).fetchall()
        return [rec.mail_from_row(r) for r in rows]

    def claim(
        self,
        now: datetime,
        limit: int,
        until: datetime,
        *,
        claim_id: str | None = None,
    ) -> list[OutgoingMail]:
        # The unit of work holds SQLite's write lock: no rival sees these
        # rows unclaimed between the SELECT and the UPDATE.
        rows = self._conn.execute(
            f"SELECT * FROM outbox WHERE {_PENDING} AND due_at <= :now "  # noqa: S608
            "AND (claimed_until IS NULL OR claimed_until <= :now) "
            "ORDER BY due_at, rowid LIMIT :limit",
            {"now": rec.iso(now), "limit": limit},
        ).fetchall()
        self._conn.executemany(
            "UPDATE outbox SET claimed_until = ?, claim_id = ? WHERE id = ?",
            [(rec.iso(until), claim_id, row["id"]) for row in rows],
        )
        return [rec.mail_from_row(r) for r in rows]

    def _mark(
        self, assignments: str, mail_id: str, claim_id: str | None, **values: object
    ) -> bool:
        # Only the claim's holder marks (SPEC O1); the claim ends with the mark.
        cursor = self._conn.execute(
            f"UPDATE outbox SET {assignments}, "  # noqa: S608 (fixed fragments)
            "claimed_until = NULL, claim_id = NULL "
            f"WHERE id = :id AND claim_id IS :claim AND {_PENDING}",
            {"id": mail_id, "claim": claim_id, **values},
        )
        return cursor.rowcount == 1

    def renew(
        self, mail_id: str, *, claim_id: str, now: datetime, until: datetime
    ) -> bool:
        cursor = self._conn.execute(
            "UPDATE outbox SET claimed_until = :until WHERE id = :id "  # noqa: S608
            f"AND claim_id = :claim AND claimed_until > :now AND {_PENDING}",
            {
                "id": mail_id,
                "claim": claim_id,
                "now": rec.iso(now),
                "until": rec.iso(until),
            },
        )
        return cursor.rowcount == 1

    def holds(self, mail_id: str, *, claim_id: str, now: datetime) -> bool:
        row = self._conn.execute(
            f"SELECT 1 FROM outbox WHERE id = ? AND claim_id = ? "  # noqa: S608
            f"AND claimed_until > ? AND {_PENDING}",
            (mail_id, claim_id, rec.iso(now)),
        ).fetchone()
        return row is not None

    def release(self, mail_ids: Collection[str], *, claim_id: str) -> int:
        return sum(
            self._conn.execute(
                "UPDATE outbox SET claimed_until = NULL, claim_id = NULL "
                "WHERE id = ? AND claim_id = ?",
                (mail_id, claim_id),
            ).rowcount
            for mail_id in mail_ids
        )

    def mark_sent(
        self, mail_id: str, at: datetime, *, claim_id: str | None = None
    ) -> bool:
        # Sealed or not, a delivered mail's bodies are no longer needed:
        # nothing of them is kept (SPEC O2, R9); nor the address of an
        # erased account's last mail (G3), which a second statement wipes:
        # naming the address in every mark would rewrite its index entry
        # (a page written) for every mail.
        row = self._conn.execute(
            "UPDATE outbox SET sent_at = :at, attempts = attempts + 1, "  # noqa: S608
            "body_text = '', body_html = '', claimed_until = NULL, claim_id = NULL "
            f"WHERE id = :id AND claim_id IS :claim AND {_PENDING} RETURNING kind",
            {"id": mail_id, "claim": claim_id, "at": rec.iso(at)},
        ).fetchone()
        if row is None:
            return False
        if row[0] in _WIPED_KIND_VALUES:
            self._conn.execute(
                "UPDATE outbox SET recipient = '', recipient_key = NULL WHERE id = ?",
                (mail_id,),
            )
        return True

    def mark_failed(
        self,
        mail_id: str,
        retry_at: datetime,
        error: str,
        *,
        claim_id: str | None = None,
    ) -> bool:
        return self._mark(
            "due_at = :due, attempts = attempts + 1, last_error = :error",
            mail_id,
            claim_id,
            due=rec.iso(retry_at),
            error=error,
        )

    def mark_dead(
        self,
        mail_id: str,
        at: datetime,
        error: str,
        *,
        claim_id: str | None = None,
        attempted: bool = True,
    ) -> bool:
        return self._mark(
            "dead_at = :at, attempts = attempts + :attempted, last_error = :error",
            mail_id,
            claim_id,
            at=rec.iso(at),
            error=error,
            attempted=int(attempted),
        )

    def mark_dropped(
        self, mail_id: str, at: datetime, reason: str, *, claim_id: str | None = None
    ) -> bool:
        return self._mark(
            "dropped_at = :at, last_error = :reason, body_text = '', body_html = ''",
            mail_id,
            claim_id,
            at=rec.iso(at),
            reason=reason,
        )

    def pending_count(self) -> int:
        row = self._conn.execute(
            f"SELECT count(*) FROM outbox WHERE {_PENDING}"  # noqa: S608
        )
        return int(row.fetchone()[0])

    def stats(self) -> OutboxStats:
        pending, oldest = self._conn.execute(
            f"SELECT count(*), min(due_at) FROM outbox WHERE {_PENDING}"  # noqa: S608
        ).fetchone()
        (dead,) = self._conn.execute(
            "SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL"
        ).fetchone()
        return OutboxStats(int(pending), rec.from_iso(oldest), int(dead))

    def dead_letters(self, limit: int) -> list[DeadLetter]:
        rows = self._conn.execute(
            "SELECT * FROM outbox WHERE dead_at IS NOT NULL "
            "ORDER BY dead_at DESC, rowid DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [rec.dead_letter_from_row(r) for r in rows]

    def requeue(self, mail_ids: Collection[str] | None, now: datetime) -> int:
        update = (
            "UPDATE outbox SET dead_at = NULL, due_at = :now, requeued_at = :now, "
            "claimed_until = NULL, claim_id = NULL WHERE dead_at IS NOT NULL"
        )
        if mail_ids is None:
            return self._conn.execute(update, {"now": rec.iso(now)}).rowcount
        return sum(
            self._conn.execute(
                update + " AND id = :id", {"now": rec.iso(now), "id": mail_id}
            ).rowcount
            for mail_id in set(mail_ids)
        )

    def purge_dead(self, before: datetime | None) -> int:
        cursor = self._conn.execute(
            "DELETE FROM outbox WHERE dead_at IS NOT NULL "
            "AND (:before IS NULL OR dead_at < :before)",
            {"before": rec.iso(before)},
        )
        if cursor.rowcount:
            # Dead letters name their recipients: none is left in the WAL.
            self._on_forget.append(True)
        return cursor.rowcount

    def forget(self, *, account_id: str, email_keys: Collection[str]) -> int:
        keys = sorted(set(email_keys))
        marks = ", ".join("?" for _ in keys)
        cursor = self._conn.execute(
            f"DELETE FROM outbox WHERE account_id = ? "  # noqa: S608 (marks only)
            f"OR recipient_key IN ({marks})",
            (account_id, *keys),
        )
        self._on_forget.append(True)
        return cursor.rowcount


class _Resets:
    def __init__(self, conn: _Link) -> None:
        self._conn = conn

    def _one(self, sql: str, *args: object) -> ResetRequest | None:
        row = self._conn.execute(sql, args).fetchone()
        return None if row is None else rec.reset_from_row(row)

    def add(self, request: ResetRequest) -> None:
        _insert(self._conn, "reset_requests", rec.reset_row(request))

    def find_by_digest(self, digest: str) -> ResetRequest | None:
        return self._one(
            "SELECT * FROM reset_requests WHERE confirm_digest = ? "
            "OR cancel_digest = ?",
            digest,
            digest,
        )

    def for_requester(self, requester_key: str, since: datetime) -> list[ResetRequest]:
        rows = self._conn.execute(
            "SELECT * FROM reset_requests WHERE requester_key = ? "
            "AND requested_at >= ? ORDER BY requested_at, rowid",
            (requester_key, rec.iso(since)),
        ).fetchall()
        return [rec.reset_from_row(r) for r in rows]

    def for_account(self, account_id: str) -> list[ResetRequest]:
        rows = self._conn.execute(
            "SELECT * FROM reset_requests WHERE account_id = ? "
            "ORDER BY requested_at, rowid",
            (account_id,),
        ).fetchall()
        return [rec.reset_from_row(r) for r in rows]

    def delete_for(self, account_id: str, requester_key: str) -> int:
        cursor = self._conn.execute(
            "DELETE FROM reset_requests WHERE account_id = ? OR requester_key = ?",
            (account_id, requester_key),
        )
        return cursor.rowcount

    def save(self, request: ResetRequest) -> None:
        row = rec.reset_row(request)
        row["version"] = request.version + 1
        assignments = ", ".join(f"{c} = :{c}" for c in row if c != "id")
        cursor = self._conn.execute(
            f"UPDATE reset_requests SET {assignments} "  # noqa: S608
            "WHERE id = :id AND version = :expected",
            {**row, "expected": request.version},
        )
        if cursor.rowcount != 1:
            raise ConcurrencyError(request.id)
        request.version += 1


class _Throttles:
    def __init__(self, conn: _Link) -> None:
        self._conn = conn

    def get(self, key: str) -> LoginThrottle:
        row = self._conn.execute(
            "SELECT * FROM login_throttles WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return LoginThrottle(key)
        return LoginThrottle(key, row["failures"], rec.from_iso(row["last_failure_at"]))

    def save(self, throttle: LoginThrottle) -> None:
        self._conn.execute(
            "INSERT INTO login_throttles (key, failures, last_failure_at) "
            "VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            "failures = excluded.failures, last_failure_at = excluded.last_failure_at",
            (throttle.key, throttle.failures, rec.iso(throttle.last_failure_at)),
        )

    def delete(self, key: str) -> None:
        self._conn.execute("DELETE FROM login_throttles WHERE key = ?", (key,))


class _Audit:
    def __init__(self, conn: _Link, on_forget: list[bool]) -> None:
        self._conn = conn
        self._on_forget = on_forget

    def add(self, *records: AuditRecord) -> None:
        _insert_many(self._conn, "audit_log", [rec.audit_row(r) for r in records])

    def for_account(self, account_id: str) -> list[AuditRecord]:
        rows = self._conn.execute(
            "SELECT * FROM audit_log WHERE account_id = ? ORDER BY seq", (account_id,)
        ).fetchall()
        return [rec.audit_from_row(r) for r in rows]

    def redact(self, account_id: str, detail_keys: Collection[str]) -> int:
        rows = self._conn.execute(
            "SELECT seq, details FROM audit_log WHERE account_id = ?", (account_id,)
        ).fetchall()
        changes = [
            (details, row["seq"])
            for row in rows
            if (details := rec.redacted_details(row["details"], detail_keys))
            is not None
        ]
        self._conn.executemany(
            "UPDATE audit_log SET details = ? WHERE seq = ?", changes
        )
        if changes:
            self._on_forget.append(True)
        return len(changes)


class _Events:
    def __init__(self, conn: _Link) -> None:
        self._conn = conn
        self.written = False

    def add(self, *events: AccountEvent) -> None:
        for event in events:
            _insert(self._conn, "account_events", rec.event_row(event))
            self.written = True

    def after(self, position: int, limit: int) -> list[tuple[int, AccountEvent]]:
        rows = self._conn.execute(
            "SELECT * FROM account_events WHERE seq > ? ORDER BY seq LIMIT ?",
            (position, limit),
        ).fetchall()
        return [(int(r["seq"]), rec.event_from_row(r)) for r in rows]

    def position(self, handler: str) -> int:
        row = self._conn.execute(
            "SELECT position FROM event_positions WHERE handler = ?", (handler,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def advance(self, handler: str, position: int) -> None:
        self._conn.execute(
            "INSERT INTO event_positions (handler, position) VALUES (?, ?) "
            "ON CONFLICT (handler) DO UPDATE "
            "SET position = max(position, excluded.position)",
            (handler, position),
        )
