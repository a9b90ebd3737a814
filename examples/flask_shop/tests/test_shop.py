"""The example shop through Flask's test client: every flow it offers.

Each test drives the shop as browsers would (forms with their CSRF token,
links found in the mails of the Maildir) and checks the pages and the
library's state behind them. "Mon compte" (``/compte/…``) is the library's
Flask blueprint, which the shop registers; its own pages are the checkout,
customer service and the measurement's notice and opt-out.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from markupsafe import escape

from echoppe_accounts import ValidationError

PASSWORD = "une phrase de passe solide"
NEW_PASSWORD = "un tout nouveau mot de passe"
SIGNUP = {
    "category": "individual",
    "email": "claire.martin@exemple.fr",
    "password": PASSWORD,
    "name": "Claire Martin",
    "phone": "06 12 34 56 78",
    "billing_address.street_lines": "12 rue des Lilas",
    "billing_address.postal_code": "75011",
    "billing_address.city": "Paris",
    "delivery_addresses[0].contact_name": "Claire Martin",
}
LOGIN = "/compte/connexion"
LOGOUT = "/compte/deconnexion"
SIGNUP_PAGE = "/compte/inscription"
CHECKOUT = {
    "email": "marie.curie@exemple.fr",
    "contact_name": "Marie Curie",
    "street": "3 place Bellecour",
    "postal_code": "69002",
    "city": "Lyon",
}
RESET_CONFIRM = "/compte/mot-de-passe/confirmer"
RESET_CANCEL = "/compte/mot-de-passe/annuler"
SET_PASSWORD = "/compte/mot-de-passe/definir"
TEMPORARY = re.compile(r"\b[A-Z0-9]{4}(?:-[A-Z0-9]{4}){3}\b")


def signed_up(browser, **changes):
    """Sign *browser* up with the sample form; return the response."""
    response = browser.post(SIGNUP_PAGE, {**SIGNUP, **changes})
    assert response.status_code == 302, response.text
    return response


def request_reset(browser, mails, email=SIGNUP["email"]):
    """Ask for a reset in *browser*; return the confirm mail it brought."""
    response = browser.post("/compte/mot-de-passe/oublie", {"email": email})
    assert response.status_code == 200
    return [m for m in mails() if RESET_CONFIRM in m.text][-1]


def french(code):
    """Return the library's French message for *code*, as a page escapes it."""
    problems = ValidationError.single("field", code).as_dict("fr")
    return str(escape(problems["field"][0]["message"]))


def error_at(page, field):
    """Return what *page* says at its input *field* ("" for nothing)."""
    marker = f'id="{field}-error">'
    return page.split(marker)[1].split("</span>")[0] if marker in page else ""


def path_of(link):
    """Return the path and query of an absolute *link*, as a browser requests it."""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


# -- sign-up -----------------------------------------------------------------------


def test_signup_shows_every_problem_beside_its_field_in_french(browser, shop):
    """F8: a refused sign-up shows each problem at its input, in French; no account."""
    response = browser.post(
        SIGNUP_PAGE,
        {**SIGNUP, "category": "company", "email": "pas-une-adresse",
         "billing_address.postal_code": "7501", "password": "motdepasse"},
    )  # fmt: skip
    assert response.status_code == 400
    page = response.text
    assert error_at(page, "email") == french("email.invalid")
    # One input for both addresses: its problem is shown once.
    assert error_at(page, "billing_address.postal_code") == french(
        "address.postal_code_invalid"
    )
    assert error_at(page, "password") == french("password.common")
    assert error_at(page, "siret") == french("required")
    assert error_at(page, "organisation_name") == french("required")
    assert error_at(page, "name") == ""
    # What was typed stays, except the password.
    assert 'value="pas-une-adresse"' in page
    assert "motdepasse" not in page
    assert shop.library.accounts.find_by_email("pas-une-adresse@exemple.fr") is None


def test_signup_logs_in_and_mails_a_welcome(browser, shop, mails):
    """F1: a valid sign-up creates the account, logs in and mails the customer."""
    response = signed_up(browser)
    assert response.headers["Location"] == "/compte"
    page = browser.get("/compte").text
    assert "claire.martin@exemple.fr" in page
    assert "Bienvenue ! Votre compte est créé." in page
    account = shop.library.accounts.find_by_email(SIGNUP["email"])
    assert account is not None
    assert account.phone.e164 == "+33612345678"
    assert [m.to for m in mails()] == [SIGNUP["email"]]


def test_signup_with_a_known_email_says_so_at_the_email(browser, new_browser):
    """F1: a second sign-up with the same email (any case) is refused at its input."""
    signed_up(browser)
    response = new_browser().post(
        SIGNUP_PAGE, {**SIGNUP, "email": "Claire.Martin@Exemple.FR"}
    )
    assert response.status_code == 400
    assert error_at(response.text, "email") == french("email.taken")


def test_a_form_without_the_csrf_token_is_refused(shop_app, shop):
    """Every POST needs this browser session's token: a forged form changes nothing."""
    client = shop_app.test_client()
    client.get(SIGNUP_PAGE)
    forged = client.post(SIGNUP_PAGE, data=SIGNUP)
    assert forged.status_code == 400
    wrong = client.post(SIGNUP_PAGE, data={**SIGNUP, "csrf_token": "x" * 43})
    assert wrong.status_code == 400
    shop_page = client.post("/confidentialite/refuser")
    assert shop_page.status_code == 400  # the shop's own forms too
    assert shop.library.accounts.find_by_email(SIGNUP["email"]) is None


# -- express checkout and completion ------------------------------------------------


def test_express_checkout_then_completion_through_the_mailed_link(browser, mails):
    """X1, X2: checkout needs no password; the mailed link completes the account."""
    answer = browser.post("/commande", CHECKOUT)
    assert answer.status_code == 200
    assert "Commande enregistrée" in answer.text
    # The checkout grants no session (X3).
    assert browser.get("/compte").headers["Location"].startswith(LOGIN)
    (mail,) = mails()
    assert mail.to == CHECKOUT["email"]
    page = browser.get(path_of(mail.link(SET_PASSWORD)))
    assert page.status_code == 200
    token = mail.link(SET_PASSWORD).rpartition("jeton=")[2]
    assert f'name="jeton" value="{token}"' in page.text
    refused = browser.post(
        SET_PASSWORD,
        {"jeton": token, "password": "motdepasse", "phone": "06 12 34 56 78"},
    )
    assert refused.status_code == 400
    assert error_at(refused.text, "password") == french("password.common")
    # The token survives a refused form.
    done = browser.post(
        SET_PASSWORD, {"jeton": token, "password": PASSWORD, "phone": "0612345678"}
    )
    assert done.headers["Location"] == LOGIN
    browser.post(LOGIN, {"email": CHECKOUT["email"], "password": PASSWORD})
    assert "marie.curie@exemple.fr" in browser.get("/compte").text
    again = browser.post(SET_PASSWORD, {"jeton": token, "password": PASSWORD,
                                        "phone": "0612345678"})  # fmt: skip
    assert again.status_code == 400
    assert french("token.invalid") in again.text


def test_checkout_answers_the_same_for_a_known_email(browser, new_browser, mails):
    """X3: a checkout with a known email looks like any other; the owner is told."""
    signed_up(browser)
    new = new_browser().post("/commande", CHECKOUT)
    known = new_browser().post("/commande", {**CHECKOUT, "email": SIGNUP["email"]})
    assert known.status_code == new.status_code == 200
    assert known.text == new.text
    assert [m.to for m in mails()].count(SIGNUP["email"]) == 2  # welcome, notice


def test_checkout_errors_are_shown_at_their_inputs(browser):
    """F8: an incomplete checkout names each missing field, in French."""
    response = browser.post("/commande", {**CHECKOUT, "contact_name": "", "city": ""})
    assert response.status_code == 422
    assert error_at(response.text, "contact_name") == french("required")
    assert error_at(response.text, "city") == french("required")


# -- login and the session stamp -----------------------------------------------------


def test_a_wrong_password_and_an_unknown_email_read_the_same(browser, new_browser):
    """P3: the login page says the same for a wrong password and an unknown email."""
    signed_up(browser)
    wrong = new_browser().post(
        LOGIN, {"email": SIGNUP["email"], "password": "pas le bon"}
    )
    unknown = new_browser().post(
        LOGIN, {"email": "personne@exemple.fr", "password": "pas le bon"}
    )
    assert wrong.status_code == unknown.status_code == 400
    error = 'id="problems">'
    message = wrong.text.split(error)[1].split("</div>")[0]
    assert message == unknown.text.split(error)[1].split("</div>")[0]
    assert "incorrect" in message


def test_a_browser_that_logged_in_gets_in_during_an_attack(browser, new_browser):
    """P4: the signed device cookie keeps this browser's own budget of failures.

    Guesses from other browsers (here from the same address) put the
    account at its cap; a browser without the cookie is refused even with
    the right password, the owner's browser gets in.
    """
    signed_up(browser)
    right = {"email": SIGNUP["email"], "password": PASSWORD}
    assert browser.post(LOGOUT).status_code == 302
    assert browser.post(LOGIN, right).status_code == 302
    cookie = browser.cookie("echoppe_appareil")
    assert cookie is not None
    assert browser.post(LOGOUT).status_code == 302
    attacker = new_browser()
    for _ in range(15):
        attacker.post(LOGIN, {"email": SIGNUP["email"], "password": "non"})
    assert new_browser().post(LOGIN, right).status_code in {400, 429}
    owner = browser.post(LOGIN, right)
    assert owner.headers["Location"] == "/compte"
    assert browser.cookie("echoppe_appareil") not in {None, cookie}  # a new one


def test_logout_ends_the_session(browser):
    """Logging out forgets the login; the account page asks to log in again."""
    signed_up(browser)
    assert browser.get("/compte").status_code == 200
    assert browser.post(LOGOUT).status_code == 302
    assert browser.get("/compte").headers["Location"].startswith(LOGIN)


def test_a_reset_in_another_browser_logs_this_one_out(browser, new_browser, mails):
    """P6: each request checks the session stamp; a reset elsewhere ends it."""
    signed_up(browser)
    assert browser.get("/compte").status_code == 200
    other = new_browser()
    mail = request_reset(other, mails)
    other.get(path_of(mail.link(RESET_CONFIRM)))
    assert browser.get("/compte").status_code == 200  # opening the page did nothing
    other.post(RESET_CONFIRM, {"jeton": mail.link(RESET_CONFIRM).rpartition("=")[2]})
    ended = browser.get("/compte")
    assert ended.headers["Location"].startswith(LOGIN)


# -- the two-step reset and the forced change ----------------------------------------


def test_the_confirm_link_opens_a_page_and_only_its_button_confirms(
    browser, new_browser, mails
):
    """R2: a GET of the mailed link (a mail scanner's) sends nothing; the POST does."""
    signed_up(browser)
    mail = request_reset(new_browser(), mails)
    link = mail.link(RESET_CONFIRM)
    scanner = new_browser()
    for _ in range(2):
        page = scanner.get(path_of(link))
        assert page.status_code == 200
        assert 'method="post"' in page.text
        assert page.headers["Referrer-Policy"] == "no-referrer"
    assert not any(TEMPORARY.search(m.text) for m in mails())
    customer = new_browser()
    customer.get(path_of(link))
    done = customer.post(RESET_CONFIRM, {"jeton": link.rpartition("=")[2]})
    assert "Consultez votre messagerie" in done.text
    assert mails()[-1].temporary_password()


def test_the_temporary_password_allows_nothing_but_a_new_password(
    browser, new_browser, mails
):
    """R3, R4: the temporary password's session only sets a new one, then logs in."""
    signed_up(browser)
    other = new_browser()
    mail = request_reset(other, mails)
    other.post(RESET_CONFIRM, {"jeton": mail.link(RESET_CONFIRM).rpartition("=")[2]})
    temporary = mails()[-1].temporary_password()
    customer = new_browser()
    login = customer.post(LOGIN, {"email": SIGNUP["email"], "password": temporary})
    assert login.headers["Location"] == "/compte/mot-de-passe/nouveau"
    for page in ("/compte", "/compte/mes-donnees", "/compte/mes-donnees.json", "/"):
        assert customer.get(page).headers["Location"] == "/compte/mot-de-passe/nouveau"
    same = customer.post("/compte/mot-de-passe/nouveau", {"password": temporary})
    assert same.status_code == 400
    common = customer.post("/compte/mot-de-passe/nouveau", {"password": "motdepasse"})
    assert error_at(common.text, "password") == french("password.common")
    done = customer.post("/compte/mot-de-passe/nouveau", {"password": NEW_PASSWORD})
    assert done.headers["Location"] == "/compte"
    assert customer.get("/compte").status_code == 200
    old = new_browser().post(LOGIN, {"email": SIGNUP["email"], "password": PASSWORD})
    assert old.status_code == 400


def test_this_was_not_me_cancels_the_reset(browser, new_browser, mails):
    """R2, R5: the "not me" page's button cancels; the confirm link then fails."""
    signed_up(browser)
    mail = request_reset(new_browser(), mails)
    owner = new_browser()
    assert "Annuler la demande" in owner.get(path_of(mail.link(RESET_CANCEL))).text
    cancelled = owner.post(
        RESET_CANCEL, {"jeton": mail.link(RESET_CANCEL).rpartition("=")[2]}
    )
    assert "Demande annulée" in cancelled.text
    late = owner.post(
        RESET_CONFIRM, {"jeton": mail.link(RESET_CONFIRM).rpartition("=")[2]}
    )
    assert late.status_code == 400
    assert french("token.invalid") in late.text
    assert browser.get("/compte").status_code == 200  # nothing changed


def test_a_reset_answers_the_same_for_an_unknown_email(browser, new_browser):
    """R1: the page after a reset request is the same whatever the email."""
    signed_up(browser)
    known = new_browser().post(
        "/compte/mot-de-passe/oublie", {"email": SIGNUP["email"]}
    )
    unknown = new_browser().post(
        "/compte/mot-de-passe/oublie", {"email": "personne@exemple.fr"}
    )
    assert known.text == unknown.text


def test_links_come_from_the_base_url_not_the_host_header(browser, shop_app, mails):
    """R9: a request to another host name cannot send the mailed link there."""
    signed_up(browser)
    client, evil = shop_app.test_client(), "http://evil.example"
    page = client.get("/compte/mot-de-passe/oublie", base_url=evil).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    sent = client.post(
        "/compte/mot-de-passe/oublie",
        data={"csrf_token": csrf, "email": SIGNUP["email"]},
        base_url=evil,
    )
    assert sent.status_code == 200
    assert mails()[-1].link(RESET_CONFIRM).startswith("https://shop.example/")


def test_a_client_past_its_limit_reads_a_french_message(browser, shop):
    """Per-client limits: the remote address is the client key; 429 in French."""
    allowed = shop.library.auth.settings.client_limits.reset.count
    answers = [
        browser.post("/compte/mot-de-passe/oublie", {"email": f"n{i}@exemple.fr"})
        for i in range(allowed + 1)
    ]
    assert {a.status_code for a in answers[:allowed]} == {200}
    assert answers[allowed].status_code == 429
    assert "Trop de tentatives" in answers[allowed].text


# -- customer service ---------------------------------------------------------------


def test_customer_service_reads_out_a_provisional_password(
    browser, new_browser, mails, staff_password
):
    """R7: an agent issues a provisional password; it forces a new one at login."""
    signed_up(browser)
    agent = new_browser()
    assert agent.get("/service-client").status_code == 200
    refused = agent.post(
        "/service-client/connexion", {"agent": "conseil-12", "password": "non"}
    )
    assert refused.status_code == 401
    agent.post(
        "/service-client/connexion", {"agent": "conseil-12", "password": staff_password}
    )
    unknown = agent.post(
        "/service-client", {"email": "personne@exemple.fr", "reason": "appel"}
    )
    assert unknown.status_code == 422
    assert error_at(unknown.text, "email") == french("account.not_found")
    no_reason = agent.post("/service-client", {"email": SIGNUP["email"]})
    assert error_at(no_reason.text, "reason") == french("required")
    issued = agent.post(
        "/service-client", {"email": SIGNUP["email"], "reason": "e-mail non reçu"}
    )
    assert issued.status_code == 200
    provisional = TEMPORARY.search(
        issued.text.split('id="mot-de-passe-provisoire">')[1]
    ).group(0)
    assert issued.headers["Cache-Control"] == "no-store"
    assert mails()[-1].to == SIGNUP["email"]  # the customer is told
    assert browser.get("/compte").headers["Location"].startswith(LOGIN)  # P6
    login = new_browser().post(
        LOGIN, {"email": SIGNUP["email"], "password": provisional}
    )
    assert login.headers["Location"] == "/compte/mot-de-passe/nouveau"


def test_customer_service_is_closed_without_a_staff_password(shop_module, tmp_path):
    """Without SHOP_STAFF_PASSWORD the customer-service pages do not exist."""
    app = shop_module.create_app(tmp_path, secret_key="k", staff_password="")
    assert app.test_client().get("/service-client").status_code == 404


# -- "Mes données" --------------------------------------------------------------------


def test_mes_donnees_downloads_as_json_and_as_a_page(browser):
    """G1: the export reads as a page and downloads as JSON (Art. 20), logged in."""
    signed_up(browser)
    as_html = browser.get("/compte/mes-donnees")
    assert as_html.text.startswith("<!DOCTYPE html>")
    assert "Mes données" in as_html.text
    as_json = browser.get("/compte/mes-donnees.json")
    assert as_json.headers["Content-Disposition"] == (
        'attachment; filename="mes-donnees.json"'
    )
    export = json.loads(as_json.text)
    assert export["account"]["email"] == SIGNUP["email"]
    assert "$argon2" not in as_json.text  # no hash (G2)
    browser.post(LOGOUT)
    assert browser.get("/compte/mes-donnees.json").headers["Location"].startswith(LOGIN)


# -- the email change --------------------------------------------------------------


def test_an_email_change_counts_once_the_new_mailbox_confirms(browser, mails):
    """F10: the new address's link, then its button, changes the email; P6 ends it."""
    signed_up(browser)
    asked = browser.post(
        "/compte/e-mail",
        {"email": "claire@nouveau.fr", "current_password": PASSWORD},
    )
    assert "Consultez votre messagerie" in asked.text
    confirm = next(m for m in mails() if m.to == "claire@nouveau.fr")
    link = confirm.link("/compte/e-mail/confirmer")
    assert 'name="jeton"' in browser.get(path_of(link)).text
    assert "claire.martin@exemple.fr" in browser.get("/compte").text
    browser.post("/compte/e-mail/confirmer", {"jeton": link.rpartition("=")[2]})
    assert browser.get("/compte").headers["Location"].startswith(LOGIN)
    login = browser.post(LOGIN, {"email": "claire@nouveau.fr", "password": PASSWORD})
    assert login.headers["Location"] == "/compte"


def test_a_refused_email_change_is_shown_on_the_account_page(browser, new_browser):
    """F10: another customer's address is refused at the input, in French."""
    signed_up(browser)
    signed_up(new_browser(), email="autre@exemple.fr")
    refused = browser.post(
        "/compte/e-mail", {"email": "autre@exemple.fr", "current_password": PASSWORD}
    )
    assert refused.status_code == 400
    assert error_at(refused.text, "email") == french("email.taken")


# -- the measurement notice and the opt-out ------------------------------------------


def test_the_notice_shows_once_per_browser_session(new_browser, shop_clock):
    """N4: the notice is on a browser's first page, then after 30 idle minutes."""
    browser = new_browser()
    assert 'id="avis-mesure"' in browser.get("/").text
    assert 'id="avis-mesure"' not in browser.get(SIGNUP_PAGE).text
    assert 'id="avis-mesure"' not in browser.get("/").text
    assert 'id="avis-mesure"' in new_browser().get("/").text  # another browser
    shop_clock.advance(timedelta(minutes=29))
    assert 'id="avis-mesure"' not in browser.get("/").text
    shop_clock.advance(timedelta(minutes=30))
    assert 'id="avis-mesure"' in browser.get("/").text


def test_a_redirect_does_not_use_the_notice_up(new_browser):
    """N4: only a page shown counts: a first request that redirects leaves it due."""
    browser = new_browser()
    assert browser.get("/compte").status_code == 302
    assert 'id="avis-mesure"' in browser.get(LOGIN).text  # the blueprint's page


def test_opting_out_stops_every_event(browser, shop):
    """N3: after "Refuser", no page of this browser records an event or a visitor id."""
    sink = shop.analytics_sink
    browser.get("/")
    browser.get(SIGNUP_PAGE)
    assert len(sink.events()) == 2
    assert browser.cookie("echoppe_visiteur")
    browser.post("/confidentialite/refuser")
    assert browser.cookie("echoppe_visiteur") is None
    for page in ("/", SIGNUP_PAGE, "/confidentialite", LOGIN):
        browser.get(page)
    assert len(sink.events()) == 2
    assert 'id="avis-mesure"' not in browser.get("/").text
    assert "Vous avez refusé" in browser.get("/confidentialite").text
    browser.post("/confidentialite/accepter")
    browser.get("/")
    assert len(sink.events()) == 3


def test_an_account_opt_out_holds_in_every_browser(browser, new_browser, shop):
    """N3: refusing while logged in is kept on the account, for its other browsers."""
    signed_up(browser)
    browser.post("/confidentialite/refuser")
    account = shop.library.accounts.find_by_email(SIGNUP["email"])
    assert account.analytics_opt_out
    other = new_browser()
    other.post(LOGIN, {"email": SIGNUP["email"], "password": PASSWORD})
    before = len(shop.analytics_sink.events())
    other.get("/compte")
    assert len(shop.analytics_sink.events()) == before


@pytest.mark.parametrize("header", ["Sec-GPC", "DNT"])
def test_a_browser_asking_not_to_be_tracked_is_not(browser, shop, header):
    """N3: Sec-GPC: 1 and DNT: 1 count as an opt-out: no event, no cookie."""
    browser.get("/", headers={header: "1"})
    assert shop.analytics_sink.events() == []
    assert browser.cookie("echoppe_visiteur") is None


def test_measured_pages_keep_no_token_nor_address(browser, shop, mails):
    """N2: the stored path of a page opened from a mail has no token; no IP is kept."""
    signed_up(browser)
    mail = request_reset(browser, mails)
    browser.get(path_of(mail.link(RESET_CONFIRM)))
    paths = [e.path for e in shop.analytics_sink.events()]
    assert RESET_CONFIRM in paths
    assert not any("jeton" in p for p in paths)
    assert all(e.ip is None for e in shop.analytics_sink.events())
