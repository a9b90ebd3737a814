"""Row 6: the outbox to a loopback SMTP server against plain ``smtplib``.

The candidate is ``OutboxDispatcher.dispatch()`` on SQLite with an
:class:`~echoppe_accounts.SMTPMailer` (plain, no TLS, to the loopback sink
of ``benchmarks/smtp_sink.py``): each mail's claim checked, its sealed
bodies opened, the message built and sent, and its fate recorded. The
mails are the welcome mails of registered companies, queued beforehand.

The baseline is the transport alone: ``smtplib.SMTP.sendmail`` of the very
bytes the library sends for each mail (opened and written beforehand, out
of the timing), on the same connection policy as the dispatcher's: one
connection a round, opened by its first mail and closed with ``QUIT`` at
its end. The row is the candidate's mails per second over the baseline's:
what the library's own work (claims, unsealing, writing the message,
recording each mail's fate) leaves of the transport's rate.

It is measured on two sinks, each interleaved with its own baseline: one
that announces PIPELINING (RFC 2920), as the mail servers shops use do,
where the library sends ``MAIL``, ``RCPT`` and ``DATA`` in one write while
``sendmail`` waits for each reply; and one that does not, where both wait
for each reply and the library's work has only the replies' time to hide
in. The row is the lower of the two.
"""

from __future__ import annotations

import smtplib
import subprocess
import sys
import tempfile
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Self

from benchmarks.data import companies, registration_form
from benchmarks.harness import Paired, Row, at_least, paired, timed
from benchmarks.register import cheap_hasher, settings
from echoppe_accounts.domain.mail import OutgoingMail

BATCH = 50
ROUNDS = 15
SENDER = "L'Échoppe <ne-pas-repondre@lechoppe.fr>"
"""The shop's default sender (``Settings.sender``), display name included."""
ENVELOPE_SENDER = "ne-pas-repondre@lechoppe.fr"


class Sink:
    """The loopback SMTP sink, in a process of its own.

    With *pipelining* false, it does not announce PIPELINING (RFC 2920).
    """

    def __init__(self, *, pipelining: bool = True) -> None:
        """Say how the sink will answer ``EHLO``; it starts with ``with``."""
        self.options = [] if pipelining else ["--no-pipelining"]

    def __enter__(self) -> Self:
        """Start the sink and read its port."""
        self.process = subprocess.Popen(  # noqa: S603 (our own module)
            [sys.executable, "-m", "benchmarks.smtp_sink", *self.options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).parents[1],
        )
        assert self.process.stdout is not None  # noqa: S101
        self.port = int(self.process.stdout.readline())
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the sink: it serves until its standard input closes."""
        assert self.process.stdin is not None  # noqa: S101
        self.process.stdin.close()
        self.process.wait(timeout=10)


NOTE = (
    "does not measure: TLS and authentication (plain loopback), a remote "
    "server's latency (which would hide the library's work), mails the "
    "common-mail writer leaves to EmailMessage, nor retries and dead letters; "
    "the library pipelines MAIL, RCPT and DATA where the sink announces "
    "PIPELINING, which smtplib.sendmail never does (the server without it "
    "is the row's other half)"
)


def wire_bytes(mail: OutgoingMail) -> bytes:
    """Return the bytes the library sends for *mail* (fast writer or EmailMessage)."""
    from echoppe_accounts.adapters._fastmime import message_bytes  # noqa: PLC0415
    from echoppe_accounts.adapters.mime import build_message  # noqa: PLC0415

    data = message_bytes(mail, SENDER)
    if data is None:
        data = build_message(mail, SENDER).as_bytes(policy=SMTP_POLICY)
    return data


def _measure(folder: Path, *, pipelining: bool, rounds: int) -> Paired:
    """Pair the dispatcher with ``sendmail`` on a sink (with PIPELINING or not)."""
    from echoppe_accounts.adapters.smtp import SMTPMailer  # noqa: PLC0415
    from echoppe_accounts.adapters.sqlite import SQLiteStore  # noqa: PLC0415
    from echoppe_accounts.bootstrap import bootstrap  # noqa: PLC0415
    from echoppe_accounts.domain.errors import ValidationError  # noqa: PLC0415
    from echoppe_accounts.domain.sealing import unseal_mail  # noqa: PLC0415
    from echoppe_accounts.testing import FrozenClock  # noqa: PLC0415

    count = (rounds + 1) * BATCH
    with Sink(pipelining=pipelining) as sink:
        store = SQLiteStore(folder / f"outbox-{pipelining}.sqlite3")
        clock = FrozenClock()
        mailer = SMTPMailer("127.0.0.1", sink.port, security="plain", timeout=10)
        app = bootstrap(
            store.unit_of_work, mailer, settings(), clock=clock, hasher=cheap_hasher()
        )
        registered = 0
        for record in reversed(companies(2_000)):
            try:
                app.accounts.register(registration_form(record))
            except ValidationError:  # Faker's phone numbers are not all valid
                continue
            registered += 1
            if registered == count:
                break
        key = bytes(settings().outbox_key or b"")
        with store.unit_of_work() as tx:
            queued = [unseal_mail(m, key) for m in tx.outbox.due(clock.now(), count)]
        wire = [(mail.to, wire_bytes(mail)) for mail in queued]
        position = [0]

        def baseline() -> None:
            start = position[0]
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
                for to, data in wire[start : start + BATCH]:
                    smtp.sendmail(ENVELOPE_SENDER, [to], data)
            position[0] += BATCH

        def candidate() -> None:
            report = app.dispatcher.dispatch(limit=BATCH)
            if report.sent != BATCH:
                msg = f"the dispatcher sent {report.sent} mails of {BATCH}"
                raise RuntimeError(msg)

        result = paired(timed(baseline, BATCH), timed(candidate, BATCH), rounds=rounds)
        store.close()
    return result


def run(*, quick: bool = False) -> Row:
    """Row 6: outbox to loopback SMTP vs plain smtplib on one connection.

    Measured twice, against a sink announcing PIPELINING and against one
    that does not; the row is the lower of the two.
    """
    rounds = 5 if quick else ROUNDS
    with tempfile.TemporaryDirectory(prefix="echoppe-bench-") as tmp:
        results = {
            name: _measure(Path(tmp), pipelining=pipelining, rounds=rounds)
            for name, pipelining in (("pipelining", True), ("sequential", False))
        }
    throughputs = {name: 1 / result.ratio for name, result in results.items()}
    throughput = min(throughputs.values())
    return Row(
        name="outbox_smtp",
        title="outbox to a loopback SMTP server vs smtplib.sendmail of the same "
        "pre-built bytes, one connection a round, with and without PIPELINING",
        target="≥ 0.60",
        units="candidate mails/s / baseline mails/s (the lower of the two servers)",
        ratio=throughput,
        passed=at_least(0.60)(throughput),
        details={
            "note": NOTE,
            "mails_per_round": BATCH,
            **{
                name: {
                    "ratio": round(throughputs[name], 3),
                    "rounds": result.rounds,
                    "baseline_mails_per_s": round(1 / result.baseline, 1),
                    "candidate_mails_per_s": round(1 / result.candidate, 1),
                    "throughput_spread": [
                        round(1 / x, 3) for x in reversed(result.spread())
                    ],
                }
                for name, result in results.items()
            },
        },
    )
