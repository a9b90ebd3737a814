"""A killed worker re-sends at most one mail per crash (SPEC O1 amended, issue 19).

500 mails go to a real SMTP server on loopback through ``echoppe-accounts
worker``, which is killed with SIGKILL ten times mid-flight and started
again each time. Each mail's outcome is committed before the next mail is
handed over, so each kill costs at most the one mail in hand: the
duplicates (same Message-ID) number at most the kills, and every mail
arrives. The claims of a killed worker lapse within the one-minute lease.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from builders import mail
from echoppe_accounts.adapters.sqlite import SQLiteStore
from smtp_server import LoopbackSMTP

SCRIPT = Path(sys.executable).with_name("echoppe-accounts")
MAILS = 500
KILLS = 10
SAFETY = 300
"""Seconds after which the test gives up (never asserted on)."""


def _queue(store, count: int) -> None:
    with store.unit_of_work() as tx:
        for i in range(count):
            tx.outbox.add(mail(f"client{i}@exemple.fr"))
        tx.commit()


def _env(url: str, port: int, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECHOPPE_")}
    return env | {
        "ECHOPPE_DATABASE_URL": url,
        "ECHOPPE_SMTP_URL": f"smtp+plain://127.0.0.1:{port}",
        "ECHOPPE_BASE_URL": "https://www.lechoppe.fr",
        "ECHOPPE_OUTBOX_KEY": os.urandom(32).hex(),
        **values,
    }


def _worker(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 (our own console script)
        [SCRIPT, "worker", "--max-idle", "1"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )


def _kill_loop(env: dict[str, str], cwd: Path, server: LoopbackSMTP) -> None:
    """Kill the worker KILLS times as it sends, then let one finish the outbox."""
    deadline = time.monotonic() + SAFETY
    step = MAILS // (KILLS + 2)
    for kill in range(1, KILLS + 1):
        worker = _worker(env, cwd)
        try:
            while len(server.handler.received) < kill * step:
                assert time.monotonic() < deadline, "the worker made no progress"
                assert worker.poll() is None, "the worker exited"
                time.sleep(0.01)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
    worker = _worker(env, cwd)
    try:
        # The last killed worker's batch comes back when its claims lapse.
        while len({r.message["Message-ID"] for r in server.handler.received}) < MAILS:
            assert time.monotonic() < deadline, "not every mail arrived"
            time.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)


def _check(server: LoopbackSMTP) -> None:
    counts = Counter(server.handler.message_ids())
    duplicates = sum(n - 1 for n in counts.values())
    assert len(counts) == MAILS  # nothing lost
    assert duplicates <= KILLS, f"{duplicates} duplicates for {KILLS} kills"


@pytest.mark.slow
@pytest.mark.smtp
def test_sigkills_on_sqlite_resend_at_most_one_mail_each(tmp_path):
    """O1: ten SIGKILLs over 500 mails on SQLite: at most ten duplicates."""
    database = tmp_path / "shop.sqlite3"
    with SQLiteStore(database) as store:
        _queue(store, MAILS)
    with LoopbackSMTP() as server:
        _kill_loop(_env(f"sqlite:///{database}", server.port), tmp_path, server)
        _check(server)


@pytest.mark.slow
@pytest.mark.smtp
@pytest.mark.postgres
def test_sigkills_on_postgresql_resend_at_most_one_mail_each(
    tmp_path, postgres_dsn, postgres_store_factory
):
    """O1: ten SIGKILLs over 500 mails on PostgreSQL: at most ten duplicates."""
    schema = f"ops_kill_{os.urandom(4).hex()}"
    _queue(postgres_store_factory(schema), MAILS)
    with LoopbackSMTP() as server:
        env = _env(postgres_dsn, server.port, ECHOPPE_DATABASE_SCHEMA=schema)
        _kill_loop(env, tmp_path, server)
        _check(server)
