"""Imported accounts as a state machine: completing, disabling, enabling, erasing.

SPEC M1, M2, P6, R8, G3 (issue 21). Whatever the order of the steps:

- :attr:`Account.missing` is exactly what the account lacks, and empties
  exactly when every missing piece was given;
- completion accepts exactly the missing pieces, refuses everything else
  with every problem at once (F8), and changes nothing when it refuses;
- a disabled account refuses completion and provisional passwords; disabling
  ends the sessions and every link, enabling gives back its status.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from echoppe_accounts import (
    Account,
    AccountStatus,
    AddressBook,
    Category,
    DeliveryAddress,
    Email,
    Missing,
    Organisation,
    Phone,
    PostalAddress,
    Siren,
    Siret,
    TokenPurpose,
    ValidationError,
)
from echoppe_accounts.domain.completion import missing_pieces
from echoppe_accounts.domain.effects import EndLinks

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PARIS = PostalAddress.parse(["12 rue des Lilas"], "75011", "Paris")
PHONE = Phone("+33612345678", "FR")
SIREN = Siren("732829320")
SIRET = Siret("73282932000074")
OTHER_SIRET = Siret("21690123100011")  # another company's
PIECES = ("phone", "billing", "delivery", "siret", "organisation_name")


@st.composite
def imported_accounts(draw: st.DrawFn) -> Account:
    """An account another shop kept, with any of the pieces SPEC requires missing."""
    category = draw(st.sampled_from(Category))
    organisation = None
    if category.needs_organisation:
        organisation = draw(
            st.sampled_from(
                [
                    None,
                    Organisation("ACME"),
                    Organisation("ACME", siren_alone=SIREN),
                    Organisation("ACME", SIRET),
                ]
            )
        )
    stamps = itertools.count()
    return Account.imported(
        id="acc-1",
        email=Email.parse("marie@acme.fr"),
        name="Marie Curie",
        category=category,
        created_at=START,
        session_stamp=f"stamp-{next(stamps)}",
        addresses=draw(
            st.sampled_from(
                [None, AddressBook(PARIS, [DeliveryAddress("d0", "Marie", PARIS)])]
            )
        ),
        phone=draw(st.sampled_from([None, PHONE])),
        organisation=organisation,
        password_hash=draw(st.sampled_from([None, "hash-0"])),
        disabled=draw(st.booleans()),
    )


def expected_missing(account: Account) -> frozenset[Missing]:
    """What the account lacks, read from its fields by the test's own rule."""
    if account.status is AccountStatus.ERASED:
        return frozenset()
    found = set()
    if account.phone is None:
        found.add(Missing.PHONE)
    if account.addresses is None:
        found.add(Missing.ADDRESS)
    org = account.organisation
    if account.category.needs_organisation and (org is None or org.siret is None):
        found.add(Missing.SIRET)
    return frozenset(found)


def wanted_pieces(account: Account) -> set[str]:
    """The completion pieces the account needs: exactly those, no other."""
    missing = account.missing
    wanted = set()
    if Missing.PHONE in missing:
        wanted.add("phone")
    if Missing.ADDRESS in missing:
        wanted |= {"billing", "delivery"}
    if Missing.SIRET in missing:
        wanted.add("siret")
        if account.organisation is None:
            wanted.add("organisation_name")
    return wanted


VALUES = {
    "phone": PHONE,
    "billing": PARIS,
    "delivery": DeliveryAddress("d1", "Marie", PARIS),
    "siret": SIRET,
    "organisation_name": "ACME",
}


class ImportedAccountLife(RuleBasedStateMachine):
    """Random steps on an imported account; the model is the test's rule above."""

    def __init__(self) -> None:
        """Start with no account; the first rule draws one."""
        super().__init__()
        stamps = itertools.count(1)
        self.stamps = lambda: f"stamp-{next(stamps)}"
        self.account: Account | None = None

    @rule(account=imported_accounts())
    def start(self, account: Account) -> None:
        """Take a new imported account (the machine may restart any time)."""
        self.account = account

    def _state(self) -> tuple[object, ...]:
        a = self.account
        assert a is not None
        return (a.status, a.phone, a.addresses, a.organisation, a.session_stamp)

    @rule(given=st.sets(st.sampled_from(PIECES)), wrong_siret=st.booleans())
    def complete(self, given: set[str], wrong_siret: bool) -> None:
        """M1, F8: the missing pieces complete; anything else changes nothing."""
        a = self.account
        if a is None:
            return
        values = {p: VALUES[p] for p in given}
        siren_kept = a.organisation is not None and a.organisation.siren_alone
        if wrong_siret and "siret" in values and siren_kept:
            values["siret"] = OTHER_SIRET
        before = self._state()
        wanted = wanted_pieces(a)
        ok = (
            given == wanted
            and bool(wanted)
            and a.status not in {AccountStatus.DISABLED, AccountStatus.ERASED}
            and values.get("siret") is not OTHER_SIRET
        )
        try:
            a.complete(**values)
        except ValidationError as exc:
            assert not ok, exc  # noqa: PT017 (a model step)
            assert self._state() == before
            paths = {e.path for e in exc.errors}
            live = a.status not in {AccountStatus.DISABLED, AccountStatus.ERASED}
            if live and wanted:
                # Every stray and every absent piece is named, all at once.
                names = {"billing": "billing_address"}
                for piece in given ^ wanted:
                    assert names.get(piece, piece) in paths, (piece, paths)
            return
        assert ok
        assert a.missing == frozenset()
        assert a.status == before[0]
        assert a.session_stamp == before[4]

    @rule()
    def disable(self) -> None:
        """M2, P6, R8: sessions end, every link and reset dies."""
        a = self.account
        if a is None or a.status in {AccountStatus.ERASED, AccountStatus.DISABLED}:
            return
        stamp = a.session_stamp
        a.disable(START, self.stamps)
        assert a.status is AccountStatus.DISABLED
        assert a.session_stamp != stamp
        ends = [e for e in a.collect_effects() if isinstance(e, EndLinks)]
        assert any(e.purposes == frozenset(TokenPurpose) and e.resets for e in ends)

    @rule()
    def enable(self) -> None:
        """M2: back to active, or express without a password; the stamp changes."""
        a = self.account
        if a is None or a.status is not AccountStatus.DISABLED:
            return
        stamp = a.session_stamp
        a.enable(self.stamps)
        expected = AccountStatus.ACTIVE if a.password_hash else AccountStatus.EXPRESS
        assert a.status is expected
        assert a.session_stamp != stamp

    @rule()
    def provisional_password(self) -> None:
        """R7, M2: refused while disabled."""
        a = self.account
        if a is None or a.is_erased:
            return
        try:
            a.issue_provisional_password(START, self.stamps)
        except ValidationError as exc:
            assert a.status is AccountStatus.DISABLED
            assert exc.errors[0].code == "account.disabled"  # noqa: PT017 (a model step)
        else:
            assert a.status is not AccountStatus.DISABLED
        a.collect_effects()

    @rule()
    def erase(self) -> None:
        """G3: an erased account misses nothing."""
        a = self.account
        if a is None:
            return
        a.erase(START, self.stamps)
        a.collect_effects()

    @invariant()
    def missing_is_what_the_account_lacks(self) -> None:
        """M1: the property and the storage's rule agree with the test's model."""
        a = self.account
        if a is None:
            return
        org = a.organisation
        assert a.missing == expected_missing(a)
        assert a.missing == missing_pieces(
            has_phone=a.phone is not None,
            has_addresses=a.addresses is not None,
            needs_organisation=a.category.needs_organisation,
            has_siret=org is not None and org.siret is not None,
            erased=a.is_erased,
        )


TestImportedAccountLife = ImportedAccountLife.TestCase
TestImportedAccountLife.settings = settings(
    max_examples=150, stateful_step_count=12, deadline=None
)


@given(imported_accounts())
def test_m1_missing_empties_exactly_when_every_missing_piece_is_given(account):
    """M1: giving every wanted piece leaves nothing missing, one at a time or not."""
    if account.status is AccountStatus.DISABLED:
        account.enable(lambda: "stamp-x")
    wanted = wanted_pieces(account)
    if not wanted:
        assert account.missing == frozenset()
        return
    account.complete(**{p: VALUES[p] for p in wanted})
    assert account.missing == frozenset()
