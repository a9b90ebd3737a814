"""The example shop in a real headless Chromium, driven through chromedriver.

The shop runs on a loopback port in a thread; Debian's ``chromium`` and
``chromium-driver`` (or the programs named by ``CHROMIUM`` and
``CHROMEDRIVER``) drive it with Selenium, as a customer would: sign up
(after a refused form), reset the password from another browser through
the mails found in the Maildir, get logged out in the first browser,
download "Mes données", and opt out of the measurement, after which no
page records an event. Outside CI a missing browser, driver or Selenium
skips this test with the reason; under ``CI=true`` it fails (``.ci/run``
installs Chromium).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from echoppe_accounts import ValidationError

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # the `example` extra; the fixture says what is missing
    webdriver = None

FLAGS = (
    "--headless",
    "--no-sandbox",  # tests may run as root, in a container
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)
PASSWORD = "une phrase de passe solide"
NEW_PASSWORD = "un tout nouveau mot de passe"
EMAIL = "claire.martin@exemple.fr"
WAIT = 30
"""Seconds a step may wait for the page or the download (a bound, not a check)."""


def _program(variable: str, *names: str) -> str | None:
    named = os.environ.get(variable)
    if named:
        return named
    return next((found for n in names if (found := shutil.which(n))), None)


@pytest.fixture(scope="module")
def chrome_programs() -> tuple[str, str]:
    """Chromium and chromedriver, or a skip (a failure under ``CI=true``)."""
    chromium = _program("CHROMIUM", "chromium", "chromium-browser", "google-chrome")
    driver = _program("CHROMEDRIVER", "chromedriver")
    if chromium and driver and webdriver is not None:
        return chromium, driver
    if webdriver is None:
        reason = "Selenium is missing: pip install -e '.[example]'"
    else:
        missing = " and ".join(
            what
            for what, found in (("Chromium", chromium), ("chromedriver", driver))
            if not found
        )
        reason = (
            f"no {missing} found: install Debian's chromium and chromium-driver "
            "(apt-get install chromium chromium-driver) or name them in "
            "CHROMIUM and CHROMEDRIVER"
        )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true needs the browser test; {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def live_shop(shop_module, tmp_path) -> Iterator[tuple[str, object]]:
    """Serve the shop on a free loopback port; yield its URL and its ``Shop``."""
    from werkzeug import serving  # noqa: PLC0415 (Flask's, once shop_module found it)

    holder = {}
    # The port is known once the server is bound, and the shop's links
    # need it: the server calls the app, made later, through this holder.
    server = serving.make_server(
        "127.0.0.1",
        0,
        lambda env, start: holder["app"](env, start),  # noqa: PLW0108
        threaded=True,
    )
    url = f"http://127.0.0.1:{server.server_port}"
    app = shop_module.create_app(
        tmp_path / "shop-data", base_url=url, secret_key="browser-test"
    )
    holder["app"] = app
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url, app.extensions["echoppe_shop"]
    server.shutdown()
    thread.join(timeout=WAIT)


@pytest.fixture
def open_browser(chrome_programs, tmp_path) -> Iterator[Callable[[str], object]]:
    """Start headless Chromiums, each its own browser session with a profile."""
    chromium, driver_program = chrome_programs
    drivers = []

    def start(name: str) -> object:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={tmp_path / name / 'profile'}")
        options.add_experimental_option(
            "prefs",
            {
                "download.default_directory": str(tmp_path / name / "downloads"),
                "download.prompt_for_download": False,
            },
        )
        # Both programs are named, so Selenium looks nothing up online.
        service = webdriver.ChromeService(executable_path=driver_program)
        driver = webdriver.Chrome(options=options, service=service)
        driver.set_page_load_timeout(WAIT)
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()


def _fill(driver, fields: dict[str, str]) -> None:
    for name, value in fields.items():
        element = driver.find_element(By.ID, name)
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        else:
            element.clear()
            element.send_keys(value)


def _click(driver, element_id: str) -> None:
    button = driver.find_element(By.ID, element_id)
    button.click()
    # While the next page loads, chromedriver may answer an error of its own
    # ("unhandled inspector error") instead of "stale": ask again then.
    WebDriverWait(driver, WAIT, ignored_exceptions=(WebDriverException,)).until(
        expected_conditions.staleness_of(button)
    )


def _text(driver, element_id: str) -> str:
    found = driver.find_elements(By.ID, element_id)
    return found[0].text if found else ""


def _notice_shown(driver) -> bool:
    return bool(driver.find_elements(By.ID, "avis-mesure"))


def test_a_customer_signs_up_resets_downloads_and_opts_out(
    live_shop, open_browser, mails_in, tmp_path
):
    """In Chromium: sign-up, reset, logout elsewhere, the export and the opt-out."""
    url, shop = live_shop
    mails = mails_in(tmp_path / "shop-data")
    first = open_browser("first")

    # The notice opens the browser session, and only that once.
    first.get(f"{url}/")
    assert _notice_shown(first)
    first.get(f"{url}/compte/inscription")
    assert not _notice_shown(first)
    _sign_up(first, url)
    assert len(shop.analytics_sink.events()) >= 3

    # Another browser: a new browser session, so the notice again.
    other = open_browser("other")
    other.get(f"{url}/compte/connexion")
    assert _notice_shown(other)  # on the blueprint's page too
    _reset_password(other, url, mails)

    # The first browser's session ended with the reset (SPEC P6).
    first.get(f"{url}/compte")
    assert first.current_url.startswith(f"{url}/compte/connexion")

    # "Mes données", read, then downloaded by the browser.
    other.get(f"{url}/compte/mes-donnees")
    assert EMAIL in other.page_source
    other.get(f"{url}/compte")
    other.find_element(By.CSS_SELECTOR, 'a[href$="mes-donnees.json"]').click()
    download = tmp_path / "other" / "downloads" / "mes-donnees.json"
    WebDriverWait(other, WAIT).until(lambda _: _complete(download))
    export = json.loads(download.read_text(encoding="utf-8"))
    assert export["account"]["email"] == EMAIL

    # Opting out: no page of this browser records anything any more.
    other.get(f"{url}/confidentialite")
    _click(other, "choix-mesure")
    assert "Vous avez refusé" in _text(other, "etat-mesure")
    assert other.get_cookie("echoppe_visiteur") is None
    recorded = len(shop.analytics_sink.events())
    for page in ("/", "/compte", "/compte/mes-donnees", "/confidentialite"):
        other.get(f"{url}{page}")
    assert len(shop.analytics_sink.events()) == recorded
    first.get(f"{url}/")  # the first browser is still measured
    assert len(shop.analytics_sink.events()) == recorded + 1


def _sign_up(driver, url: str) -> None:
    """Sign up: a mistake is shown in French beside its input, then fixed."""
    _fill(
        driver,
        {
            "category": "individual",
            "email": EMAIL,
            "password": PASSWORD,
            "name": "Claire Martin",
            "phone": "06 12 34 56 78",
            "billing_address.street_lines": "12 rue des Lilas",
            "billing_address.postal_code": "7501",
            "billing_address.city": "Paris",
            "delivery_addresses[0].contact_name": "Claire Martin",
        },
    )
    _click(driver, "submit")
    refused = ValidationError.single("postal_code", "address.postal_code_invalid")
    assert _text(driver, "billing_address.postal_code-error") == (
        refused.errors[0].message("fr")
    )
    assert driver.find_element(By.ID, "email").get_attribute("value") == EMAIL
    _fill(driver, {"billing_address.postal_code": "75011", "password": PASSWORD})
    _click(driver, "submit")
    assert driver.current_url == f"{url}/compte"
    assert EMAIL in driver.page_source


def _reset_password(driver, url: str, mails) -> None:
    """Reset the password through the two mails, then set a new one (SPEC R2–R4)."""
    driver.find_element(By.CSS_SELECTOR, 'a[href$="/mot-de-passe/oublie"]').click()
    _fill(driver, {"email": EMAIL})
    _click(driver, "submit")
    (confirm,) = [m for m in mails() if "/compte/mot-de-passe/confirmer?" in m.text]
    driver.get(confirm.link("/compte/mot-de-passe/confirmer"))
    # Opening the link sent nothing: only the page's button confirms.
    assert not [m for m in mails() if m.has_temporary_password()]
    _click(driver, "act")
    (second,) = [m for m in mails() if m.has_temporary_password()]
    driver.get(f"{url}/compte/connexion")
    _fill(driver, {"email": EMAIL, "password": second.temporary_password()})
    _click(driver, "submit")
    assert driver.current_url == f"{url}/compte/mot-de-passe/nouveau"
    _fill(driver, {"password": NEW_PASSWORD})
    _click(driver, "submit")
    assert driver.current_url == f"{url}/compte"


def _complete(download: Path) -> bool:
    """Whether Chromium finished writing *download* (no partial file left)."""
    partial = download.with_name(download.name + ".crdownload")
    return download.exists() and not partial.exists()
