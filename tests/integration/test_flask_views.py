"""The Flask blueprint through Flask's test client (issue 20, SPEC W1–W4).

Every page of "Mon compte", each error path, the CSRF refusal (Flask-WTF's
``CSRFProtect``), the session stamp ending a stolen session (P6) and the
restricted session of a temporary password (R4). The browser posts the
CSRF token the pages carry, as a real one does.
"""

from __future__ import annotations

import json
import re

import pytest

flask = pytest.importorskip(
    "flask", reason="the Flask blueprint needs the flask extra (pip install '.[flask]')"
)
pytest.importorskip("flask_wtf", reason="the Flask blueprint needs Flask-WTF")

from echoppe_accounts import (  # noqa: E402
    Argon2Hasher,
    DeliveryForm,
    ExpressForm,
    MailKind,
    Settings,
    SQLiteStore,
    bootstrap,
)
from echoppe_accounts.contrib.flask import (  # noqa: E402
    EchoppeAccounts,
    current_customer,
    customer_required,
    link_paths,
)
from echoppe_accounts.testing import RecordingMailer  # noqa: E402
from sample_forms import PARIS, temporary_password  # noqa: E402

FAST_HASHER = Argon2Hasher(memory_cost=8, time_cost=1)
BASE_URL = "https://shop.test"
PASSWORD = "une phrase de passe solide"
NEW_PASSWORD = "un autre mot de passe long"
SIGNUP = {
    "category": "individual",
    "email": "jean.dupont@exemple.fr",
    "password": PASSWORD,
    "name": "Jean Dupont",
    "phone": "06 12 34 56 78",
    "billing_address.street_lines": "12 rue des Lilas",
    "billing_address.postal_code": "75011",
    "billing_address.city": "Paris",
    "billing_address.country": "FR",
    "delivery_addresses[0].contact_name": "Jean Dupont",
}
ORGANISATIONS = {
    "individual": {},
    "professional": {"organisation_name": "Cabinet Martin", "siret": "73282932000074"},
    "company": {"organisation_name": "Exemple SA", "siret": "73282932000074"},
    "public_body": {
        "organisation_name": "Mairie de Lyon",
        "siret": "21690123100011",
        "chorus_requirement": "engagement",
        "chorus_engagement_number": "EJ-2026-42",
    },
}
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK = re.compile(r"https?://[^/\s]+(/[^\s\"'<>]*\?jeton=[A-Za-z0-9_-]+)")


class Shop:
    """A Flask application with the blueprint, on a fresh SQLite file."""

    def __init__(self, tmp_path, *, config=None, **settings) -> None:
        self.mailer = RecordingMailer()
        store = SQLiteStore(tmp_path / "accounts.sqlite3")
        self.flask_app = flask.Flask(__name__)
        self.flask_app.config.update(SECRET_KEY="test-secret", **(config or {}))
        self.app = EchoppeAccounts().init_app(
            self.flask_app,
            lambda links: bootstrap(
                store.unit_of_work,
                self.mailer,
                Settings(
                    base_url=BASE_URL,
                    outbox_key=bytes(32),
                    **links,
                    **settings,
                ),
                hasher=FAST_HASHER,
            ),
        )

        @self.flask_app.route("/commandes")
        @customer_required
        def orders():
            return f"orders of {current_customer().account_id}"

        @self.flask_app.route("/static-like")
        def public():
            return "public"

    def mails(self, kind=None):
        self.app.dispatcher.dispatch()
        return [m for m in self.mailer.sent if kind is None or m.kind is kind]

    def link(self, kind, index=0):
        """Return the path and query of a link in the last mail of *kind*."""
        found = self.mails(kind)
        assert found, f"no {kind} mail"
        return LINK.findall(found[-1].text)[index]


class Browser:
    """Flask's test client, posting the CSRF token its pages carry."""

    def __init__(self, shop: Shop) -> None:
        self.client = shop.flask_app.test_client()

    def get(self, path, **options):
        return self.client.get(path, **options)

    def post(self, path, data=None, *, csrf=True, **options):
        fields = dict(data or {})
        if csrf:
            # The token of a page, as a browser sends a form from a page.
            page = self.client.get("/compte/connexion", follow_redirects=True)
            found = CSRF_INPUT.search(page.text)
            assert found, page.text
            fields["csrf_token"] = found.group(1)
        return self.client.post(path, data=fields, **options)

    def steal(self, shop: Shop) -> Browser:
        """Return another browser holding a copy of this one's session cookie."""
        thief = Browser(shop)
        cookie = self.client.get_cookie("session")
        thief.client.set_cookie("session", cookie.value)
        return thief


@pytest.fixture
def shop(tmp_path):
    """The blueprint on a fresh database with a recording mailer."""
    return Shop(tmp_path)


@pytest.fixture
def browser(shop):
    """A browser on the shop."""
    return Browser(shop)


def sign_up(browser, **fields):
    """Sign up through the form; return the response."""
    return browser.post("/compte/inscription", {**SIGNUP, **fields})


def log_in(browser, email=SIGNUP["email"], password=PASSWORD, **more):
    """Log in through the form; return the response."""
    return browser.post(
        "/compte/connexion", {"email": email, "password": password, **more}
    )


# -- sign-up (SPEC F1–F8, C1–C4, W2) ------------------------------------------------


@pytest.mark.parametrize("category", list(ORGANISATIONS))
def test_sign_up_in_each_category_opens_the_account(browser, category):
    """Each of the four categories signs up and lands on "Mon compte" (F5, W2)."""
    email = f"{category}@exemple.fr"
    response = sign_up(
        browser, category=category, email=email, **ORGANISATIONS[category]
    )
    assert response.status_code == 302, response.text
    home = browser.get(response.headers["Location"])
    assert home.status_code == 200
    assert email in home.text
    assert 'id="notice"' in home.text


def test_sign_up_shows_every_problem_beside_its_field_in_french(browser):
    """Problems come all at once, in French, each next to its input (F8, T1)."""
    assert browser.get("/compte/inscription").status_code == 200
    response = browser.post(
        "/compte/inscription",
        {"category": "company", "email": "pas-une-adresse", "password": "court"},
    )
    page = response.text
    assert response.status_code == 400
    for name in (
        "email",
        "password",
        "organisation_name",
        "siret",
        "billing_address.postal_code",
        "delivery_addresses[0].contact_name",
    ):
        assert f'id="{name}-error"' in page, name
    assert "obligatoire" in page
    assert 'value="pas-une-adresse"' in page
    assert "court" not in page.split('id="password"')[1].split(">")[0]


def test_sign_up_with_a_taken_email_is_refused_beside_the_email(browser, shop):
    """A second account for one email is refused at the email field (F1)."""
    sign_up(browser)
    response = sign_up(Browser(shop))
    assert response.status_code == 400
    assert 'id="email-error"' in response.text


def test_a_post_without_the_csrf_token_is_refused(browser):
    """Every state change needs Flask-WTF's CSRF token (W3): 400 without it."""
    for path in (
        "/compte/inscription",
        "/compte/connexion",
        "/compte/supprimer",
        "/compte/mot-de-passe/confirmer",
    ):
        assert browser.post(path, SIGNUP, csrf=False).status_code == 400, path
    forged = browser.post(
        "/compte/inscription", {**SIGNUP, "csrf_token": "x" * 40}, csrf=False
    )
    assert forged.status_code == 400
    assert browser.get("/compte").status_code == 302  # no account was made


def test_the_csrf_refusal_is_a_page_in_the_customers_language(browser):
    """W3, T1: the shop's page says it in French, not werkzeug's English."""
    response = browser.post("/compte/connexion", SIGNUP, csrf=False)
    assert response.status_code == 400
    assert "Formulaire expiré" in response.text
    assert "rechargez la page" in response.text
    assert "CSRF" not in response.text
    assert "Bad Request" not in response.text


def test_a_csrf_token_from_before_the_login_dies_with_it(browser):
    """The token is renewed at login: one planted earlier is refused (W3)."""
    page = browser.get("/compte/connexion").text
    planted = CSRF_INPUT.search(page).group(1)
    sign_up(browser)
    response = browser.post(
        "/compte/mot-de-passe",
        {"csrf_token": planted, "current_password": PASSWORD, "password": "x"},
        csrf=False,
    )
    assert response.status_code == 400
    assert "id=" not in response.text or 'id="password-error"' not in response.text


# -- login and logout (SPEC P3, P4, P6) ------------------------------------------------


def test_login_logout_and_customer_required(browser):
    """A customer reaches the shop's ``customer_required`` views, with ``next``."""
    sign_up(browser)
    assert browser.get("/compte/deconnexion").status_code == 200  # a button
    browser.post("/compte/deconnexion")
    anonymous = browser.get("/commandes")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/compte/connexion?next=")
    assert browser.get("/compte").status_code == 302
    wrong = log_in(browser, password="pas le bon mot de passe")
    assert wrong.status_code == 400
    assert 'id="problems"' in wrong.text
    response = log_in(browser, next="/commandes")
    assert response.headers["Location"] == "/commandes"
    orders = browser.get("/commandes")
    assert orders.status_code == 200
    assert orders.text.startswith("orders of ")
    browser.post("/compte/deconnexion")
    assert browser.get("/commandes").status_code == 302
    assert 'id="notice"' in browser.get("/compte/connexion").text


def test_a_throttled_login_answers_429_with_retry_after(browser):
    """Past the free attempts, the delay is said, with ``Retry-After`` (P4, W4)."""
    sign_up(browser)
    browser.post("/compte/deconnexion")
    statuses = [log_in(browser, password="faux").status_code for _ in range(6)]
    assert statuses[:4] == [400] * 4
    throttled = log_in(browser)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert 'id="problems"' in throttled.text


@pytest.mark.parametrize(
    "target", ["https://evil.test/", "//evil.test/", "/\\evil.test", "javascript:x"]
)
def test_login_never_redirects_to_another_site(browser, target):
    """``next`` pointing elsewhere is ignored: no open redirect."""
    sign_up(browser)
    browser.post("/compte/deconnexion")
    response = log_in(browser, next=target)
    assert response.headers["Location"] == "/compte"


def test_a_stolen_session_ends_when_the_password_changes(browser, shop):
    """After a password change this session goes on, a copied one ends (P6, W3)."""
    sign_up(browser)
    thief = browser.steal(shop)
    assert thief.get("/compte").status_code == 200
    response = browser.post(
        "/compte/mot-de-passe",
        {"current_password": PASSWORD, "password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert browser.get("/compte").status_code == 200
    assert thief.get("/compte").status_code == 302
    assert thief.get("/commandes").status_code == 302


def test_password_change_errors_are_shown_beside_their_fields(browser):
    """A wrong current password and a weak new one, both at once (P2)."""
    sign_up(browser)
    assert browser.get("/compte/mot-de-passe").status_code == 200
    response = browser.post(
        "/compte/mot-de-passe", {"current_password": "faux", "password": "azerty"}
    )
    assert response.status_code == 400
    assert 'id="current_password-error"' in response.text
    assert 'id="password-error"' in response.text


# -- the two-step reset and the restricted session (SPEC R1–R6) ------------------------


def test_reset_links_open_a_page_and_only_its_button_acts(browser, shop):
    """A GET of the mailed link changes nothing; the POST confirms (R2, W2)."""
    sign_up(browser)
    browser.post("/compte/deconnexion")
    assert browser.get("/compte/mot-de-passe/oublie").status_code == 200
    answer = browser.post("/compte/mot-de-passe/oublie", {"email": SIGNUP["email"]})
    unknown = Browser(shop).post(
        "/compte/mot-de-passe/oublie", {"email": "personne@exemple.fr"}
    )
    assert answer.status_code == unknown.status_code == 200
    assert CSRF_INPUT.sub("", answer.text) == CSRF_INPUT.sub("", unknown.text)
    link = shop.link(MailKind.RESET_CONFIRM)
    assert link.startswith("/compte/mot-de-passe/confirmer?jeton=")
    page = browser.get(link)
    assert page.status_code == 200
    assert 'name="jeton"' in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert not shop.mails(MailKind.TEMPORARY_PASSWORD)
    token = link.rpartition("=")[2]
    done = browser.post("/compte/mot-de-passe/confirmer", {"jeton": token})
    assert done.status_code == 200
    assert shop.mails(MailKind.TEMPORARY_PASSWORD)
    again = browser.post("/compte/mot-de-passe/confirmer", {"jeton": token})
    assert again.status_code == 400
    assert 'id="detail"' in again.text


def test_a_reset_request_for_no_email_at_all_is_refused_at_the_field(browser):
    """Not an email address: the field says so (R1, F8)."""
    response = browser.post("/compte/mot-de-passe/oublie", {"email": "pas-une"})
    assert response.status_code == 400
    assert 'id="email-error"' in response.text


def test_the_restricted_session_reaches_only_the_forced_change(browser, shop):
    """A temporary password's session is sent to the new-password page (R4, W3)."""
    sign_up(browser)
    browser.post("/compte/deconnexion")
    browser.post("/compte/mot-de-passe/oublie", {"email": SIGNUP["email"]})
    token = shop.link(MailKind.RESET_CONFIRM).rpartition("=")[2]
    browser.post("/compte/mot-de-passe/confirmer", {"jeton": token})
    temporary = temporary_password(shop.mails(MailKind.TEMPORARY_PASSWORD)[-1])
    response = log_in(browser, password=temporary)
    assert response.headers["Location"] == "/compte/mot-de-passe/nouveau"
    for path in (
        "/compte",
        "/compte/mes-donnees",
        "/commandes",
        "/compte/e-mail",
        "/static-like",
    ):
        refused = browser.get(path)
        assert refused.status_code == 302, path
        assert refused.headers["Location"] == "/compte/mot-de-passe/nouveau", path
    assert browser.get("/compte/mot-de-passe/nouveau").status_code == 200
    weak = browser.post("/compte/mot-de-passe/nouveau", {"password": temporary})
    assert weak.status_code == 400
    assert 'id="password-error"' in weak.text
    done = browser.post("/compte/mot-de-passe/nouveau", {"password": NEW_PASSWORD})
    assert done.headers["Location"] == "/compte"
    assert browser.get("/compte").status_code == 200
    browser.post("/compte/deconnexion")
    assert log_in(browser, password=NEW_PASSWORD).status_code == 302


def test_a_restricted_session_may_still_log_out(browser, shop):
    """The logout stays open to a restricted session (R4)."""
    sign_up(browser)
    account = shop.app.accounts.find_by_email(SIGNUP["email"])
    temporary = shop.app.auth.issue_provisional_password(
        account.id, agent_id="agent-7", reason="le courriel n'arrive pas"
    )
    browser.post("/compte/deconnexion")
    log_in(browser, password=temporary.reveal())
    assert browser.get("/compte/deconnexion").status_code == 200
    assert browser.post("/compte/deconnexion").status_code == 302
    assert browser.get("/compte/mot-de-passe/nouveau").headers["Location"] == (
        "/compte/connexion"
    )


def test_the_not_me_link_cancels_the_reset(browser, shop):
    """The "this was not me" link cancels the request; a bad link is refused (R5)."""
    sign_up(browser)
    browser.post("/compte/mot-de-passe/oublie", {"email": SIGNUP["email"]})
    cancel = shop.link(MailKind.RESET_CONFIRM, index=1)
    assert cancel.startswith("/compte/mot-de-passe/annuler?jeton=")
    assert browser.get(cancel).status_code == 200
    token = cancel.rpartition("=")[2]
    assert (
        browser.post("/compte/mot-de-passe/annuler", {"jeton": token}).status_code
        == 200
    )
    bad = browser.post("/compte/mot-de-passe/annuler", {"jeton": "inconnu"})
    assert bad.status_code == 400
    assert 'id="detail"' in bad.text


def test_the_forced_change_page_without_a_restricted_session_goes_to_login(browser):
    """Nobody reaches the forced change without a temporary password's login."""
    response = browser.get("/compte/mot-de-passe/nouveau")
    assert response.headers["Location"] == "/compte/connexion"


# -- email change (SPEC F10) -----------------------------------------------------------


def test_email_change_takes_effect_once_the_new_mailbox_confirms(browser, shop):
    """The link goes to the new address; its POST changes it, sessions end (F10)."""
    sign_up(browser)
    assert browser.get("/compte/e-mail").status_code == 200
    refused = browser.post("/compte/e-mail", {"email": "pas-une-adresse"})
    assert refused.status_code == 400
    assert 'id="email-error"' in refused.text
    sent = browser.post(
        "/compte/e-mail", {"email": "jean@nouveau.fr", "current_password": PASSWORD}
    )
    assert sent.status_code == 200
    link = shop.link(MailKind.EMAIL_CHANGE_CONFIRM)
    assert link.startswith("/compte/e-mail/confirmer?jeton=")
    assert browser.get(link).status_code == 200
    done = browser.post("/compte/e-mail/confirmer", {"jeton": link.rpartition("=")[2]})
    assert done.status_code == 200
    assert browser.get("/compte").status_code == 302  # every session ended (P6)
    assert log_in(browser, email="jean@nouveau.fr").status_code == 302


def test_email_change_can_be_cancelled_from_the_current_mailbox(browser, shop):
    """The notice to the current address carries a cancel link (F10)."""
    sign_up(browser)
    browser.post(
        "/compte/e-mail", {"email": "jean@nouveau.fr", "current_password": PASSWORD}
    )
    link = shop.link(MailKind.EMAIL_CHANGE_NOTICE)
    assert link.startswith("/compte/e-mail/annuler?jeton=")
    assert browser.get(link).status_code == 200
    done = browser.post("/compte/e-mail/annuler", {"jeton": link.rpartition("=")[2]})
    assert done.status_code == 200
    assert shop.app.accounts.find_by_email("jean.dupont@exemple.fr") is not None


def test_email_change_needs_the_current_password(browser, shop):
    """Without the current password, or with a wrong one, nothing is sent (F10)."""
    sign_up(browser)
    for typed_password in ("", "pas le bon mot de passe"):
        response = browser.post(
            "/compte/e-mail",
            {"email": "jean@nouveau.fr", "current_password": typed_password},
        )
        assert response.status_code == 400
        assert 'id="current_password-error"' in response.text
    assert not shop.mails(MailKind.EMAIL_CHANGE_CONFIRM)


# -- the address book (SPEC A1–A5) -----------------------------------------------------


def test_the_address_book_adds_edits_and_removes_deliveries(browser, shop):
    """Add, edit and remove a delivery address; the last one stays (A1, A5)."""
    sign_up(browser)
    assert browser.get("/compte/adresses").status_code == 200
    assert browser.get("/compte/adresses/ajouter").status_code == 200
    bad = browser.post(
        "/compte/adresses/ajouter", {"contact_name": "", "address.postal_code": "ABC"}
    )
    assert bad.status_code == 400
    for name in ("contact_name", "address.postal_code", "address.city"):
        assert f'id="{name}-error"' in bad.text, name
    added = browser.post(
        "/compte/adresses/ajouter",
        {
            "label": "Bureau",
            "contact_name": "Marie Curie",
            "address.street_lines": "3 place Bellecour",
            "address.postal_code": "69002",
            "address.city": "Lyon",
            "address.country": "FR",
        },
    )
    assert added.headers["Location"] == "/compte/adresses"
    account = shop.app.accounts.find_by_email(SIGNUP["email"])
    first, second = account.addresses.deliveries
    edit = f"/compte/adresses/{second.id}"
    assert "Marie Curie" in browser.get(edit).text
    browser.post(
        edit,
        {
            "contact_name": "Pierre Curie",
            "address.street_lines": "3 place Bellecour",
            "address.postal_code": "69002",
            "address.city": "Lyon",
        },
    )
    assert "Pierre Curie" in browser.get("/compte/adresses").text
    browser.post(f"/compte/adresses/{second.id}/supprimer")
    last = browser.post(f"/compte/adresses/{first.id}/supprimer")
    assert last.status_code == 400
    assert 'id="problems"' in last.text
    account = shop.app.accounts.find_by_email(SIGNUP["email"])
    assert [d.id for d in account.addresses.deliveries] == [first.id]


def test_unknown_delivery_addresses_answer_404_or_an_error(browser):
    """An id that is not the customer's opens nothing and removes nothing (A1)."""
    sign_up(browser)
    assert browser.get("/compte/adresses/inconnue").status_code == 404
    assert browser.post("/compte/adresses/inconnue/supprimer").status_code == 400
    assert browser.get("/compte/adresses/inconnue/supprimer").status_code == 302


def test_the_single_billing_address_changes_for_every_delivery(browser, shop):
    """The billing page validates, then changes the one billing address (A2, A4)."""
    sign_up(browser)
    assert "75011" in browser.get("/compte/adresses/facturation").text
    bad = browser.post("/compte/adresses/facturation", {"address.postal_code": "7501"})
    assert bad.status_code == 400
    assert 'id="address.postal_code-error"' in bad.text
    browser.post(
        "/compte/adresses/facturation",
        {
            "address.street_lines": "3 place Bellecour",
            "address.postal_code": "69002",
            "address.city": "Lyon",
        },
    )
    account = shop.app.accounts.find_by_email(SIGNUP["email"])
    assert account.addresses.billing.postal_code == "69002"


# -- newsletter (SPEC F7) --------------------------------------------------------------


def test_newsletter_subscription_waits_for_the_mailbox_then_unsubscribes(browser, shop):
    """An unproven mailbox confirms by link first; unsubscribing is one click (F7)."""
    sign_up(browser)
    assert browser.get("/compte/newsletter").status_code == 200
    browser.post("/compte/newsletter", {"action": "subscribe"})
    account = shop.app.accounts.find_by_email(SIGNUP["email"])
    if account.email_proven_at is None:
        link = shop.link(MailKind.NEWSLETTER_CONFIRM)
        assert link.startswith("/compte/newsletter/confirmer?jeton=")
        assert browser.get(link).status_code == 200
        browser.post("/compte/newsletter/confirmer", {"jeton": link.rpartition("=")[2]})
    assert shop.app.accounts.find_by_email(SIGNUP["email"]).subscribed
    browser.post("/compte/newsletter", {"action": "unsubscribe"})
    assert not shop.app.accounts.find_by_email(SIGNUP["email"]).subscribed


def test_a_proven_mailbox_subscribes_at_once(browser, shop):
    """After a completion the mailbox is proven: no confirm link is needed (F7)."""
    shop.app.accounts.register_express(
        ExpressForm("client@exemple.fr", DeliveryForm("Paul Client", PARIS))
    )
    token = shop.link(MailKind.SET_PASSWORD).rpartition("=")[2]
    browser.post(
        "/compte/mot-de-passe/definir",
        {"jeton": token, "password": PASSWORD, "phone": "06 12 34 56 78"},
    )
    log_in(browser, email="client@exemple.fr")
    browser.post("/compte/newsletter", {"action": "subscribe"})
    assert shop.app.accounts.find_by_email("client@exemple.fr").subscribed
    assert not shop.mails(MailKind.NEWSLETTER_CONFIRM)


# -- "Mes données" and erasure (SPEC G1–G3) --------------------------------------------


def test_my_data_page_and_json_download(browser):
    """The page for the customer and the JSON download, without secrets (G1, G2)."""
    sign_up(browser)
    page = browser.get("/compte/mes-donnees")
    assert page.status_code == 200
    assert SIGNUP["email"] in page.text
    download = browser.get("/compte/mes-donnees.json")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert json.loads(download.text)
    assert SIGNUP["email"] in download.text
    assert "argon2" not in download.text
    browser.post("/compte/deconnexion")
    assert browser.get("/compte/mes-donnees.json").status_code == 302


def test_erasure_needs_the_password_and_an_explicit_confirmation(browser, shop):
    """Both checks, then the account is erased and the session ends (G3, W2)."""
    sign_up(browser)
    assert browser.get("/compte/supprimer").status_code == 200
    refused = browser.post("/compte/supprimer", {"password": "faux"})
    assert refused.status_code == 400
    assert 'id="password-error"' in refused.text
    assert 'id="confirm-error"' in refused.text
    unconfirmed = browser.post("/compte/supprimer", {"password": PASSWORD})
    assert 'id="confirm-error"' in unconfirmed.text
    assert 'id="password-error"' not in unconfirmed.text
    done = browser.post("/compte/supprimer", {"password": PASSWORD, "confirm": "1"})
    assert done.status_code == 200
    assert browser.get("/compte").status_code == 302
    assert log_in(browser).status_code == 400
    found = shop.app.accounts.find_by_email(SIGNUP["email"])
    assert found is None or found.is_erased


def test_erasure_sends_the_farewell_mail_and_nothing_else(browser, shop):
    """W2, G3: the last mail, to the address the account had; no other survives."""
    sign_up(browser)
    shop.mailer.sent.clear()
    done = browser.post("/compte/supprimer", {"password": PASSWORD, "confirm": "1"})
    assert done.status_code == 200
    [farewell] = shop.mails()
    assert farewell.kind is MailKind.ACCOUNT_ERASED
    assert farewell.to == SIGNUP["email"]
    assert "L123-22" in farewell.text


# -- express completion and verified sign-up (SPEC X2, X5) -----------------------------


def test_an_express_account_is_completed_through_its_mailed_link(browser, shop):
    """The set-password link opens the completion form; errors beside fields (X2)."""
    shop.app.accounts.register_express(
        ExpressForm("client@exemple.fr", DeliveryForm("Paul Client", PARIS))
    )
    link = shop.link(MailKind.SET_PASSWORD)
    assert link.startswith("/compte/mot-de-passe/definir?jeton=")
    assert browser.get(link).status_code == 200
    token = link.rpartition("=")[2]
    bad = browser.post(
        "/compte/mot-de-passe/definir",
        {"jeton": token, "password": "azerty", "phone": "12"},
    )
    assert bad.status_code == 400
    assert 'id="password-error"' in bad.text
    assert 'id="phone-error"' in bad.text
    done = browser.post(
        "/compte/mot-de-passe/definir",
        {"jeton": token, "password": PASSWORD, "phone": "06 12 34 56 78"},
    )
    assert done.headers["Location"] == "/compte/connexion"
    assert log_in(browser, email="client@exemple.fr").status_code == 302
    used = browser.post(
        "/compte/mot-de-passe/definir", {"jeton": token, "password": PASSWORD}
    )
    assert used.status_code == 400


def test_verified_sign_up_opens_once_the_link_and_password_are_given(tmp_path):
    """With verified sign-up the account opens from its link's page (X5)."""
    shop = Shop(tmp_path, verified_signup=True)
    browser = Browser(shop)
    assert sign_up(browser).status_code == 200
    assert log_in(browser).status_code == 400
    link = shop.link(MailKind.SIGNUP_VERIFY)
    assert link.startswith("/compte/inscription/verifier?jeton=")
    assert browser.get(link).status_code == 200
    done = browser.post(
        "/compte/inscription/verifier",
        {"jeton": link.rpartition("=")[2], "password": PASSWORD},
    )
    assert done.headers["Location"] == "/compte/connexion"
    assert log_in(browser).status_code == 302
    assert browser.post("/compte/inscription/verifier", {"jeton": "x"}).status_code == (
        400
    )


# -- limits, client keys, device cookie, links (SPEC P4, W3, W4) -----------------------


def test_a_client_past_its_limit_gets_429_with_retry_after(browser):
    """Rate limits answer 429 with ``Retry-After`` and the French message (W4)."""
    for _ in range(20):
        browser.post("/compte/mot-de-passe/oublie", {"email": "a@exemple.fr"})
    response = browser.post("/compte/mot-de-passe/oublie", {"email": "a@exemple.fr"})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert 'id="detail"' in response.text


def test_client_keys_come_from_the_connection_unless_a_proxy_is_trusted(tmp_path):
    """A raw X-Forwarded-For is ignored; ProxyFix reads it when configured (W3)."""
    from datetime import timedelta  # noqa: PLC0415

    from echoppe_accounts import ClientLimits, Limit  # noqa: PLC0415

    limits = ClientLimits(reset=Limit(1, timedelta(minutes=10)))

    def second_request_status(shop, first_ip, second_ip):
        browser = Browser(shop)
        for ip in (first_ip, second_ip):
            response = browser.post(
                "/compte/mot-de-passe/oublie",
                {"email": "a@exemple.fr"},
                headers={"X-Forwarded-For": ip},
            )
        return response.status_code

    direct = Shop(tmp_path / "direct", client_limits=limits)
    assert second_request_status(direct, "1.1.1.1", "2.2.2.2") == 429
    proxied = Shop(
        tmp_path / "proxied", client_limits=limits, config={"ECHOPPE_PROXY_FIX": 1}
    )
    assert second_request_status(proxied, "1.1.1.1", "2.2.2.2") == 200


def test_the_device_token_lives_in_a_signed_httponly_samesite_cookie(browser):
    """A login that earns a device token sets it signed, HttpOnly, SameSite (P4)."""
    sign_up(browser)
    browser.post("/compte/deconnexion")
    response = log_in(browser)
    cookies = response.headers.getlist("Set-Cookie")
    device = next((c for c in cookies if c.startswith("echoppe_appareil=")), None)
    if device is None:
        pytest.skip("login gives no device token (SPEC P4 amended, other branch)")
    assert "HttpOnly" in device
    assert "SameSite=Lax" in device
    assert "Secure" in device  # the base URL is https
    value = device.split(";")[0].partition("=")[2]
    assert "." in value  # itsdangerous's signature
    # Presented at the next login, it earns a new one.
    browser.post("/compte/deconnexion")
    again = log_in(browser)
    renewed = [c for c in again.headers.getlist("Set-Cookie") if "appareil=" in c]
    assert renewed
    assert renewed[0].split(";")[0].partition("=")[2] != value
    # A forged cookie is no cookie: the login still works.
    browser.client.set_cookie("echoppe_appareil", "forged.value")
    browser.post("/compte/deconnexion")
    assert log_in(browser).status_code == 302


def test_mail_links_follow_the_blueprints_routes(shop):
    """Each link setting is built from the blueprint's routes, not typed (W4)."""
    from echoppe_accounts.contrib._web import LINK_ROUTES  # noqa: PLC0415

    settings = shop.app.accounts.settings
    with shop.flask_app.test_request_context():
        for setting, name in LINK_ROUTES.items():
            expected = flask.url_for(f"echoppe.{name}") + "?jeton={token}"
            assert getattr(settings, setting) == expected


def test_a_prefix_moves_the_pages_and_the_links_together(tmp_path):
    """``url_prefix`` moves every page, and the mailed links follow (W4)."""
    flask_app = flask.Flask(__name__)
    flask_app.config["SECRET_KEY"] = "k"
    EchoppeAccounts(
        flask_app,
        lambda links: bootstrap(
            SQLiteStore(tmp_path / "a.sqlite3").unit_of_work,
            RecordingMailer(),
            Settings(base_url=BASE_URL, outbox_key=bytes(32), **links),
            hasher=FAST_HASHER,
        ),
        url_prefix="/mon-compte",
    )
    paths = link_paths(flask_app)
    assert (
        paths["reset_confirm_path"]
        == "/mon-compte/mot-de-passe/confirmer?jeton={token}"
    )
    assert flask_app.test_client().get("/mon-compte/connexion").status_code == 200


def test_an_app_whose_links_differ_from_the_routes_is_refused(tmp_path):
    """Given a wired ``App``, its link settings must match the routes (W4)."""
    app = bootstrap(
        SQLiteStore(tmp_path / "a.sqlite3").unit_of_work,
        RecordingMailer(),
        Settings(base_url=BASE_URL, outbox_key=bytes(32)),
    )
    flask_app = flask.Flask(__name__)
    with pytest.raises(ValueError, match="Settings"):
        EchoppeAccounts(flask_app, app)
    fitting = bootstrap(
        SQLiteStore(tmp_path / "b.sqlite3").unit_of_work,
        RecordingMailer(),
        Settings(base_url=BASE_URL, outbox_key=bytes(32), **link_paths(_routes_only())),
    )
    other = flask.Flask(__name__)
    other.config["SECRET_KEY"] = "k"
    assert EchoppeAccounts().init_app(other, fitting) is fitting


def _routes_only():
    from echoppe_accounts.contrib.flask._views import create_blueprint  # noqa: PLC0415

    flask_app = flask.Flask(__name__)
    flask_app.register_blueprint(create_blueprint(), url_prefix="/compte")
    return flask_app


def test_the_pages_are_french_by_default_and_english_when_configured(tmp_path):
    """French by default; ``ECHOPPE_LANGUAGE`` chooses another catalogue (T1)."""
    french = Browser(Shop(tmp_path / "fr")).get("/compte/connexion").text
    assert "Mot de passe" in french
    assert 'lang="fr"' in french
    english_shop = Shop(tmp_path / "en", config={"ECHOPPE_LANGUAGE": "en"})
    english = Browser(english_shop).get("/compte/connexion").text
    assert "Password" in english
    assert 'lang="en"' in english


def test_a_page_is_overridden_from_the_shops_template_folder(tmp_path):
    """A file at ``web/login.html`` in the shop's loader replaces the page (T1)."""
    import jinja2  # noqa: PLC0415

    folder = tmp_path / "gabarits" / "web"
    folder.mkdir(parents=True)
    (folder / "login.html").write_text(
        '{% extends "web/base.html" %}{% block title %}Entrée{% endblock %}'
        "{% block content %}<h1>Entrée de la boutique</h1>"
        "<form method=post>{{ csrf_input }}</form>{% endblock %}",
        encoding="utf-8",
    )
    shop = Shop(tmp_path, templates=jinja2.FileSystemLoader(str(tmp_path / "gabarits")))
    page = Browser(shop).get("/compte/connexion").text
    assert "Entrée de la boutique" in page
    assert 'name="csrf_token"' in page
    signup = Browser(shop).get("/compte/inscription").text
    assert 'name="billing_address.postal_code"' in signup  # the library's


def test_the_extension_refuses_settings_that_cannot_work(tmp_path):
    """No wiring, or a proxy setting that is neither a count nor options (W3)."""
    with pytest.raises(TypeError, match="wire"):
        EchoppeAccounts(flask.Flask(__name__))
    flask_app = flask.Flask(__name__)
    flask_app.config.update(SECRET_KEY="k", ECHOPPE_PROXY_FIX="yes")
    with pytest.raises(TypeError, match="ECHOPPE_PROXY_FIX"):
        EchoppeAccounts(
            flask_app,
            lambda links: bootstrap(
                SQLiteStore(tmp_path / "a.sqlite3").unit_of_work,
                RecordingMailer(),
                Settings(base_url=BASE_URL, outbox_key=bytes(32), **links),
            ),
        )


def test_proxy_options_and_exempt_endpoints_are_configurable(tmp_path):
    """ProxyFix's own options; endpoints a restricted session may reach (W3, R4)."""
    options = {
        "ECHOPPE_PROXY_FIX": {"x_for": 1},
        "ECHOPPE_RESTRICTED_EXEMPT": ["public"],
    }
    configured = Shop(tmp_path / "configured", config=options)
    browser = Browser(configured)
    sign_up(browser)
    account = configured.app.accounts.find_by_email(SIGNUP["email"])
    temporary = configured.app.auth.issue_provisional_password(
        account.id, agent_id="agent-7", reason="le courriel n'arrive pas"
    )
    browser.post("/compte/deconnexion")
    assert log_in(browser, password=temporary.reveal()).status_code == 302
    assert browser.get("/static-like").status_code == 200
    assert browser.get("/compte").status_code == 302


# -- an account brought over from another shop (SPEC M1) ------------------------------


def _imported(shop, email="compta@acme.fr", **changes):
    """Store an imported company with no phone, no address and a SIREN alone."""
    from builders import NOW, new_id  # noqa: PLC0415
    from echoppe_accounts import (  # noqa: PLC0415
        Account,
        Category,
        Email,
        Organisation,
        Siren,
    )

    fields = {
        "id": new_id(),
        "email": Email.parse(email),
        "name": "Marie Curie",
        "category": Category.COMPANY,
        "created_at": NOW,
        "session_stamp": "stamp-0",
        "organisation": Organisation("ACME", siren_alone=Siren.parse("732829320")),
        "password_hash": FAST_HASHER.hash(PASSWORD),
        **changes,
    }
    if fields.pop("individual", False):
        fields.update(category=Category.INDIVIDUAL, organisation=None)
    account = Account.imported(**fields)
    with shop.app.accounts.uow() as tx:
        tx.accounts.add(account)
        tx.commit()
    return account


def test_m1_a_login_to_complete_goes_to_the_completion_page(browser, shop):
    """M1, W2: the completion page first, asking only for what is missing."""
    _imported(shop)
    response = log_in(browser, email="compta@acme.fr")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/compte/completer")
    page = browser.get("/compte/completer")
    assert page.status_code == 200
    for name in (
        "phone",
        "siret",
        "billing_address.postal_code",
        "delivery.contact_name",
    ):
        assert f'id="{name}"' in page.text, name
    assert 'id="organisation_name"' not in page.text
    assert "732 829 320" in page.text


def test_m1_the_completion_page_shows_every_problem_then_completes(browser, shop):
    """F8, M1: problems beside their inputs; once complete, "Mon compte"."""
    _imported(shop)
    log_in(browser, email="compta@acme.fr")
    refused = browser.post("/compte/completer", {"siret": "216 901 231 00011"})
    assert refused.status_code == 400
    for name in (
        "phone",
        "siret",
        "billing_address.postal_code",
        "delivery.contact_name",
    ):
        assert f'id="{name}-error"' in refused.text, name
    done = browser.post(
        "/compte/completer",
        {
            "phone": "06 12 34 56 78",
            "siret": "732 829 320 00074",
            "billing_address.street_lines": "12 rue des Lilas",
            "billing_address.postal_code": "75011",
            "billing_address.city": "Paris",
            "billing_address.country": "FR",
            "delivery.contact_name": "Marie Curie",
        },
    )
    assert done.status_code == 302
    assert (
        "Merci : votre compte est complet."
        in browser.get(done.headers["Location"]).text
    )
    assert browser.get("/compte/completer").status_code == 302
    assert "12 rue des Lilas" in browser.get("/compte/adresses").text
    browser.post("/compte/deconnexion")
    again = log_in(browser, email="compta@acme.fr")
    assert not again.headers["Location"].endswith("/compte/completer")


def test_m1_the_address_pages_of_an_account_without_addresses(browser, shop):
    """A1, M1: "to complete" instead of a crash; the forms lead back to it."""
    _imported(shop, individual=True)
    log_in(browser, email="compta@acme.fr")
    page = browser.get("/compte/adresses")
    assert page.status_code == 200
    assert "À compléter" in page.text
    assert "/compte/completer" in page.text
    for path in ("/compte/adresses/facturation", "/compte/adresses/ajouter"):
        assert browser.get(path).headers["Location"].endswith("/compte/adresses")
    assert browser.get("/compte/mes-donnees").status_code == 200


def test_m2_a_disabled_account_is_refused_as_a_wrong_password(browser, shop):
    """M2, P3: the login page answers exactly as for a wrong password."""
    _imported(shop, disabled=True)
    refused = log_in(browser, email="compta@acme.fr")
    wrong = log_in(Browser(shop), email="compta@acme.fr", password="pas le bon")
    assert refused.status_code == wrong.status_code == 400
    assert "Adresse e-mail ou mot de passe incorrect." in refused.text
