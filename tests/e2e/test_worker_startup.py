"""The worker starts while the database or the mail server is down (SPEC O4 amended).

It waits for them with a capped backoff, one warning a minute, and stops
with exit 0 on SIGTERM at any moment of its start-up. The systemd unit the
documentation gives restarts it whatever the outage.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from echoppe_accounts import Settings, bootstrap
from echoppe_accounts.bootstrap import OUTBOX_KEY_VARIABLE
from sample_forms import form
from smtp_server import LoopbackSMTP
from tcp_proxy import Proxy, free_port

pytestmark = pytest.mark.slow
"""Real processes and real waits; `make check` runs them, without coverage.

Coverage, measuring a test run's subprocesses, starts in each worker before
any of its code and may take longer than the 0.2 s of the earliest
``SIGTERM`` on a loaded machine: these tests time the worker, not it.
"""

SCRIPT = Path(sys.executable).with_name("echoppe-accounts")
DOCS = Path(__file__).resolve().parents[2] / "docs"
BASE_URL = "https://www.lechoppe.fr"
KEY = os.urandom(32)
SAFETY = 60
"""Seconds after which a hung subprocess fails the test (never asserted on)."""


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ECHOPPE_", "LC_", "LANG"))
    }
    return env | {
        "ECHOPPE_BASE_URL": BASE_URL,
        "ECHOPPE_MAILDIR": str(tmp_path / "mailbox"),
        OUTBOX_KEY_VARIABLE: KEY.hex(),
        "LANG": "C.UTF-8",
        **values,
    }


def _start(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 (our own console script)
        [SCRIPT, "worker", "--max-idle", "1", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


def _stop(worker: subprocess.Popen[str]) -> str:
    try:
        worker.send_signal(signal.SIGTERM)
        _, log = worker.communicate(timeout=SAFETY)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    return log


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + SAFETY
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("after", [0.2, 0.6, 1.0])
@pytest.mark.parametrize("database", ["sqlite", "postgresql-down"])
def test_sigterm_at_any_moment_of_start_up_exits_0(tmp_path, after, database):
    """O4: SIGTERM 0.2, 0.6 or 1.0 s after launch stops the worker with exit 0."""
    url = (
        f"sqlite:///{tmp_path / 'shop.sqlite3'}"
        if database == "sqlite"
        else f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    )
    worker = _start(_env(tmp_path, ECHOPPE_DATABASE_URL=url), tmp_path)
    time.sleep(after)
    log = _stop(worker)
    assert worker.returncode == 0, log
    assert "Traceback" not in log


@pytest.mark.postgres
def test_the_worker_waits_for_a_database_that_is_down_at_start(
    tmp_path, postgres_dsn, postgres_store_factory
):
    """O4: started against a closed port, it waits, warns once, then sends."""
    port = free_port()
    schema = f"ops_wait_{uuid.uuid4().hex[:8]}"
    proxy = Proxy(port, ("127.0.0.1", 5432))
    url = re.sub(r"@[^/]+/", f"@127.0.0.1:{port}/", postgres_dsn)
    env = _env(tmp_path, ECHOPPE_DATABASE_URL=url, ECHOPPE_DATABASE_SCHEMA=schema)
    worker = _start(env, tmp_path)
    try:
        time.sleep(3)  # the outage: the worker must still be running
        assert worker.poll() is None
        proxy.open()
        # A mail queued through the real server reaches the waiting worker.
        store = postgres_store_factory(schema)
        app = bootstrap(
            store.unit_of_work,
            _NullMailer(),
            Settings(base_url=BASE_URL, outbox_key=KEY),
        )
        app.accounts.register(form())
        mailbox = tmp_path / "mailbox" / "new"
        _wait_for(lambda: mailbox.is_dir() and any(mailbox.iterdir()), "a mail")
        log = _stop(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
        proxy.close()
    assert worker.returncode == 0, log
    assert log.count("waiting for the database") == 1, log
    assert "is back after" in log


class _NullMailer:
    def send(self, mail, sender) -> None:
        """Never called: the worker sends."""
        raise AssertionError((mail, sender))


def test_the_worker_waits_for_a_mail_server_that_is_down_at_start(tmp_path):
    """O4: started with the mail server down, it waits, then delivers."""
    server = LoopbackSMTP()
    server.port = free_port()
    database = tmp_path / "shop.sqlite3"
    env = _env(
        tmp_path,
        ECHOPPE_DATABASE_URL=f"sqlite:///{database}",
        ECHOPPE_SMTP_URL=f"smtp+plain://127.0.0.1:{server.port}",
    )
    from echoppe_accounts import sqlite_app  # noqa: PLC0415

    app = sqlite_app(
        database, tmp_path / "unused", Settings(base_url=BASE_URL, outbox_key=KEY)
    )
    app.accounts.register(form())
    worker = _start(env, tmp_path)
    try:
        time.sleep(2)
        assert worker.poll() is None
        server.start()
        try:
            _wait_for(server.handler.message_ids, "a delivered mail")
        except AssertionError as exc:
            raise AssertionError(_stop(worker)) from exc
        log = _stop(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
        server.stop()
    assert worker.returncode == 0, log
    assert log.count("waiting for the mail server") == 1, log
    assert "the mail server is back" in log


def _unit() -> dict[str, str]:
    """Return the settings of the worker's systemd unit in docs/cli.md."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    block = re.search(r"```ini\n(\[Unit\].*?)```", text, re.DOTALL)
    assert block, "docs/cli.md has no systemd unit"
    return dict(
        line.split("=", 1)
        for line in block.group(1).splitlines()
        if "=" in line and not line.startswith("#")
    )


def _systemd_gives_up(unit: dict[str, str], outage: float, crash_after: float) -> bool:
    """Replay systemd's start limit for a worker that crashes every *crash_after* s.

    systemd refuses a start once ``StartLimitBurst`` starts happened within
    ``StartLimitIntervalSec`` (0 disables the limit); ``Restart=always``
    restarts the unit ``RestartSec`` after any exit.
    """
    if unit.get("Restart") not in {"always", "on-failure"}:
        return True
    interval = float(unit.get("StartLimitIntervalSec", "10").rstrip("s"))
    burst = int(unit.get("StartLimitBurst", "5"))
    delay = float(unit.get("RestartSec", "0.1").rstrip("s"))
    starts: list[float] = []
    now = 0.0
    while now < outage:
        starts = [t for t in starts if now - t < interval] if interval else []
        if interval and len(starts) >= burst:
            return True
        starts.append(now)
        now += crash_after + delay
    return False


def test_the_documented_unit_survives_a_ten_minute_outage():
    """O4: the unit restarts the worker through a 10-minute outage, never giving up.

    The worker waits rather than exits (above); were it to crash at once in
    a loop, the unit's restart policy would still restart it for 10 minutes.
    """
    unit = _unit()
    assert unit["Restart"] == "always"
    assert "RestartSec" in unit
    assert not _systemd_gives_up(unit, outage=600, crash_after=0.5)
    # systemd's defaults (Restart=on-failure, 100 ms, 5 starts in 10 s) do.
    assert _systemd_gives_up({"Restart": "on-failure"}, outage=600, crash_after=0.5)
