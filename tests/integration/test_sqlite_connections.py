"""The connections a SQLite store keeps between units of work (issue 12).

Opening a connection costs its settings, and closing the last one costs a
checkpoint of the write-ahead log: a store keeps its units of work's
connections for the next ones, caches more of the file's pages than SQLite
does by default, and closes what it keeps when asked.
"""

from __future__ import annotations

import threading

from echoppe_accounts import SQLiteStore
from echoppe_accounts.domain.throttle import LoginThrottle


def test_a_unit_of_work_reuses_the_connection_of_the_last_one(tmp_path):
    """One connection serves units of work one after the other."""
    store = SQLiteStore(tmp_path / "db.sqlite3")
    with store.unit_of_work() as tx:
        first = tx._conn
    with store.unit_of_work() as tx:
        assert tx._conn is first
    store.close()


def test_nested_units_of_work_get_connections_of_their_own(tmp_path):
    """A unit of work opened inside another does not share its transaction."""
    store = SQLiteStore(tmp_path / "db.sqlite3", busy_timeout=0.05)
    with store.unit_of_work() as outer:
        outer.commit()  # a deferred transaction of its own now: no lock held
        with store.unit_of_work() as inner:
            assert inner._conn is not outer._conn
            assert inner.accounts.count() == 0
    store.close()


def test_threads_get_connections_of_their_own(tmp_path):
    """Units of work running at once in two threads never share a connection."""
    store = SQLiteStore(tmp_path / "db.sqlite3")
    seen: list[object] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        barrier.wait()
        for _ in range(20):
            with store.unit_of_work() as tx:
                seen.append(tx._conn)
                tx.accounts.count()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 40
    store.close()


def test_close_closes_the_kept_connections(tmp_path):
    """After close(), the next unit of work opens a new connection."""
    path = tmp_path / "db.sqlite3"
    with SQLiteStore(path) as store, store.unit_of_work() as tx:
        kept = tx._conn
    assert not (tmp_path / "db.sqlite3-wal").exists()  # the last close checkpointed
    with store.unit_of_work() as tx:
        assert tx._conn is not kept
    store.close()
    assert store._idle == []


def test_connections_cache_16_mib_and_map_only_when_asked(tmp_path):
    """Pages cached: 16 MiB by default; the file is mapped only with mmap_size."""
    plain = SQLiteStore(tmp_path / "a.sqlite3")
    with plain.unit_of_work() as tx:
        assert tx._conn.execute("PRAGMA cache_size").fetchone()[0] == -16384
        assert tx._conn.execute("PRAGMA mmap_size").fetchone()[0] == 0
    mapped = SQLiteStore(tmp_path / "b.sqlite3", cache_size=4 << 20, mmap_size=1 << 20)
    with mapped.unit_of_work() as tx:
        assert tx._conn.execute("PRAGMA cache_size").fetchone()[0] == -4096
        assert tx._conn.execute("PRAGMA mmap_size").fetchone()[0] == 1 << 20
    plain.close()
    mapped.close()


def test_a_connection_whose_rollback_failed_is_not_kept(tmp_path):
    """A connection in an unknown state is closed rather than lent again."""
    store = SQLiteStore(tmp_path / "db.sqlite3")
    conn = store.acquire()
    store.release(conn, reusable=False)
    assert conn not in store._idle
    with store.unit_of_work() as tx:
        assert tx._conn is not conn
    store.close()


def _throttle(key: str, failures: int) -> LoginThrottle:
    return LoginThrottle(key, failures)


def test_what_follows_a_commit_is_rolled_back_unless_committed(tmp_path):
    """A unit of work ending with its commit runs nothing after it (issue 22).

    What is done after a commit still begins a transaction of its own,
    which the end of the unit of work rolls back unless it is committed
    again; committing with nothing new is harmless.
    """
    store = SQLiteStore(tmp_path / "db.sqlite3")
    statements: list[str] = []
    with store.unit_of_work() as tx:
        conn = tx._conn
        conn.set_trace_callback(statements.append)
        tx.throttles.save(_throttle("kept", 1))
        tx.commit()
        tx.commit()  # nothing new: nothing to commit
    conn.set_trace_callback(None)
    assert statements[-1] == "COMMIT"
    assert statements.count("COMMIT") == 1
    assert "BEGIN" not in statements
    assert "ROLLBACK" not in statements
    with store.unit_of_work() as tx:
        tx.throttles.save(_throttle("kept", 2))
        tx.commit()
        tx.throttles.save(_throttle("kept", 3))
        tx.throttles.save(_throttle("lost", 1))
    with store.unit_of_work() as tx:
        tx.throttles.save(_throttle("again", 1))
        tx.commit()
        tx.throttles.save(_throttle("again", 2))
        tx.commit()
    with store.unit_of_work() as tx:
        assert tx.throttles.get("kept").failures == 2
        assert tx.throttles.get("lost").failures == 0
        assert tx.throttles.get("again").failures == 2
        assert not tx._conn.execute(
            "SELECT 1 FROM login_throttles WHERE key = 'lost'"
        ).fetchall()
    store.close()
