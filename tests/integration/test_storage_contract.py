"""The storage contract: one suite, run against every storage adapter.

Each adapter subclasses :class:`StorageContract` and says how to create a
unit-of-work factory; everything a use case relies on is checked here, so an
adapter that passes can be dropped in for another. Adapter-only behaviour
is tested in the adapter's own module.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from builders import NOW, account, mail, new_id
from echoppe_accounts import (
    AccountEvent,
    AccountStatus,
    AuditEvent,
    AuditRecord,
    Category,
    ConcurrencyError,
    ConsentSource,
    Credentials,
    DeadLetter,
    Email,
    EventType,
    InMemoryStore,
    MailKind,
    OutboxStats,
    Secret,
    SQLiteStore,
    TokenPurpose,
    TokenRecord,
    ValidationError,
)
from echoppe_accounts.domain.email import canonical_key
from echoppe_accounts.ports import UnitOfWorkFactory

HOUR = timedelta(hours=1)


def snapshot(a):
    """Return every stored field of an account, for comparison by value.

    Its pending effects are not stored state: the service applies them
    when it saves the account (links to end, counts to forget), and an
    account read back has none.
    """
    fields = attrs.asdict(a, recurse=True)
    del fields["_effects"]
    return fields


def token(account_id: str, purpose=TokenPurpose.SET_PASSWORD, secret="s3cret"):
    """Return a token record issued now for an hour."""
    return TokenRecord.issue(Secret(secret), purpose, account_id, now=NOW, ttl=HOUR)


class StorageContract:
    """What every storage adapter must do."""

    @pytest.fixture
    def uow(self, tmp_path: Path) -> UnitOfWorkFactory:
        """A fresh, empty storage."""
        return self.create_uow_factory(tmp_path)

    def create_uow_factory(self, tmp_path: Path) -> UnitOfWorkFactory:
        """Return a unit-of-work factory over a new, empty storage."""
        raise NotImplementedError

    def _store(self, uow, a):
        with uow() as tx:
            tx.accounts.add(a)
            tx.commit()

    # -- accounts ----------------------------------------------------------------

    def test_account_round_trip(self, uow):
        """An account comes back from storage exactly as it was stored."""
        a = account()
        a.subscribe(NOW, ConsentSource.SIGNUP_FORM, "v1")
        a.unsubscribe(NOW + HOUR, ConsentSource.ACCOUNT_PAGE)
        self._store(uow, a)
        with uow() as tx:
            loaded = tx.accounts.get(a.id)
        assert loaded is not None
        assert snapshot(loaded) == snapshot(a)
        assert loaded.collect_effects() == []  # effects are applied, not stored

    @pytest.mark.parametrize("category", list(Category))
    def test_every_category_round_trips(self, uow, category):
        """Organisation and Chorus Pro data survive storage for each category (C3)."""
        a = account(category=category)
        self._store(uow, a)
        with uow() as tx:
            assert snapshot(tx.accounts.get(a.id)) == snapshot(a)

    def test_unknown_account_is_none(self, uow):
        """Looking up an id or an email that is not stored gives None."""
        with uow() as tx:
            assert tx.accounts.get("nope") is None
            assert tx.accounts.get_by_email_key("nobody@exemple.fr") is None
            assert tx.accounts.count() == 0

    def test_found_by_canonical_email_key(self, uow):
        """An account is found by the canonical key of any spelling (F1)."""
        a = account("Jean.Dupont@Exemple.FR")
        self._store(uow, a)
        with uow() as tx:
            found = tx.accounts.get_by_email_key(
                Email.parse("jean.dupont@exemple.fr").key
            )
        assert found == a

    def test_credentials_are_what_a_login_reads(self, uow):
        """One row by email key: id, hash, status, stamp; None for nobody (P3)."""
        a = account("Jean.Dupont@Exemple.FR", status=AccountStatus.ACTIVE)
        self._store(uow, a)
        with uow() as tx:
            found = tx.accounts.credentials(Email.parse("jean.dupont@exemple.fr").key)
            assert tx.accounts.credentials("nobody@exemple.fr") is None
        assert found == Credentials(
            a.id, a.password_hash, AccountStatus.ACTIVE, a.session_stamp
        )
        assert not found.is_erased
        assert "argon2" not in repr(found)

    def test_email_key_is_unique(self, uow):
        """A second account with the same canonical email is refused (F1)."""
        self._store(uow, account("Jean.Dupont@Exemple.FR"))
        with pytest.raises(ValidationError) as info, uow() as tx:
            tx.accounts.add(account("jean.dupont@exemple.fr"))
            tx.commit()
        assert info.value.codes == {"email.taken"}
        with uow() as tx:
            assert tx.accounts.count() == 1

    def test_accounts_added_together_come_back(self, uow):
        """Several accounts added at once are stored, children included."""
        batch = [account(f"client{i}@exemple.fr") for i in range(3)]
        batch[1].subscribe(NOW, ConsentSource.IMPORT, "v1")
        with uow() as tx:
            tx.accounts.add(*batch)
            tx.commit()
        with uow() as tx:
            assert [snapshot(tx.accounts.get(a.id)) for a in batch] == [
                snapshot(a) for a in batch
            ]

    @pytest.mark.parametrize("clash", ["stored", "in the batch"])
    def test_a_batch_with_a_taken_key_adds_nothing(self, uow, clash):
        """One taken key refuses the whole batch; the transaction goes on (F1)."""
        self._store(uow, account("pris@exemple.fr"))
        fresh = account("libre@exemple.fr")
        other = account("PRIS@exemple.fr" if clash == "stored" else "Libre@exemple.fr")
        with uow() as tx:
            with pytest.raises(ValidationError) as info:
                tx.accounts.add(fresh, other)
            assert info.value.codes == {"email.taken"}
            assert tx.accounts.get(fresh.id) is None
            tx.accounts.add(fresh)  # still usable
            tx.commit()
        with uow() as tx:
            assert tx.accounts.count() == 2
            assert tx.accounts.get(other.id) is None

    def test_taken_email_keys_in_one_look_up(self, uow):
        """The keys an account holds, committed or added in this transaction."""
        self._store(uow, account("pris@exemple.fr"))
        key = Email.parse("nouveau@exemple.fr").key
        with uow() as tx:
            assert tx.accounts.taken_email_keys([]) == set()
            tx.accounts.add(account("nouveau@exemple.fr"))
            keys = [Email.parse(e).key for e in ("pris@exemple.fr", "x@exemple.fr")]
            assert tx.accounts.taken_email_keys([*keys, key, key]) == {keys[0], key}
            many = [f"k{i}@exemple.fr" for i in range(1_200)]
            assert tx.accounts.taken_email_keys([*many, keys[0]]) == {keys[0]}

    def test_credentials_by_email_keys_in_one_look_up(self, uow):
        """M1, X5: each held key's credentials, as credentials() reads them.

        Committed or added in this transaction, whatever the status; the
        keys nobody holds are left out.
        """
        active = account("pris@exemple.fr")
        unverified = account("inscrit@exemple.fr", status=AccountStatus.UNVERIFIED)
        self._store(uow, active)
        self._store(uow, unverified)
        added = account("nouveau@exemple.fr")
        with uow() as tx:
            found = tx.accounts.credentials_by_email_keys
            assert found([]) == {}
            tx.accounts.add(added)
            keys = [a.email.key for a in (active, unverified, added)]
            free = Email.parse("libre@exemple.fr").key
            many = [f"k{i}@exemple.fr" for i in range(1_200)]  # SQLite's chunks
            held = found([*many, free, *keys, keys[0]])
            assert held == {key: tx.accounts.credentials(key) for key in keys}
        assert held[unverified.email.key].status is AccountStatus.UNVERIFIED
        assert held[added.email.key].account_id == added.id

    def test_audit_records_appended_together_keep_their_order(self, uow):
        """Records added at once come back in the order given."""
        records = [
            AuditRecord(
                new_id(), NOW, AuditEvent.ACCOUNT_REGISTERED, "acc-1", "system", {}
            )
            for _ in range(3)
        ]
        with uow() as tx:
            tx.audit.add(*records)
            tx.commit()
        with uow() as tx:
            assert tx.audit.for_account("acc-1") == records

    def test_save_persists_changes_and_bumps_version(self, uow):
        """Saved changes are visible to the next transaction."""
        a = account()
        self._store(uow, a)
        with uow() as tx:
            loaded = tx.accounts.get(a.id)
            loaded.addresses.remove_delivery(loaded.addresses.deliveries[0].id)
            loaded.name = "Claire Dupont"
            tx.accounts.save(loaded)
            tx.commit()
        with uow() as tx:
            again = tx.accounts.get(a.id)
        assert again.name == "Claire Dupont"
        assert len(again.addresses.deliveries) == 1
        assert again.version == a.version + 1

    def test_stale_save_is_refused(self, uow):
        """Saving a copy read before another save raises, losing no update."""
        a = account()
        self._store(uow, a)
        with uow() as tx:
            first = tx.accounts.get(a.id)
        with uow() as tx:
            second = tx.accounts.get(a.id)
            second.name = "Second Writer"
            tx.accounts.save(second)
            tx.commit()
        first.name = "First Writer"
        with pytest.raises(ConcurrencyError), uow() as tx:
            tx.accounts.save(first)
        with uow() as tx:
            assert tx.accounts.get(a.id).name == "Second Writer"

    def test_changing_email_to_a_taken_one_is_refused(self, uow):
        """Uniqueness holds on update too (F1)."""
        a, b = account("a@exemple.fr"), account("b@exemple.fr")
        self._store(uow, a)
        self._store(uow, b)
        with uow() as tx:
            loaded = tx.accounts.get(b.id)
            loaded.email = Email.parse("A@exemple.fr")
            with pytest.raises(ValidationError):
                tx.accounts.save(loaded)

    def test_uncommitted_changes_are_discarded(self, uow):
        """Leaving a unit of work without commit stores nothing."""
        a = account()
        with uow() as tx:
            tx.accounts.add(a)
            tx.tokens.add(token(a.id))
            tx.outbox.add(mail())
        with uow() as tx:
            assert tx.accounts.count() == 0
            assert tx.outbox.due(NOW, 10) == []

    def test_exception_rolls_back(self, uow):
        """An exception inside a unit of work leaves storage as it was."""
        a = account()
        self._store(uow, a)

        class BoomError(Exception):
            pass

        with pytest.raises(BoomError), uow() as tx:
            loaded = tx.accounts.get(a.id)
            loaded.name = "Changed"
            tx.accounts.save(loaded)
            tx.outbox.add(mail())
            raise BoomError
        with uow() as tx:
            assert tx.accounts.get(a.id).name == a.name
            assert tx.outbox.pending_count() == 0

    @pytest.mark.parametrize("durable", [True, False])
    def test_commit_of_either_durability_is_kept_and_alone(self, uow, durable):
        """A commit that need not wait for the disk is still a commit.

        What it wrote is seen by the next unit of work, what was not
        committed is not, and the durability of one unit of work does not
        carry over to the next (the library relaxes it for logins only).
        """
        kept, dropped = account("kept@exemple.fr"), account("dropped@exemple.fr")
        with uow(durable=durable) as tx:
            tx.accounts.add(kept)
            tx.commit()
            tx.accounts.add(dropped)
        with uow() as tx:
            assert tx.accounts.get(kept.id) == kept
            assert tx.accounts.get(dropped.id) is None

    def test_handed_out_accounts_are_copies(self, uow):
        """Changing a loaded account without saving it changes nothing stored."""
        a = account()
        self._store(uow, a)
        with uow() as tx:
            tx.accounts.get(a.id).name = "Not saved"
            tx.commit()
        with uow() as tx:
            assert tx.accounts.get(a.id).name == a.name

    # -- tokens ------------------------------------------------------------------

    def _with_token(self, uow, record):
        a = account()
        self._store(uow, a)
        record = attrs.evolve(record, account_id=a.id)
        with uow() as tx:
            tx.tokens.add(record)
            tx.commit()
        return record

    def test_token_is_consumed_once(self, uow):
        """A token is consumed once; the second attempt gets nothing (R8)."""
        record = self._with_token(uow, token("x"))
        with uow() as tx:
            used = tx.tokens.consume(record.digest, record.purpose, NOW)
            tx.commit()
        assert used is not None
        assert used.used_at == NOW
        with uow() as tx:
            assert tx.tokens.consume(record.digest, record.purpose, NOW) is None
            assert tx.tokens.find(record.digest).used_at == NOW

    def test_token_is_bound_to_its_purpose(self, uow):
        """A token is refused for another purpose, and stays usable (R2)."""
        record = self._with_token(uow, token("x"))
        with uow() as tx:
            assert (
                tx.tokens.consume(record.digest, TokenPurpose.RESET_CONFIRM, NOW)
                is None
            )
            assert tx.tokens.find(record.digest).is_usable(NOW)

    def test_token_expires(self, uow):
        """A token is usable a second before its expiry and not at it (R2)."""
        record = self._with_token(uow, token("x"))
        with uow() as tx:
            assert tx.tokens.consume(record.digest, record.purpose, NOW + HOUR) is None
            ok = tx.tokens.consume(
                record.digest, record.purpose, NOW + HOUR - timedelta(seconds=1)
            )
            assert ok is not None

    def test_revoke_kills_pending_tokens_of_the_purposes(self, uow):
        """Revocation kills usable tokens of the named purposes only (R8)."""
        record = self._with_token(uow, token("x"))
        other = attrs.evolve(
            token(record.account_id, TokenPurpose.RESET_CONFIRM, "other"),
        )
        with uow() as tx:
            tx.tokens.add(other)
            assert (
                tx.tokens.revoke(record.account_id, [TokenPurpose.SET_PASSWORD], NOW)
                == 1
            )
            tx.commit()
        with uow() as tx:
            assert tx.tokens.consume(record.digest, record.purpose, NOW) is None
            assert tx.tokens.find(other.digest).is_usable(NOW)
            assert (
                tx.tokens.revoke(record.account_id, [TokenPurpose.SET_PASSWORD], NOW)
                == 0
            )
            listed = tx.tokens.for_account(record.account_id)
        assert {r.digest for r in listed} == {record.digest, other.digest}

    def test_unknown_token(self, uow):
        """An unknown digest is neither found nor consumed."""
        with uow() as tx:
            assert tx.tokens.find("0" * 64) is None
            assert tx.tokens.consume("0" * 64, TokenPurpose.SET_PASSWORD, NOW) is None

    def test_concurrent_consumption_succeeds_once(self, uow):
        """Twenty threads consuming one token: exactly one gets it (R8)."""
        record = self._with_token(uow, token("x"))
        barrier = threading.Barrier(20)
        results: list[bool] = []
        lock = threading.Lock()

        def worker():
            barrier.wait()
            with uow() as tx:
                got = tx.tokens.consume(record.digest, record.purpose, NOW)
                tx.commit()
            with lock:
                results.append(got is not None)

        threads = [threading.Thread(target=worker) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [False] * 19 + [True]

    def test_purge_deletes_the_dead_tokens_of_the_purposes_only(self, uow):
        """P4: used, revoked and expired device tokens go; the rest stays."""
        a = account()
        self._store(uow, a)
        device = TokenPurpose.DEVICE

        def issue(secret, purpose=device, ttl=HOUR):
            return TokenRecord.issue(Secret(secret), purpose, a.id, now=NOW, ttl=ttl)

        live, used, expired = (
            issue("live", ttl=48 * HOUR),
            issue("used", ttl=48 * HOUR),
            issue("expired"),
        )
        revoked = attrs.evolve(issue("revoked", ttl=48 * HOUR), revoked_at=NOW)
        spent_link = issue("link", TokenPurpose.RESET_CONFIRM)
        with uow() as tx:
            for record in (live, used, revoked, expired, spent_link):
                tx.tokens.add(record)
            tx.tokens.consume(used.digest, device, NOW)
            tx.tokens.consume(spent_link.digest, TokenPurpose.RESET_CONFIRM, NOW)
            tx.commit()
        with uow() as tx:
            assert tx.tokens.purge(a.id, [device], NOW + 2 * HOUR) == 3
            assert tx.tokens.purge("another account", [device], NOW + 2 * HOUR) == 0
            tx.commit()
        with uow() as tx:
            left = {r.digest for r in tx.tokens.for_account(a.id)}
        assert left == {live.digest, spent_link.digest}

    def test_purge_is_undone_with_its_transaction(self, uow):
        """P4: an uncommitted purge deletes nothing."""
        record = self._with_token(uow, token("x", TokenPurpose.DEVICE))
        with uow() as tx:
            tx.tokens.consume(record.digest, TokenPurpose.DEVICE, NOW)
            tx.commit()
        with uow() as tx:
            assert tx.tokens.purge(record.account_id, [TokenPurpose.DEVICE], NOW) == 1
        with uow() as tx:
            assert tx.tokens.find(record.digest) is not None

    def test_lock_tells_whether_the_account_exists(self, uow):
        """F10: lock answers True for a stored account, False for none."""
        a = account()
        self._store(uow, a)
        with uow() as tx:
            assert tx.accounts.lock(a.id) is True
            assert tx.accounts.lock("nope") is False
            loaded = tx.accounts.get(a.id)
            loaded.name = "Claire Locked"
            tx.accounts.save(loaded)  # the lock's holder may write the account
            tx.commit()
        with uow() as tx:
            assert tx.accounts.get(a.id).name == "Claire Locked"

    def test_lock_makes_a_second_transaction_wait(self, uow):
        """F10: a transaction locking a locked account waits for its holder's end."""
        a = account()
        self._store(uow, a)
        held = threading.Event()
        order: list[str] = []

        def second() -> None:
            held.wait(30)
            with uow() as tx:
                tx.accounts.lock(a.id)
                order.append("second")
                tx.commit()

        thread = threading.Thread(target=second)
        thread.start()
        with uow() as tx:
            tx.accounts.lock(a.id)
            held.set()
            thread.join(0.3)  # room for the second to get ahead, if it could
            order.append("first")
            tx.commit()
        thread.join(30)
        assert order == ["first", "second"]

    # -- outbox ------------------------------------------------------------------

    def test_outbox_due_sent_and_retried(self, uow):
        """Mails are due when queued, leave when sent, come back when retried."""
        first, second = mail(), mail(to="b@exemple.fr")
        with uow() as tx:
            tx.outbox.add(first)
            tx.outbox.add(second)
            tx.commit()
        with uow() as tx:
            assert {m.id for m in tx.outbox.due(NOW, 10)} == {first.id, second.id}
            assert len(tx.outbox.due(NOW, 1)) == 1
            assert tx.outbox.due(NOW - timedelta(seconds=1), 10) == []
            tx.outbox.mark_sent(first.id, NOW)
            tx.outbox.mark_failed(second.id, NOW + HOUR, "server down")
            tx.commit()
        with uow() as tx:
            assert tx.outbox.due(NOW, 10) == []
            assert [m.id for m in tx.outbox.due(NOW + HOUR, 10)] == [second.id]
            assert tx.outbox.pending_count() == 1

    def test_claimed_mails_are_not_handed_out_twice(self, uow):
        """A claim holds mails from other dispatchers until it lapses."""
        mails = [mail(to=f"{i}@exemple.fr") for i in range(3)]
        with uow() as tx:
            for m in mails:
                tx.outbox.add(m)
            tx.commit()
        with uow() as tx:
            first = tx.outbox.claim(NOW, 2, NOW + HOUR)
            tx.commit()
        with uow() as tx:
            second = tx.outbox.claim(NOW, 10, NOW + HOUR)
            tx.commit()
        assert len(first) == 2
        assert {m.id for m in first} | {m.id for m in second} == {m.id for m in mails}
        assert not {m.id for m in first} & {m.id for m in second}
        with uow() as tx:
            assert tx.outbox.claim(NOW, 10, NOW + HOUR) == []
            tx.outbox.mark_failed(first[0].id, NOW, "refused")
            tx.commit()
        with uow() as tx:
            assert [m.id for m in tx.outbox.claim(NOW, 10, NOW + HOUR)] == [first[0].id]
            tx.commit()
        with uow() as tx:  # a lapsed claim (a crashed dispatcher) comes back
            lapsed = tx.outbox.claim(NOW + HOUR, 10, NOW + 2 * HOUR)
        assert {m.id for m in lapsed} == {m.id for m in mails}

    def test_mails_come_out_in_due_order(self, uow):
        """A mail pushed back by a failure comes after mails due before it."""
        first, second = mail(), mail(to="b@exemple.fr")
        with uow() as tx:
            tx.outbox.add(first)
            tx.outbox.add(second)
            tx.commit()
        with uow() as tx:
            tx.outbox.mark_failed(first.id, NOW + HOUR, "busy")
            tx.commit()
        later = NOW + 2 * HOUR
        with uow() as tx:
            assert [m.id for m in tx.outbox.due(later, 10)] == [second.id, first.id]
            claimed = tx.outbox.claim(later, 10, later + HOUR)
        assert [m.id for m in claimed] == [second.id, first.id]

    def test_outbox_keeps_the_mail_intact(self, uow):
        """A queued mail comes back with its exact content."""
        m = mail()
        with uow() as tx:
            tx.outbox.add(m)
            tx.commit()
        with uow() as tx:
            (back,) = tx.outbox.due(NOW, 10)
        assert attrs.asdict(back) == attrs.asdict(m)

    def test_outbox_keeps_who_the_mail_concerns(self, uow):
        """A mail's account id and recipient key come back as queued (G3)."""
        about = attrs.evolve(mail(), account_id="acc-1")
        unkeyed = attrs.evolve(mail(to="b@exemple.fr"), recipient_key=None)
        with uow() as tx:
            tx.outbox.add(about)
            tx.outbox.add(unkeyed)
            tx.commit()
        with uow() as tx:
            back = {m.id: m for m in tx.outbox.due(NOW, 10)}
        assert back[about.id] == about
        assert back[about.id].recipient_key == "claire.martin@exemple.fr"
        assert back[unkeyed.id] == unkeyed

    # -- erasure (SPEC G3) ---------------------------------------------------------

    def _queue(self, uow, *mails):
        with uow() as tx:
            for m in mails:
                tx.outbox.add(m)
            tx.commit()

    def _left(self, uow):
        """Return the ids of the mails still stored, sent or not."""
        with uow() as tx:
            left = {m.id for m in tx.outbox.due(NOW + 1000 * HOUR, 1000)}
            tx.commit()
        return left

    def test_forget_deletes_every_mail_of_the_account_and_no_other(self, uow):
        """G3: mails about the account go, to any address, sent or not; others stay."""
        former = attrs.evolve(mail("ancienne@exemple.fr"), account_id="acc-1")
        current = attrs.evolve(mail("nouvelle@exemple.fr"), account_id="acc-1")
        sent = attrs.evolve(mail("nouvelle@exemple.fr"), account_id="acc-1")
        others = attrs.evolve(mail("voisin@exemple.fr"), account_id="acc-2")
        self._queue(uow, former, current, sent, others)
        with uow() as tx:
            tx.outbox.mark_sent(sent.id, NOW)
            tx.commit()
        with uow() as tx:
            assert tx.outbox.forget(account_id="acc-1", email_keys=()) == 3
            tx.commit()
        assert self._left(uow) == {others.id}
        with uow() as tx:
            assert tx.outbox.forget(account_id="acc-1", email_keys=()) == 0
            assert tx.outbox.pending_count() == 1

    def test_forget_deletes_mails_to_the_keys_in_any_spelling(self, uow):
        """G3: mails to the address before the account existed go, by canonical key."""
        before = mail("Claire.Martin@Exemple.FR")  # a reset with no account yet
        eszett = mail("info@straße.de")
        sent = mail("claire.martin@exemple.fr")
        double_s = mail("info@strasse.de")  # another customer's domain
        other = attrs.evolve(mail("claire.martin@exemple.fr"), account_id="acc-2")
        self._queue(uow, before, eszett, sent, double_s)
        with uow() as tx:
            tx.outbox.mark_sent(sent.id, NOW)
            tx.commit()
        keys = {canonical_key("claire.martin@exemple.fr"), "info@xn--strae-oqa.de"}
        with uow() as tx:
            assert tx.outbox.forget(account_id="acc-1", email_keys=keys) == 3
            tx.commit()
        assert self._left(uow) == {double_s.id}
        self._queue(uow, other)
        with uow() as tx:  # the key reaches a mail of any account
            assert tx.outbox.forget(account_id="acc-1", email_keys=keys) == 1

    def test_forget_reaches_mails_queued_in_its_transaction(self, uow):
        """G3: a mail queued, then forgotten in one transaction, is never stored."""
        kept = mail("voisin@exemple.fr")
        with uow() as tx:
            tx.outbox.add(attrs.evolve(mail(), account_id="acc-1"))
            tx.outbox.add(kept)
            assert tx.outbox.forget(account_id="acc-1", email_keys=()) == 1
            tx.commit()
        assert self._left(uow) == {kept.id}

    def test_forgetting_is_rolled_back_with_its_transaction(self, uow):
        """Without commit, forgotten mails stay."""
        m = attrs.evolve(mail(), account_id="acc-1")
        self._queue(uow, m)
        with uow() as tx:
            tx.outbox.forget(account_id="acc-1", email_keys=())
        assert self._left(uow) == {m.id}

    # -- outbox: claims, dead letters, dropped mails (SPEC O1) -------------------

    def _claimed(self, uow, claim_id, *mails, until=NOW + HOUR):
        """Queue *mails* and claim them under *claim_id*; return their ids."""
        self._queue(uow, *mails)
        with uow() as tx:
            held = tx.outbox.claim(NOW, 100, until, claim_id=claim_id)
            tx.commit()
        return [m.id for m in held]

    def test_only_the_claim_holder_marks_a_mail(self, uow):
        """O1: a mark under another claim, or under none, changes nothing."""
        (held,) = self._claimed(uow, "claim-a", mail())
        with uow() as tx:
            assert not tx.outbox.mark_sent(held, NOW, claim_id="claim-b")
            assert not tx.outbox.mark_sent(held, NOW)
            assert not tx.outbox.mark_failed(held, NOW, "x", claim_id="claim-b")
            assert not tx.outbox.mark_dead(held, NOW, "x", claim_id="claim-b")
            assert not tx.outbox.mark_dropped(held, NOW, "x", claim_id="claim-b")
            assert tx.outbox.pending_count() == 1
            assert tx.outbox.mark_sent(held, NOW, claim_id="claim-a")
            assert not tx.outbox.mark_sent(held, NOW, claim_id="claim-a")
            tx.commit()
        with uow() as tx:
            assert tx.outbox.pending_count() == 0

    def test_a_renewed_claim_holds_and_a_lapsed_one_is_lost(self, uow):
        """O1: renewing extends the lease; once lapsed and taken, the claim is gone."""
        (held,) = self._claimed(uow, "claim-a", mail())
        later = NOW + 30 * timedelta(minutes=1)
        with uow() as tx:
            assert tx.outbox.renew(
                held, claim_id="claim-a", now=later, until=later + HOUR
            )
            assert not tx.outbox.renew(
                held, claim_id="claim-b", now=later, until=later + HOUR
            )
            tx.commit()
        with uow() as tx:  # the renewed lease still holds after the first one
            assert tx.outbox.claim(NOW + HOUR, 10, NOW + 3 * HOUR) == []
            tx.commit()
        lapsed = later + HOUR
        with uow() as tx:
            assert not tx.outbox.renew(
                held, claim_id="claim-a", now=lapsed, until=lapsed + HOUR
            )
            taken = tx.outbox.claim(lapsed, 10, lapsed + HOUR, claim_id="claim-b")
            tx.commit()
        assert [m.id for m in taken] == [held]
        with uow() as tx:
            assert not tx.outbox.mark_sent(held, lapsed, claim_id="claim-a")
            assert tx.outbox.mark_sent(held, lapsed, claim_id="claim-b")
            tx.commit()

    def test_a_claim_is_checked_without_a_write(self, uow):
        """O1: holds() answers as renew() would while the claim runs; no write."""
        (held,) = self._claimed(uow, "claim-a", mail())
        later = NOW + 30 * timedelta(minutes=1)
        with uow() as tx:
            assert tx.outbox.holds(held, claim_id="claim-a", now=later)
            assert not tx.outbox.holds(held, claim_id="claim-b", now=later)
            assert not tx.outbox.holds("no-such-mail", claim_id="claim-a", now=later)
            assert not tx.outbox.holds(held, claim_id="claim-a", now=NOW + 2 * HOUR)
        with uow() as tx:  # nothing was extended: the lease lapses as claimed
            taken = tx.outbox.claim(NOW + 2 * HOUR, 10, NOW + 3 * HOUR, claim_id="b")
            tx.commit()
        assert [m.id for m in taken] == [held]
        with uow() as tx:
            assert not tx.outbox.holds(held, claim_id="claim-a", now=NOW + 2 * HOUR)
            assert tx.outbox.holds(held, claim_id="b", now=NOW + 2 * HOUR)
            assert tx.outbox.mark_sent(held, NOW + 2 * HOUR, claim_id="b")
            assert not tx.outbox.holds(held, claim_id="b", now=NOW + 2 * HOUR)
            tx.commit()

    def test_released_mails_are_due_again_with_no_attempt_counted(self, uow):
        """O3: released claims go back at once; the release counts no attempt."""
        ids = self._claimed(uow, "claim-a", mail(), mail(to="b@exemple.fr"))
        with uow() as tx:
            assert tx.outbox.release(ids, claim_id="claim-b") == 0
            assert tx.outbox.release(ids, claim_id="claim-a") == 2
            tx.commit()
        with uow() as tx:
            again = tx.outbox.claim(NOW, 10, NOW + HOUR, claim_id="claim-c")
            assert [m.id for m in again] == ids
            for mail_id in ids:
                assert tx.outbox.mark_dead(mail_id, NOW, "refused", claim_id="claim-c")
            tx.commit()
        with uow() as tx:
            assert {d.attempts for d in tx.outbox.dead_letters(10)} == {1}

    def test_dead_letters_are_listed_latest_first(self, uow):
        """O1: dead letters leave the pending mails and are listed without body."""
        first, second, alive = mail(), mail(to="b@exemple.fr"), mail(to="c@exemple.fr")
        self._queue(uow, first, second, alive)
        with uow() as tx:
            assert tx.outbox.mark_dead(first.id, NOW, "550 5.1.1")
            assert tx.outbox.mark_dead(
                second.id, NOW + HOUR, "unreadable", attempted=False
            )
            assert not tx.outbox.mark_dead(first.id, NOW, "again")
            tx.commit()
        with uow() as tx:
            assert tx.outbox.stats() == OutboxStats(pending=1, oldest_due=NOW, dead=2)
            assert tx.outbox.pending_count() == 1
            assert [m.id for m in tx.outbox.due(NOW, 10)] == [alive.id]
            assert tx.outbox.claim(NOW, 10, NOW + HOUR, claim_id="c") == [alive]
            letters = tx.outbox.dead_letters(10)
            assert [d.id for d in tx.outbox.dead_letters(1)] == [second.id]
        assert letters == [
            DeadLetter(
                id=second.id,
                kind=MailKind.WELCOME,
                to="b@exemple.fr",
                attempts=0,
                last_error="unreadable",
                dead_at=NOW + HOUR,
                created_at=NOW,
            ),
            DeadLetter(
                id=first.id,
                kind=MailKind.WELCOME,
                to="claire.martin@exemple.fr",
                attempts=1,
                last_error="550 5.1.1",
                dead_at=NOW,
                created_at=NOW,
            ),
        ]

    def test_requeued_dead_letters_come_back_intact_with_a_fresh_window(self, uow):
        """O1: requeue makes a dead letter pending, due now, its body kept."""
        first, second = mail(), mail(to="b@exemple.fr")
        self._queue(uow, first, second)
        with uow() as tx:
            tx.outbox.mark_dead(first.id, NOW, "refused")
            tx.outbox.mark_dead(second.id, NOW, "refused")
            tx.commit()
        later = NOW + 5 * HOUR
        with uow() as tx:
            assert tx.outbox.requeue([first.id, "unknown"], later) == 1
            assert tx.outbox.requeue([first.id], later) == 0  # no longer dead
            tx.commit()
        with uow() as tx:
            assert tx.outbox.due(later - HOUR, 10) == []  # due at the requeue
            (back,) = tx.outbox.due(later, 10)
            assert tx.outbox.stats() == OutboxStats(1, later, 1)
            assert tx.outbox.requeue(None, later) == 1
            tx.commit()
        assert back == attrs.evolve(first, requeued_at=later)
        assert back.retry_from == later
        with uow() as tx:
            assert tx.outbox.stats() == OutboxStats(2, later, 0)

    def test_purge_deletes_dead_letters_only(self, uow):
        """O1: purge deletes the dead letters older than a date, or all of them."""
        old, recent, alive = mail(), mail(to="b@exemple.fr"), mail(to="c@exemple.fr")
        self._queue(uow, old, recent, alive)
        with uow() as tx:
            tx.outbox.mark_dead(old.id, NOW, "refused")
            tx.outbox.mark_dead(recent.id, NOW + 2 * HOUR, "refused")
            tx.commit()
        with uow() as tx:
            assert tx.outbox.purge_dead(NOW + HOUR) == 1
            tx.commit()
        with uow() as tx:
            assert [d.id for d in tx.outbox.dead_letters(10)] == [recent.id]
            assert tx.outbox.purge_dead(None) == 1
            tx.commit()
        assert self._left(uow) == {alive.id}
        with uow() as tx:
            assert tx.outbox.stats() == OutboxStats(1, NOW, 0)

    def test_dropped_mails_are_wiped_and_gone_for_good(self, uow):
        """O1, O2: a dropped mail is neither pending nor dead, and keeps no body."""
        m = attrs.evolve(mail(), expires_at=NOW + HOUR)
        self._queue(uow, m)
        with uow() as tx:
            assert tx.outbox.mark_dropped(m.id, NOW + 2 * HOUR, "expired")
            assert not tx.outbox.mark_sent(m.id, NOW)
            tx.commit()
        with uow() as tx:
            assert tx.outbox.stats() == OutboxStats(0, None, 0)
            assert tx.outbox.due(NOW + 1000 * HOUR, 10) == []
            assert tx.outbox.requeue(None, NOW) == 0
            assert tx.outbox.dead_letters(10) == []

    def test_expiry_and_requeue_times_round_trip(self, uow):
        """O1: a mail's secret expiry and requeue time come back as queued."""
        m = attrs.evolve(mail(), expires_at=NOW + HOUR, requeued_at=NOW)
        self._queue(uow, m)
        with uow() as tx:
            (back,) = tx.outbox.due(NOW, 10)
        assert back == m
        assert back.has_expired(NOW + HOUR)
        assert not back.has_expired(NOW)

    def test_outbox_marks_are_rolled_back_with_their_transaction(self, uow):
        """Without commit, claims, renewals, marks and requeues change nothing."""
        first, second = mail(), mail(to="b@exemple.fr")
        (held,) = self._claimed(uow, "claim-a", first)
        self._queue(uow, second)
        with uow() as tx:
            tx.outbox.mark_dead(second.id, NOW, "refused")
            tx.commit()
        with uow() as tx:
            tx.outbox.renew(held, claim_id="claim-a", now=NOW, until=NOW + 9 * HOUR)
            tx.outbox.mark_sent(held, NOW, claim_id="claim-a")
            tx.outbox.requeue(None, NOW)
            tx.outbox.purge_dead(None)
        with uow() as tx:
            assert tx.outbox.stats() == OutboxStats(1, NOW, 1)
            assert not tx.outbox.renew(
                held, claim_id="claim-a", now=NOW + 2 * HOUR, until=NOW + 3 * HOUR
            )

    def _audit(self, uow, account_id, **details):
        record = AuditRecord(
            new_id(),
            NOW,
            AuditEvent.PROVISIONAL_PASSWORD_ISSUED,
            account_id,
            "agent:007",
            details,
        )
        with uow() as tx:
            tx.audit.add(record)
            tx.commit()
        return record

    def test_redact_removes_only_the_named_details_of_only_that_account(self, uow):
        """G3: staff free text about the customer goes; the records stay."""
        first = self._audit(uow, "acc-1", reason="Mme Martin, 06 12 34 56 78", x="1")
        second = self._audit(uow, "acc-1", request_id="r-1")
        neighbour = self._audit(uow, "acc-2", reason="M. Voisin")
        with uow() as tx:
            assert tx.audit.redact("acc-1", ["reason", "absent"]) == 1
            tx.commit()
        with uow() as tx:
            mine = tx.audit.for_account("acc-1")
            theirs = tx.audit.for_account("acc-2")
            assert tx.audit.redact("acc-1", ["reason"]) == 0
        assert [r.id for r in mine] == [first.id, second.id]
        assert [dict(r.details) for r in mine] == [{"x": "1"}, {"request_id": "r-1"}]
        assert (mine[0].event, mine[0].actor, mine[0].at) == (
            first.event,
            first.actor,
            first.at,
        )
        assert theirs == [neighbour]

    def test_redaction_is_seen_in_its_transaction_and_reaches_new_records(self, uow):
        """G3: a record added in the redacting transaction is redacted too."""
        self._audit(uow, "acc-1", reason="typed by an agent")
        with uow() as tx:
            tx.audit.add(
                AuditRecord(
                    new_id(),
                    NOW,
                    AuditEvent.ACCOUNT_ERASED,
                    "acc-1",
                    "x",
                    {"reason": "y"},
                )
            )
            assert tx.audit.redact("acc-1", {"reason"}) == 2
            assert all("reason" not in r.details for r in tx.audit.for_account("acc-1"))
            tx.commit()
        with uow() as tx:
            assert [dict(r.details) for r in tx.audit.for_account("acc-1")] == [{}, {}]

    def test_redaction_is_rolled_back_with_its_transaction(self, uow):
        """Without commit, the details stay."""
        record = self._audit(uow, "acc-1", reason="typed by an agent")
        with uow() as tx:
            tx.audit.redact("acc-1", ["reason"])
        with uow() as tx:
            assert tx.audit.for_account("acc-1") == [record]

    # -- session stamps and pending email changes (SPEC P6, F10) ------------------

    def test_session_stamp_and_pending_email_round_trip(self, uow):
        """P6, F10: the stamp and a pending address are stored and read back."""
        a = account("claire@exemple.fr")
        a.session_stamp = "stamp-1"
        a.pending_email = Email.parse("Claire.Neuve@Exemple.fr")
        a.pending_email_at = NOW
        with uow() as tx:
            tx.accounts.add(a)
            tx.commit()
        with uow() as tx:
            stored = tx.accounts.get(a.id)
        assert stored.session_stamp == "stamp-1"
        assert stored.pending_email == Email.parse("Claire.Neuve@Exemple.fr")
        assert stored.pending_email_at == NOW

    # -- account events (SPEC O5) ----------------------------------------------

    def _event(self, n: int, account_id: str = "acc-1") -> AccountEvent:
        return AccountEvent(
            f"ev-{n}", EventType.PASSWORD_CHANGED, account_id, NOW, {"n": str(n)}
        )

    def test_events_are_read_in_order_after_a_position(self, uow):
        """O5: events come back in the order they were committed, from a position."""
        for n in range(5):
            with uow() as tx:
                tx.events.add(self._event(n))
                assert tx.events.written
                tx.commit()
        with uow() as tx:
            page = tx.events.after(0, 3)
            assert [e.id for _, e in page] == ["ev-0", "ev-1", "ev-2"]
            rest = tx.events.after(page[-1][0], 10)
        assert [e.id for _, e in rest] == ["ev-3", "ev-4"]
        assert rest[0][1].data == {"n": "3"}
        positions = [p for p, _ in page + rest]
        assert positions == sorted(positions)

    def test_events_of_a_rolled_back_transaction_do_not_exist(self, uow):
        """O5: an event is stored only with the change it reports."""
        with uow() as tx:
            tx.events.add(self._event(1))
        with uow() as tx:
            assert not tx.events.written
            assert tx.events.after(0, 10) == []

    def test_handler_positions_start_at_zero_and_advance(self, uow):
        """O5: each handler keeps its own position, committed with the transaction."""
        with uow() as tx:
            tx.events.add(self._event(1))
            tx.events.add(self._event(2))
            tx.commit()
        with uow() as tx:
            assert tx.events.position("crm") == 0
            first = tx.events.after(0, 1)[0][0]
            tx.events.advance("crm", first)
        with uow() as tx:
            assert tx.events.position("crm") == 0  # not committed
            tx.events.advance("crm", first)
            tx.commit()
        with uow() as tx:
            assert tx.events.position("crm") == first
            assert tx.events.position("etl") == 0
            assert [e.id for _, e in tx.events.after(first, 10)] == ["ev-2"]


class TestInMemoryStorage(StorageContract):
    """The contract, on the in-memory adapter."""

    def create_uow_factory(self, tmp_path: Path) -> UnitOfWorkFactory:
        """A new in-memory store."""
        del tmp_path
        return InMemoryStore().unit_of_work


class TestSQLiteStorage(StorageContract):
    """The contract, on a SQLite file."""

    def create_uow_factory(self, tmp_path: Path) -> UnitOfWorkFactory:
        """A new SQLite database file."""
        return SQLiteStore(tmp_path / "accounts.sqlite3").unit_of_work

    def test_only_a_relaxed_unit_of_work_skips_waiting_for_the_disk(self, tmp_path):
        """``synchronous`` is NORMAL inside a relaxed unit of work, FULL elsewhere."""
        store = SQLiteStore(tmp_path / "accounts.sqlite3")

        def level(tx) -> int:
            return tx._conn.execute("PRAGMA synchronous").fetchone()[0]

        with store.unit_of_work() as tx:
            assert level(tx) == 2  # FULL: the commit waits for the disk
        with store.unit_of_work(durable=False) as tx:
            assert level(tx) == 1  # NORMAL
        # The connection goes back to the store restored.
        with store.unit_of_work() as tx:
            assert level(tx) == 2
        store.close()


@pytest.mark.postgres
class TestPostgresStorage(StorageContract):
    """The contract, on a PostgreSQL schema of the test run."""

    @pytest.fixture(autouse=True)
    def _database(self, postgres_uow_factory):
        """The run's PostgreSQL store, emptied for each test."""
        self.database = postgres_uow_factory

    def create_uow_factory(self, tmp_path: Path) -> UnitOfWorkFactory:
        """The emptied PostgreSQL store."""
        del tmp_path
        return self.database

    def test_only_a_relaxed_commit_skips_waiting_for_the_flush(self):
        """A relaxed commit runs with ``synchronous_commit`` off; others do not."""
        seen = []
        for durable in (False, True):
            with self.database(durable=durable) as tx:
                tx.accounts.count()
                conn = tx._conn
                real_commit = conn.commit

                def commit(conn=conn, real_commit=real_commit):
                    seen.append(conn.execute("SHOW synchronous_commit").fetchone())
                    real_commit()

                conn.commit = commit
                tx.commit()
                del conn.commit
        assert [row["synchronous_commit"] for row in seen] == ["off", "on"]
