"""The "Mes données" page in a browser: no word cut mid-word, phones as written.

Chromium lays the French page out at phone and desktop widths; a script
added to a copy of the page (the page itself allows none) then looks at
every word outside the long tokens (emails, the account number, addresses,
links) and reports those spread over two lines ("Abonnem/ent"), and
whether the page is wider than the window (SPEC T2).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from echoppe_accounts import Settings
from echoppe_accounts.domain.phone import Phone
from echoppe_accounts.service_layer.privacy import PersonalDataExport, sample_export
from rendered import visible_text

SHOP = Settings(base_url="https://www.lechoppe.fr", shop_name="L'Échoppe")
PACKAGE = Path(__file__).resolve().parents[2] / "src" / "echoppe_accounts"

PROBE = """<script>
addEventListener("load", () => {
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest(".token, address")) continue;
    for (const m of node.data.matchAll(/[^\\s\\-\\u2010\\u2013\\u2014\\/]+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const lines = new Set([...range.getClientRects()]
        .filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (lines.size > 1) broken.push(m[0]);
    }
  }
  document.body.dataset.broken = JSON.stringify(broken);
  document.body.dataset.wider = String(
    document.documentElement.scrollWidth > innerWidth);
});
</script>"""


def _chromium() -> str:
    program = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if program:
        return program
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true needs the browser test: apt-get install chromium")
    pytest.skip("no Chromium found: apt-get install chromium, or name it in CHROMIUM")


def _laid_out(markup: str, width: int, folder: Path) -> tuple[list[str], bool]:
    """Return the words Chromium spread over two lines, and if the page overflows."""
    probed = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", markup)
    page = folder / f"page-{width}.html"
    page.write_text(probed.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    result = subprocess.run(  # noqa: S603 (the browser, on our own file)
        [
            _chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            "--no-first-run", "--hide-scrollbars",
            f"--user-data-dir={folder / 'profile'}", f"--window-size={width},900",
            "--virtual-time-budget=2000", "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "HOME": str(folder)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    found = re.search(r'data-broken="([^"]*)" data-wider="(\w+)"', result.stdout)
    assert found is not None, "the probe ran"
    broken = json.loads(found.group(1).replace("&quot;", '"'))
    return broken, found.group(2) == "true"


@pytest.mark.parametrize("width", [360, 480, 660, 800, 1280])
def test_no_word_is_cut_at_any_width(width, tmp_path):
    """T2: columns wrap between words; only long tokens may break anywhere."""
    broken, wider = _laid_out(sample_export("fr", SHOP).as_html(), width, tmp_path)
    assert broken == []
    assert not wider


def test_the_probe_sees_a_cut_word(tmp_path):
    """T2: the check is not blind: the old style (break anywhere) cuts words."""
    old = (
        sample_export("fr", SHOP)
        .as_html()
        .replace(
            "word-break: normal; overflow-wrap: normal;", "overflow-wrap: anywhere;"
        )
    )
    broken, _ = _laid_out(old, 660, tmp_path)
    assert broken != []


def test_the_style_breaks_only_long_tokens():
    """T2: no break-all; "anywhere" only for tokens and addresses."""
    css = (PACKAGE / "templates" / "privacy" / "style.css.html").read_text("utf-8")
    assert "break-all" not in css
    rules = [line for line in css.splitlines() if "overflow-wrap: anywhere" in line]
    assert rules == [".token, address { overflow-wrap: anywhere; }"]


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("06 12 34 56 78", "06 12 34 56 78"),
        ("+33 1 23 45 67 89", "01 23 45 67 89"),
        ("0692 12 34 56", "0692 12 34 56"),  # Réunion: the French plan
        ("+32 470 12 34 56", "+32 470 12 34 56"),
        ("+1 202 555 0143", "+1 202-555-0143"),
    ],
)
def test_a_phone_is_shown_as_people_in_france_write_it(typed, shown):
    """F2, T2: national for the French plan, international elsewhere."""
    assert Phone.parse(typed).displayed == shown


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_page_shows_the_phone_in_national_format(language):
    """G1, T2: « 06 12 34 56 78 », not +33612345678; the JSON keeps E.164."""
    export = sample_export(language, SHOP)
    assert "06 12 34 56 78" in visible_text(export.as_html())
    assert "+33612345678" not in visible_text(export.as_html())
    assert json.loads(export.as_json())["account"]["phone"] == "+33612345678"


def test_a_foreign_phone_is_shown_in_international_format():
    """G1, T2: a Belgian number keeps its country code."""
    data = json.loads(sample_export("fr", SHOP).as_json())
    data["account"] |= {"phone": "+32470123456", "phone_region": "BE"}
    page = visible_text(PersonalDataExport(data, settings=SHOP).as_html())
    assert "+32 470 12 34 56" in page
