"""A loopback SMTP server that accepts every mail and keeps none, for row 6.

Run as ``python -m benchmarks.smtp_sink``: it listens on 127.0.0.1, a port
the system chooses, prints that port on one line, and serves until its
standard input closes. It speaks just enough ESMTP (RFC 5321) for
``smtplib``: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP and QUIT, with the
8BITMIME, SMTPUTF8 and PIPELINING extensions announced (PIPELINING not
with ``--no-pipelining``: a server that wants each reply waited for, as
aiosmtpd), and answers each command at once. Running it in a process of
its own keeps its work off the measured process.
"""

from __future__ import annotations

import asyncio
import sys

_GREETING = b"220 sink.localhost ESMTP ready\r\n"
_EHLO = (
    b"250-sink.localhost\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
    b"250-PIPELINING\r\n250 SIZE 10485760\r\n"
)
_EHLO_SEQUENTIAL = _EHLO.replace(b"250-PIPELINING\r\n", b"")
_OK = b"250 2.0.0 OK\r\n"
_END_OF_DATA = b"\r\n.\r\n"


_PIPELINING = "--no-pipelining" not in sys.argv


async def _session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(_GREETING)
    try:
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb in {b"EHLO", b"HELO"}:
                ehlo = _EHLO if _PIPELINING else _EHLO_SEQUENTIAL
                writer.write(ehlo if verb == b"EHLO" else b"250 sink.localhost\r\n")
            elif verb == b"DATA":
                writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                await writer.drain()
                await reader.readuntil(_END_OF_DATA)
                writer.write(b"250 2.0.0 Accepted\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                break
            else:  # MAIL, RCPT, RSET, NOOP
                writer.write(_OK)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def _serve() -> None:
    server = await asyncio.start_server(_session, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    # Serve until the parent closes our standard input (or dies).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(_serve())
