"""The Django app in a real headless Chromium, driven through chromedriver (issue 20).

The test project of ``tests/django_project.py`` is served on a loopback
port in a thread; Debian's ``chromium`` and ``chromium-driver`` (or the
programs named by ``CHROMIUM`` and ``CHROMEDRIVER``) drive it with Selenium
as a customer would: sign up after a refused form, add a delivery address,
reset the password from another browser through the mailed links (the
first browser is then logged out, SPEC P6), pass the forced change of the
restricted session (R4), download "Mes données" and delete the account.
Outside CI a missing Django, browser, driver or Selenium skips this test
with the reason; under ``CI=true`` it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    import django_project
except ImportError:  # the django and example extras; the fixture says which
    webdriver = None

from echoppe_accounts import Argon2Hasher, MailKind
from echoppe_accounts.testing import RecordingMailer
from sample_forms import temporary_password

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
"""Seconds a step may wait for a page or the download (a bound, not a check)."""


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
    try:
        import django  # noqa: F401, PLC0415 (only whether it imports)
    except ImportError:
        reason = "Django is missing: pip install -e '.[django]'"
    else:
        if chromium and driver and webdriver is not None:
            return chromium, driver
        reason = (
            "Selenium, Chromium or chromedriver is missing: pip install -e "
            "'.[example]', apt-get install chromium chromium-driver"
        )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true needs the browser test; {reason}", pytrace=False)
    pytest.skip(reason)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        del args


@pytest.fixture
def live_shop(chrome_programs, tmp_path) -> Iterator[tuple[str, object]]:
    """Serve the Django project on a free loopback port; yield its URL and mails."""
    del chrome_programs
    django_project.configure()
    from django.core.handlers.wsgi import WSGIHandler  # noqa: PLC0415
    from django.test import override_settings  # noqa: PLC0415

    from echoppe_accounts.contrib.django.conf import get_app  # noqa: PLC0415

    server = make_server(
        "127.0.0.1", 0, WSGIHandler(), server_class=_Server, handler_class=_QuietHandler
    )
    url = f"http://127.0.0.1:{server.server_port}"
    mailer = RecordingMailer()
    echoppe = {
        "BASE_URL": url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/accounts.sqlite3",
        "MAILER": mailer,
        "HASHER": Argon2Hasher(memory_cost=8, time_cost=1),
    }
    with override_settings(ECHOPPE=echoppe, ALLOWED_HOSTS=["127.0.0.1"]):
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()

        def mails(kind):
            get_app().dispatcher.dispatch()
            return [m for m in mailer.sent if m.kind is kind]

        yield url, mails
        server.shutdown()
        thread.join(timeout=WAIT)
        server.server_close()


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


def _follow(driver, url: str, mail, index: int = 0) -> None:
    """Open the link of *mail* in *driver* and press the page's button."""
    driver.get(url + django_project.links(mail)[index])
    _click(driver, "act")


def test_a_customer_signs_up_resets_downloads_and_leaves(
    live_shop, open_browser, tmp_path
):
    """In Chromium: sign-up, address book, reset elsewhere, export, erasure (W2)."""
    url, mails = live_shop
    first = open_browser("first")

    # Sign-up: a mistake shown in French beside its input, then fixed.
    first.get(f"{url}/compte/inscription/")
    _fill(
        first,
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
    _click(first, "submit")
    assert "code postal" in _text(first, "billing_address.postal_code-error").lower()
    _fill(first, {"billing_address.postal_code": "75011", "password": PASSWORD})
    _click(first, "submit")
    assert first.current_url == f"{url}/compte/"
    assert EMAIL in first.page_source

    # The address book: one more delivery address.
    first.get(f"{url}/compte/adresses/ajouter/")
    _fill(
        first,
        {
            "contact_name": "Marie Curie",
            "address.street_lines": "3 place Bellecour",
            "address.postal_code": "69002",
            "address.city": "Lyon",
        },
    )
    _click(first, "submit")
    assert first.current_url == f"{url}/compte/adresses/"
    assert "Marie Curie" in first.page_source

    # Another browser resets the password through the two mails.
    other = open_browser("other")
    other.get(f"{url}/compte/mot-de-passe/oublie/")
    _fill(other, {"email": EMAIL})
    _click(other, "submit")
    _follow(other, url, mails(MailKind.RESET_CONFIRM)[-1])
    temporary = temporary_password(mails(MailKind.TEMPORARY_PASSWORD)[-1])
    other.get(f"{url}/compte/connexion/")
    _fill(other, {"email": EMAIL, "password": temporary})
    _click(other, "submit")
    assert other.current_url == f"{url}/compte/mot-de-passe/nouveau/"
    other.get(f"{url}/compte/mes-donnees/")  # the restricted session (R4)
    assert other.current_url == f"{url}/compte/mot-de-passe/nouveau/"
    _fill(other, {"password": NEW_PASSWORD})
    _click(other, "submit")
    assert other.current_url == f"{url}/compte/"

    # The first browser's session ended with the reset (SPEC P6).
    first.get(f"{url}/compte/")
    assert first.current_url.startswith(f"{url}/compte/connexion/")

    # "Mes données", downloaded by the browser.
    other.get(f"{url}/compte/mes-donnees.json")
    download = tmp_path / "other" / "downloads" / "mes-donnees.json"
    WebDriverWait(other, WAIT).until(lambda _: _complete(download))
    export = json.loads(download.read_text(encoding="utf-8"))
    assert EMAIL in json.dumps(export)

    # Erasure: the password again and the explicit tick.
    other.get(f"{url}/compte/supprimer/")
    _fill(other, {"password": NEW_PASSWORD})
    other.find_element(By.ID, "confirm").click()
    _click(other, "submit")
    other.get(f"{url}/compte/")
    assert other.current_url.startswith(f"{url}/compte/connexion/")


def _complete(path) -> bool:
    return path.exists() and path.stat().st_size > 0
