"""A throwaway MariaDB server for the PrestaShop import's tests, never the machine's.

:class:`ThrowawayMariaDB` runs Debian's ``mariadb-install-db`` and
``mariadbd`` (``$ECHOPPE_TEST_MARIADBD`` names another server binary) in a
new temporary folder, listening on a free port of ``127.0.0.1`` only, with
its socket, data and logs in that folder: a MariaDB already running on the
machine (port 3306) is never touched. Under root the server runs with
``--user=root``; otherwise as the current user. ``root`` logs in without a
password over TCP; :meth:`ThrowawayMariaDB.add_user` makes the read-only
user an import would use. The durability settings are off: the server
lives for one test session and its folder is deleted after it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

HOST = "127.0.0.1"
START_TIMEOUT = 60
"""Seconds the server may take to accept connections before the tests fail."""


def _binary(name: str, *, override: str | None = None) -> Path | None:
    if override and Path(override).is_file():
        return Path(override)
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    return Path(found) if found else None


def find_binaries() -> tuple[Path, Path] | None:
    """Return ``mariadbd`` and ``mariadb-install-db``, or ``None``."""
    server = _binary("mariadbd", override=os.environ.get("ECHOPPE_TEST_MARIADBD"))
    install = _binary("mariadb-install-db") or _binary("mysql_install_db")
    if server is None or install is None:
        return None
    return server, install


def problem() -> str | None:
    """Say why a throwaway server cannot be started here, or ``None`` if it can."""
    if find_binaries() is None:
        return (
            "the MariaDB server binaries (mariadbd, mariadb-install-db) are "
            "missing: install Debian's mariadb-server (.ci/run does under CI)"
        )
    try:
        import pymysql  # noqa: F401, PLC0415
    except ImportError:
        return "PyMySQL is missing: install the 'prestashop' extra"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class ThrowawayMariaDB:
    """A MariaDB server of its own, in a temporary folder, on a free port."""

    def __init__(self) -> None:
        binaries = find_binaries()
        if binaries is None:
            raise RuntimeError(problem())
        self.server, self.install = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="echoppe-mariadb-"))
        self.port = _free_port()
        self.socket = self.folder / "mariadb.sock"
        self._process: subprocess.Popen[bytes] | None = None

    def _as_root(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def start(self) -> None:
        """Make the data folder, start the server, wait until it accepts."""
        data = self.folder / "data"
        made = subprocess.run(  # noqa: S603 (the server's own tool, our folder)
            [
                str(self.install),
                "--no-defaults",
                f"--datadir={data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                # No host name lookups (resolveip): loopback only.
                "--skip-name-resolve",
                *self._as_root(),
            ],
            check=False,
            capture_output=True,
            timeout=START_TIMEOUT,
        )
        if made.returncode != 0:
            self.stop()
            output = (made.stdout + made.stderr).decode(errors="replace")[-3000:]
            msg = f"{self.install.name} failed ({made.returncode}):\n{output}"
            raise RuntimeError(msg)
        log = (self.folder / "server.log").open("wb")
        self._process = subprocess.Popen(  # noqa: S603 (the server binary, our folder)
            [
                str(self.server),
                "--no-defaults",
                f"--datadir={data}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                f"--bind-address={HOST}",
                f"--pid-file={self.folder / 'mariadb.pid'}",
                f"--log-error={self.folder / 'error.log'}",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=128M",
                "--innodb-log-file-size=48M",
                "--innodb-flush-log-at-trx-commit=0",
                "--innodb-doublewrite=0",
                "--character-set-server=utf8mb4",
                *self._as_root(),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                self.connect().close()
            except Exception:  # noqa: BLE001 (any failure: not up yet, or never)
                if self._process.poll() is not None or time.monotonic() > deadline:
                    errors = self.folder / "error.log"
                    tail = (
                        errors.read_text(errors="replace")[-2000:]
                        if errors.exists()
                        else ""
                    )
                    self.stop()
                    msg = f"the throwaway MariaDB server did not start:\n{tail}"
                    raise RuntimeError(msg) from None
                time.sleep(0.2)
            else:
                return

    def connect(self, database: str | None = None, **options):
        """Connect as root over TCP (autocommit)."""
        import pymysql  # noqa: PLC0415

        return pymysql.connect(
            host=HOST,
            port=self.port,
            user="root",
            password="",
            database=database,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=5,
            **options,
        )

    def url(self, database: str, user: str = "root") -> str:
        """The import's URL of *database*, without a password."""
        return f"mysql://{user}@{HOST}:{self.port}/{database}"

    def add_user(self, user: str, password: str, database: str) -> None:
        """Make *user*, who may only read *database* (SELECT)."""
        with self.connect() as db, db.cursor() as cursor:
            cursor.execute(
                f"CREATE USER IF NOT EXISTS '{user}'@'%%' IDENTIFIED BY %s", (password,)
            )
            cursor.execute(f"GRANT SELECT ON `{database}`.* TO '{user}'@'%'")

    def stop(self) -> None:
        """Stop the server (politely, then not) and delete its folder."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
