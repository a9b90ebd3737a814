"""Attacks on ``echoppe-accounts import prestashop`` (issue 21; SPEC O4, M2)."""

from __future__ import annotations

from test_prestashop_import import _import, old_shop, target

__all__ = ["old_shop", "target"]  # fixtures this module uses


def test_o4_the_default_report_never_replaces_a_file_that_is_not_one(
    mariadb, old_shop, target
):
    """O4: a report the user did not name never overwrites another file.

    Without ``--report`` the report goes to ``prestashop-DATABASE-SHOP.report.csv``
    in the current folder; a file of that name that is not an earlier
    report is kept, as the CSV import keeps one beside its input.
    """
    precious = target.folder / f"prestashop-{old_shop}-1.report.csv"
    precious.write_text("mes notes\n", encoding="utf-8")
    result = _import(target, mariadb.url(old_shop))
    assert precious.read_text(encoding="utf-8") == "mes notes\n", result.stderr
    assert result.returncode != 0
    assert precious.name in result.stderr
    # Named, it is the user's choice: the import runs and writes it.
    named = _import(target, mariadb.url(old_shop), "--report", precious.name)
    assert named.returncode == 0, named.stderr
    assert precious.read_text(encoding="utf-8-sig").startswith("ref;field;code")
