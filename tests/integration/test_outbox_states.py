"""The outbox's states as a Hypothesis state machine, on every storage adapter.

A mail is pending until it is sent, dead or dropped; a dead letter can be
requeued (pending again) or purged. Claims hold pending mails for a lease;
only the holder of a claim renews it or marks the mail (SPEC O1). A model
written in a few lines follows every operation, and the adapter must agree
with it after each step: what is due, in which order, the stats and the
dead letters.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from builders import NOW, mail
from echoppe_accounts import InMemoryStore, OutboxStats, SQLiteStore

LEASE = timedelta(minutes=5)
RETRY = timedelta(minutes=30)
CLAIMANTS = st.sampled_from(["claim-a", "claim-b"])
MARKERS = st.sampled_from(["claim-a", "claim-b", None])


@attrs.define(eq=False)  # by identity: drawn in sets
class Modelled:
    """What the model knows of one mail."""

    id: str
    due_at: datetime
    state: str = "pending"  # pending, sent, dead, dropped
    claim_id: str | None = None
    claimed_until: datetime | None = None
    attempts: int = 0
    dead_at: datetime | None = None
    last_error: str | None = None

    def held_by(self, claim_id: str | None) -> bool:
        return self.state == "pending" and self.claim_id == claim_id


class OutboxStates(RuleBasedStateMachine):
    """Every outbox operation, checked against a model after each step."""

    def __init__(self, new_storage) -> None:
        super().__init__()
        self.uow = new_storage()
        self.now = NOW
        self.mails: list[Modelled] = []  # in queue order

    @initialize(count=st.integers(1, 4))
    def queue_some(self, count):
        for _ in range(count):
            self.queue()

    # -- operations ----------------------------------------------------------

    @rule()
    def queue(self):
        m = mail(f"{len(self.mails)}@exemple.fr", at=self.now)
        with self.uow() as tx:
            tx.outbox.add(m)
            tx.commit()
        self.mails.append(Modelled(m.id, self.now))

    @rule(minutes=st.integers(0, 90))
    def time_passes(self, minutes):
        self.now += timedelta(minutes=minutes)

    def _due(self) -> list[Modelled]:
        due = [m for m in self.mails if m.state == "pending" and m.due_at <= self.now]
        return sorted(due, key=lambda m: m.due_at)  # stable: queue order

    @rule(limit=st.integers(1, 5), claimant=MARKERS)
    def claim(self, limit, claimant):
        free = [
            m
            for m in self._due()
            if m.claimed_until is None or m.claimed_until <= self.now
        ][:limit]
        with self.uow() as tx:
            got = tx.outbox.claim(self.now, limit, self.now + LEASE, claim_id=claimant)
            tx.commit()
        assert [g.id for g in got] == [m.id for m in free]
        for m in free:
            m.claim_id, m.claimed_until = claimant, self.now + LEASE

    def _pick(self, data) -> Modelled:
        return data.draw(st.sampled_from(self.mails))

    @precondition(lambda self: self.mails)
    @rule(data=st.data(), claimant=CLAIMANTS)
    def renew(self, data, claimant):
        m = self._pick(data)
        expected = (
            m.held_by(claimant)
            and m.claimed_until is not None
            and m.claimed_until > self.now
        )
        with self.uow() as tx:
            renewed = tx.outbox.renew(
                m.id, claim_id=claimant, now=self.now, until=self.now + LEASE
            )
            tx.commit()
        assert renewed == expected
        if expected:
            m.claimed_until = self.now + LEASE

    @precondition(lambda self: self.mails)
    @rule(data=st.data(), claimant=CLAIMANTS)
    def release(self, data, claimant):
        chosen = data.draw(st.sets(st.sampled_from(self.mails), max_size=4))
        with self.uow() as tx:
            count = tx.outbox.release([m.id for m in chosen], claim_id=claimant)
            tx.commit()
        held = [m for m in chosen if m.held_by(claimant)]
        assert count == len(held)
        for m in held:
            m.claim_id = m.claimed_until = None

    @precondition(lambda self: self.mails)
    @rule(
        data=st.data(),
        claimant=MARKERS,
        outcome=st.sampled_from(["sent", "failed", "dead", "unread", "dropped"]),
    )
    def mark(self, data, claimant, outcome):
        m = self._pick(data)
        expected = m.held_by(claimant)
        with self.uow() as tx:
            outbox = tx.outbox
            if outcome == "sent":
                marked = outbox.mark_sent(m.id, self.now, claim_id=claimant)
            elif outcome == "failed":
                marked = outbox.mark_failed(
                    m.id, self.now + RETRY, "busy", claim_id=claimant
                )
            elif outcome == "dropped":
                marked = outbox.mark_dropped(
                    m.id, self.now, "expired", claim_id=claimant
                )
            else:
                marked = outbox.mark_dead(
                    m.id,
                    self.now,
                    outcome,
                    claim_id=claimant,
                    attempted=outcome == "dead",
                )
            tx.commit()
        assert marked == expected
        if not expected:
            return
        m.claim_id = m.claimed_until = None
        m.attempts += outcome in {"sent", "failed", "dead"}
        if outcome == "failed":
            m.due_at = self.now + RETRY
        elif outcome in {"dead", "unread"}:
            m.state, m.dead_at, m.last_error = "dead", self.now, outcome
        else:
            m.state = outcome

    @rule(data=st.data(), every=st.booleans())
    def requeue(self, data, every):
        chosen = None
        if not every and self.mails:
            chosen = data.draw(st.sets(st.sampled_from(self.mails), max_size=4))
        with self.uow() as tx:
            count = tx.outbox.requeue(
                None if chosen is None else [m.id for m in chosen], self.now
            )
            tx.commit()
        back = [
            m for m in (self.mails if chosen is None else chosen) if m.state == "dead"
        ]
        assert count == len(back)
        for m in back:
            m.state, m.dead_at, m.due_at = "pending", None, self.now
            m.claim_id = m.claimed_until = None

    @rule(minutes=st.none() | st.integers(0, 120))
    def purge(self, minutes):
        before = None if minutes is None else self.now - timedelta(minutes=minutes)
        with self.uow() as tx:
            count = tx.outbox.purge_dead(before)
            tx.commit()
        doomed = [
            m
            for m in self.mails
            if m.state == "dead"
            and (before is None or (m.dead_at is not None and m.dead_at < before))
        ]
        assert count == len(doomed)
        self.mails = [m for m in self.mails if m not in doomed]

    # -- what must always hold -------------------------------------------------

    @invariant()
    def storage_agrees_with_the_model(self):
        pending = [m for m in self.mails if m.state == "pending"]
        dead = [m for m in self.mails if m.state == "dead"]
        with self.uow() as tx:
            stats = tx.outbox.stats()
            due = tx.outbox.due(self.now, 1000)
            letters = tx.outbox.dead_letters(1000)
        assert stats == OutboxStats(
            len(pending), min((m.due_at for m in pending), default=None), len(dead)
        )
        assert [d.id for d in due] == [m.id for m in self._due()]
        assert {(d.id, d.attempts, d.last_error) for d in letters} == {
            (m.id, m.attempts, m.last_error) for m in dead
        }


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def new_storage(request, tmp_path):
    """Return a function making a fresh, empty storage for each example."""
    if request.param == "memory":
        return lambda: InMemoryStore().unit_of_work
    if request.param == "sqlite":
        return lambda: SQLiteStore(tmp_path / f"{uuid.uuid4()}.sqlite3").unit_of_work
    store = request.getfixturevalue("postgres_store")
    factory = request.getfixturevalue("postgres_uow_factory")

    def emptied():
        with store.pool.connection() as db:
            db.execute("DELETE FROM outbox")
        return factory

    return emptied


def test_the_outbox_follows_its_state_machine(new_storage):
    """O1: pending → sent | dead | dropped, dead → pending | purged, claims held."""
    run_state_machine_as_test(
        lambda: OutboxStates(new_storage),
        settings=settings(max_examples=25, stateful_step_count=30),
    )
