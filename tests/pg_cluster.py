"""A throwaway PostgreSQL cluster for the fault tests, never the machine's server.

:class:`ThrowawayCluster` runs ``initdb`` and ``pg_ctl`` from the server
binaries (``$ECHOPPE_TEST_PG_BIN``, else the newest
``/usr/lib/postgresql/*/bin``, else ``pg_ctl`` on the ``PATH``) in a new
temporary folder, listening on a free port of ``127.0.0.1`` only, with its
Unix socket in that folder. ``initdb`` refuses to run as root: under root
the cluster belongs to ``nobody`` and every command runs through
``runuser``; otherwise it runs as the current user. The ``postgres`` role
logs in without a password (``trust``) and fsync is off: the cluster lives
for one test and is deleted after it, whatever happened.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

HOST = "127.0.0.1"
UNPRIVILEGED = "nobody"
COMMAND_TIMEOUT = 120
"""Seconds any pg_ctl or initdb command may take before the test fails."""


def _version(bin_dir: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", bin_dir.parent.name))


def find_binaries() -> Path | None:
    """Return the folder holding ``initdb`` and ``pg_ctl``, or ``None``."""
    candidates: list[Path] = []
    if override := os.environ.get("ECHOPPE_TEST_PG_BIN"):
        candidates.append(Path(override))
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=_version, reverse=True
    )
    if on_path := shutil.which("pg_ctl"):
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def problem() -> str | None:
    """Say why a throwaway cluster cannot be made here, or ``None`` if it can."""
    if find_binaries() is None:
        return (
            "the PostgreSQL server binaries (initdb, pg_ctl) are missing: "
            "install postgresql or set ECHOPPE_TEST_PG_BIN"
        )
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: initdb cannot run unprivileged"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class ThrowawayCluster:
    """A PostgreSQL cluster of its own, started on entry and deleted on exit."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        # Under root the cluster's owner must reach its folder: not in a
        # private $TMPDIR such as /root/tmp.
        parent = "/tmp" if os.geteuid() == 0 else None  # noqa: S108
        self.folder = Path(tempfile.mkdtemp(prefix="echoppe-pg-", dir=parent))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = 0

    @property
    def dsn(self) -> str:
        """The connection URI of the cluster's ``postgres`` database."""
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", UNPRIVILEGED, "--", *command]
        done = subprocess.run(  # noqa: S603 (our own arguments)
            command,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        if check and done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            msg = f"{program} {' '.join(args)} failed:\n{done.stderr}\n{log[-2000:]}"
            raise RuntimeError(msg)

    def _pg_ctl(self, action: str, *args: str, check: bool = True) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses={HOST} "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", action, "-D", str(self.data), "-l", str(self.log),
            "-o", options, "-w", "-t", "60", "-m", "fast", *args, check=check,
        )  # fmt: skip

    def __enter__(self) -> Self:
        """Create the cluster and start it."""
        try:
            if os.geteuid() == 0:
                user = pwd.getpwnam(UNPRIVILEGED)
                os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                "-E", "UTF8", "--no-locale", "--no-sync",
            )  # fmt: skip
            # A port found free may be taken before the server binds it.
            for attempt in range(3):
                self.port = _free_port()
                try:
                    self.start()
                    break
                except RuntimeError:
                    if attempt == 2:
                        raise
        except BaseException:
            self.delete()
            raise
        return self

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._pg_ctl("start")

    def stop(self) -> None:
        """Stop the server (fast: sessions are ended, not waited for)."""
        self._pg_ctl("stop")

    def restart(self) -> None:
        """Stop the server, start it again and wait until it accepts connections."""
        self._pg_ctl("restart")

    def delete(self) -> None:
        """Stop the server if it runs, and delete every file of the cluster."""
        if (self.data / "postmaster.pid").exists():
            self._run(
                "pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w",
                check=False,
            )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop and delete the cluster."""
        self.delete()
