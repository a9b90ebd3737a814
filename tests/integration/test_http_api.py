"""The JSON API through FastAPI's test client (issue 20; SPEC W1–W4).

Each test drives the endpoints a single-page or mobile front end calls,
against the library wired on the in-memory store, and checks what the
front end relies on: statuses, F8's error shape, sessions, CSRF.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

pytest.importorskip("fastapi", reason="the JSON API needs the fastapi extra")
pytest.importorskip("httpx2", reason="Starlette's test client needs httpx2")

from fastapi.testclient import TestClient

from echoppe_accounts import (
    Argon2Hasher,
    Category,
    ClientLimits,
    InMemoryStore,
    Limit,
    MailKind,
    Settings,
    bootstrap,
)
from echoppe_accounts.contrib.api import ApiSettings, create_app
from echoppe_accounts.testing import FrozenClock, RecordingMailer
from sample_forms import links, pending, temporary_password

PASSWORD = "une phrase de passe solide"
SECRET = b"k" * 32
ADDRESS = {
    "street_lines": ["12 rue des Lilas"],
    "postal_code": "75011",
    "city": "Paris",
}
LYON = {"street_lines": ["3 place Bellecour"], "postal_code": "69002", "city": "Lyon"}
ORGANISATIONS = {
    "particulier": {},
    "professionnel": {"organisation_name": "Cabinet Martin", "siret": "73282932000074"},
    "entreprise": {"organisation_name": "Exemple SA", "siret": "732.829.320.00074"},
    "collectivite": {
        "organisation_name": "Mairie de Lyon",
        "siret": "21690123100011",
        "chorus_requirement": "either",
        "chorus_engagement_number": "EJ-2026-42",
    },
}


def signup_body(category="particulier", email="jean.dupont@exemple.fr", **extra):
    """Return a valid sign-up body for *category*."""
    return {
        "category": category,
        "email": email,
        "phone": "06 12 34 56 78",
        "name": "Jean Dupont",
        "password": PASSWORD,
        "billing_address": ADDRESS,
        "delivery_addresses": [{"contact_name": "Marie Curie", "address": LYON}],
        **ORGANISATIONS[category],
        **extra,
    }


def build(settings=None, api_settings=None, clock=None):
    """Return the library and its API, on a fresh in-memory store."""
    library = bootstrap(
        InMemoryStore().unit_of_work,
        RecordingMailer(),
        settings or Settings(base_url="https://www.lechoppe.fr", outbox_key=bytes(32)),
        clock=clock or FrozenClock(),
        hasher=Argon2Hasher(memory_cost=8, time_cost=1),
    )
    api = create_app(library, api_settings or ApiSettings(secret_key=SECRET))
    return library, api


def client(api, **options):
    """Return a test client on HTTPS, so that Secure cookies travel."""
    return TestClient(api, base_url="https://testserver", **options)


@pytest.fixture
def clock():
    """The library's clock."""
    return FrozenClock()


@pytest.fixture
def library_and_api(clock):
    """The library and its API."""
    return build(clock=clock)


@pytest.fixture
def library(library_and_api):
    """The library behind the API."""
    return library_and_api[0]


@pytest.fixture
def api(library_and_api):
    """The API."""
    return library_and_api[1]


@pytest.fixture
def http(api):
    """A browser-like client."""
    return client(api)


def mails(library, kind):
    """Return the queued mails of *kind*."""
    return [m for m in pending(library.accounts) if m.kind is kind]


def sign_up(http, **body):
    """Sign up through the API; return the answer."""
    response = http.post("/signup", json=signup_body(**body))
    assert response.status_code == 201, response.text
    return response


def browser_login(http, email="jean.dupont@exemple.fr", password=PASSWORD):
    """Log in with a cookie session; return the CSRF header to send."""
    csrf = http.get("/csrf").json()["csrf_token"]
    response = http.post(
        "/login",
        json={"email": email, "password": password},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}


def bearer_login(http, email="jean.dupont@exemple.fr", password=PASSWORD):
    """Log in as an app; return the Authorization header."""
    response = http.post(
        "/login", json={"email": email, "password": password, "session": "bearer"}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


# -- the app factory and the schema --


def test_the_schema_is_openapi_3_1_with_every_endpoint(api):
    """The schema is generated from the code: OpenAPI 3.1, typed bodies (W1)."""
    schema = api.openapi()
    assert schema["openapi"].startswith("3.1")
    assert {
        "/signup",
        "/express",
        "/express/complete",
        "/login",
        "/logout",
        "/password/reset",
        "/password/reset/confirm",
        "/password/forced-change",
        "/password/change",
        "/email/change",
        "/addresses/delivery/{delivery_id}",
        "/addresses/billing",
        "/newsletter/subscribe",
        "/newsletter/unsubscribe",
        "/newsletter/confirm",
        "/personal-data",
        "/erase",
    } <= set(schema["paths"])
    signup = schema["paths"]["/signup"]["post"]
    assert signup["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }


def test_the_core_never_imports_the_api():
    """W1: wiring and using the library loads neither the API nor FastAPI."""
    code = (
        "import sys, echoppe_accounts as e; "
        "from echoppe_accounts.testing import RecordingMailer; "
        "e.bootstrap(e.InMemoryStore().unit_of_work, RecordingMailer(), "
        "e.Settings(base_url='https://www.lechoppe.fr', outbox_key=bytes(32))); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'fastapi', 'starlette', 'pydantic'} "
        "or m.startswith('echoppe_accounts.contrib')))"
    )
    done = subprocess.run(  # noqa: S603 (our own interpreter, a fixed statement)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


# -- sign-up --


@pytest.mark.parametrize("category", sorted(ORGANISATIONS))
def test_sign_up_in_each_category_then_log_in(http, category):
    """Each of the four categories signs up and logs in (SPEC C1, C3, W2)."""
    response = sign_up(http, category=category)
    assert response.json() == {"verification_required": False}
    headers = bearer_login(http)
    account = http.get("/account", headers=headers).json()
    assert account["category"] == Category.parse(category).value
    assert account["email"] == "jean.dupont@exemple.fr"
    if category == "particulier":
        assert account["organisation"] is None
    else:
        assert (
            account["organisation"]["name"]
            == ORGANISATIONS[category]["organisation_name"]
        )


def test_sign_up_reports_every_problem_with_its_path(http):
    """All problems at once, each with F8's path, code and French message."""
    response = http.post(
        "/signup",
        json=signup_body(
            category="entreprise",
            email="pas-un-email",
            siret="123",
            password="court",
            delivery_addresses=[
                {"contact_name": "X", "address": {**LYON, "postal_code": "6900"}}
            ],
        ),
    )
    assert response.status_code == 422
    errors = [(e["path"], e["code"]) for e in response.json()["errors"]]
    assert errors == [
        ("email", "email.invalid"),
        ("siret", "siret.invalid_format"),
        ("delivery_addresses[0].address.postal_code", "address.postal_code_invalid"),
        ("password", "password.too_short"),
    ]
    assert all(e["message"] for e in response.json()["errors"])


def test_error_messages_follow_accept_language_or_the_lang_parameter(http):
    """French by default, English when asked (SPEC F8, T1)."""
    body = signup_body(email="x")
    french = http.post("/signup", json=body).json()["errors"][0]["message"]
    english = http.post(
        "/signup", json=body, headers={"Accept-Language": "en-GB,en;q=0.8"}
    ).json()["errors"][0]["message"]
    by_parameter = http.post("/signup?lang=en", json=body).json()["errors"][0]
    assert french != english
    assert by_parameter["message"] == english


def test_a_body_of_the_wrong_shape_is_answered_in_f8s_shape(http):
    """A body the models refuse is a 422 with paths, never a framework page."""
    response = http.post(
        "/signup", json={"email": 3, "delivery_addresses": "no", "extra": 1}
    )
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert {"email", "delivery_addresses", "extra"} <= paths
    not_json = http.post(
        "/signup", content=b"\xff\xfe", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422


def test_an_unknown_path_is_a_json_404(http):
    """Unknown paths and methods answer JSON errors too."""
    response = http.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "request.not_found"


def test_a_body_past_the_limit_is_refused_before_it_is_read(api):
    """413 past ``max_body_bytes`` (SPEC F9)."""
    response = client(api).post(
        "/signup",
        content=b"{" + b" " * 300_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "request.too_large"


def test_verified_sign_up_answers_alike_and_opens_with_the_link(clock):
    """With X5 on, the answer says to check the mailbox; the link opens it."""
    library, api = build(
        Settings(
            base_url="https://www.lechoppe.fr",
            outbox_key=bytes(32),
            verified_signup=True,
        ),
        clock=clock,
    )
    http = client(api)
    assert sign_up(http).json() == {"verification_required": True}
    assert sign_up(http).json() == {"verification_required": True}  # same answer
    refused = http.post(
        "/login",
        json={
            "email": "jean.dupont@exemple.fr",
            "password": PASSWORD,
            "session": "bearer",
        },
    )
    assert refused.status_code == 401
    token = links(mails(library, MailKind.SIGNUP_VERIFY)[0])["verifier"]
    response = http.post("/signup/verify", json={"token": token, "password": PASSWORD})
    assert response.status_code == 204
    bearer_login(http)
    again = http.post("/signup/verify", json={"token": token, "password": PASSWORD})
    assert again.status_code == 400
    assert again.json()["errors"][0]["code"] == "token.invalid"


# -- express checkout --


def test_express_checkout_then_completion(http, library):
    """Checkout with an email and an address, then set the password (SPEC X2)."""
    body = {
        "email": "client@exemple.fr",
        "delivery_address": {"contact_name": "Paul Client", "address": LYON},
    }
    assert http.post("/express", json=body).status_code == 202
    assert http.post("/express", json=body).status_code == 202  # known: same answer
    token = links(mails(library, MailKind.SET_PASSWORD)[0])["definir"]
    bad = http.post(
        "/express/complete",
        json={"token": token, "password": "x", "category": "entreprise", "siret": "1"},
    )
    assert bad.status_code == 422
    assert {e["path"] for e in bad.json()["errors"]} >= {
        "password",
        "siret",
        "organisation_name",
    }
    done = http.post(
        "/express/complete",
        json={"token": token, "password": PASSWORD, "phone": "06 12 34 56 78"},
    )
    assert done.status_code == 204, done.text
    bearer_login(http, "client@exemple.fr")
    reused = http.post(
        "/express/complete",
        json={"token": token, "password": PASSWORD, "phone": "06 12 34 56 78"},
    )
    assert reused.status_code == 400


# -- login, sessions, CSRF --


def test_a_wrong_password_is_a_401_in_f8s_shape(http):
    """login.failed says nothing about which part was wrong (SPEC P3)."""
    sign_up(http)
    response = http.post(
        "/login",
        json={
            "email": "jean.dupont@exemple.fr",
            "password": "wrong",
            "session": "bearer",
        },
    )
    assert response.status_code == 401
    assert response.json()["errors"] == [
        {
            "path": "",
            "code": "login.failed",
            "message": response.json()["errors"][0]["message"],
        }
    ]


def test_a_cookie_session_is_httponly_samesite_secure(http):
    """The session cookie is HttpOnly, SameSite and Secure (SPEC W3)."""
    sign_up(http)
    csrf = http.get("/csrf").json()["csrf_token"]
    response = http.post(
        "/login",
        json={"email": "jean.dupont@exemple.fr", "password": PASSWORD},
        headers={"X-CSRF-Token": csrf},
    )
    cookie = next(
        c
        for c in response.headers.get_list("set-cookie")
        if c.startswith("echoppe_session=")
    )
    lowered = cookie.lower()
    assert "httponly" in lowered
    assert "samesite=lax" in lowered
    assert "secure" in lowered
    assert response.json()["token"] is None  # a browser never sees its token
    assert http.get("/account").status_code == 200


def test_a_cookie_login_without_the_csrf_header_is_refused(http):
    """Login CSRF: a cookie login needs the token of GET /csrf (SPEC W3)."""
    sign_up(http)
    body = {"email": "jean.dupont@exemple.fr", "password": PASSWORD}
    assert http.post("/login", json=body).status_code == 403
    http.get("/csrf")
    refused = http.post("/login", json=body, headers={"X-CSRF-Token": "forged"})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "csrf.invalid"


def test_a_cookie_session_state_change_without_csrf_is_refused(http):
    """Every state change of a cookie session needs its CSRF token (SPEC W3)."""
    sign_up(http)
    headers = browser_login(http)
    body = {"contact_name": "Paul", "address": ADDRESS}
    refused = http.post("/addresses/delivery", json=body)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "csrf.invalid"
    assert (
        http.post("/addresses/delivery", json=body, headers=headers).status_code == 201
    )
    assert http.get("/addresses").status_code == 200  # reading needs none


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None],
)
def test_a_body_a_cross_site_form_can_send_is_refused(http, content_type):
    """W3: only JSON bodies are read, which no form can send without a preflight."""
    sign_up(http)
    headers = {"content-type": content_type} if content_type else {}
    response = http.post(
        "/login",
        content=b'{"email": "jean.dupont@exemple.fr", "password": "une phrase de '
        b'passe solide", "session": "bearer"}',
        headers=headers,
    )
    assert response.status_code == 422  # and no session was opened


def test_without_a_session_the_account_is_a_401(http):
    """No session, a forged one, or one from another key: 401 (SPEC W3)."""
    assert http.get("/account").status_code == 401
    forged = http.get("/account", headers={"Authorization": "Bearer abc.def"})
    assert forged.status_code == 401
    assert forged.json()["errors"][0]["code"] == "session.required"
    sign_up(http)
    headers = bearer_login(http)
    _, other = build()
    assert client(other).get("/account", headers=headers).status_code == 401


def test_a_bearer_token_is_not_a_cookie_and_back(http):
    """A bearer token does not open as a cookie session, nor the reverse."""
    sign_up(http)
    token = bearer_login(http)["Authorization"].split()[1]
    http.cookies.set("echoppe_session", token, domain="testserver.local")
    other = client(http.app)
    other.cookies.set("echoppe_session", token)
    assert other.get("/account").status_code == 401


def test_a_session_expires_after_its_max_age(http, clock):
    """A session lasts ``session_max_age`` at most."""
    sign_up(http)
    headers = bearer_login(http)
    clock.advance(timedelta(days=15))
    assert http.get("/account", headers=headers).status_code == 401


def test_a_stolen_session_and_bearer_are_refused_after_a_password_change(http, api):
    """P6, W3: after a password change, every other session ends; this one goes on."""
    sign_up(http)
    thief_cookie = client(api)
    browser_login(thief_cookie)
    thief_bearer = bearer_login(http)
    mine = bearer_login(http)
    response = http.post(
        "/password/change",
        json={"current_password": PASSWORD, "new_password": "un tout autre secret"},
        headers=mine,
    )
    assert response.status_code == 200, response.text
    assert thief_cookie.get("/account").status_code == 401
    assert http.get("/account", headers=thief_bearer).status_code == 401
    assert http.get("/account", headers=mine).status_code == 401
    renewed = {"Authorization": f"Bearer {response.json()['token']}"}
    assert http.get("/account", headers=renewed).status_code == 200


def test_a_password_change_with_a_wrong_current_password_is_a_422(http):
    """P2, F8: both problems at once, at the fields of the body."""
    sign_up(http)
    headers = bearer_login(http)
    response = http.post(
        "/password/change",
        json={"current_password": "nope", "new_password": "court"},
        headers=headers,
    )
    assert response.status_code == 422
    assert [(e["path"], e["code"]) for e in response.json()["errors"]] == [
        ("current_password", "password.wrong_current"),
        ("new_password", "password.too_short"),
    ]


def test_logout_ends_the_cookie_session(http):
    """Logout removes the session cookie (CSRF checked)."""
    sign_up(http)
    headers = browser_login(http)
    assert http.post("/logout").status_code == 403
    assert http.post("/logout", headers=headers).status_code == 204
    assert http.get("/account").status_code == 401


def test_the_session_endpoint_gives_the_csrf_token_again(http):
    """A reloaded page reads its CSRF token from GET /session."""
    sign_up(http)
    headers = browser_login(http)
    session = http.get("/session").json()
    assert session["csrf_token"] == headers["X-CSRF-Token"]
    assert session["restricted"] is False


# -- rate limits and client keys --


def test_rate_limits_answer_429_with_retry_after(clock):
    """A client past its limit gets 429 and Retry-After in seconds (SPEC W4)."""
    _, api = build(
        Settings(
            base_url="https://www.lechoppe.fr",
            outbox_key=bytes(32),
            client_limits=ClientLimits(reset=Limit(2, timedelta(hours=1))),
        ),
        clock=clock,
    )
    http = client(api)
    for _ in range(2):
        assert (
            http.post("/password/reset", json={"email": "a@exemple.fr"}).status_code
            == 202
        )
    response = http.post("/password/reset", json={"email": "a@exemple.fr"})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["retry_after"] == int(response.headers["Retry-After"])
    assert response.json()["errors"][0]["code"] == "client.throttled"


def test_a_throttled_login_is_a_429_with_retry_after(http):
    """Failed logins slow down the account (SPEC P4): 429 with Retry-After."""
    sign_up(http)
    body = {"email": "jean.dupont@exemple.fr", "password": "faux", "session": "bearer"}
    statuses = [http.post("/login", json=body) for _ in range(6)]
    throttled = [r for r in statuses if r.status_code == 429]
    assert throttled
    assert int(throttled[0].headers["Retry-After"]) >= 1
    assert throttled[0].json()["errors"][0]["code"] == "login.throttled"


def test_a_forwarded_header_counts_only_from_a_trusted_proxy(clock):
    """The client key is the connection's, or a trusted proxy's header (SPEC W3)."""
    _, api = build(
        Settings(
            base_url="https://www.lechoppe.fr",
            outbox_key=bytes(32),
            client_limits=ClientLimits(reset=Limit(1, timedelta(hours=1))),
        ),
        api_settings=ApiSettings(
            secret_key=SECRET,
            trusted_proxies=["10.0.0.0/8"],
            client_ip_header="X-Forwarded-For",
        ),
        clock=clock,
    )
    direct = client(api, client=("203.0.113.9", 4000))
    body = {"email": "a@exemple.fr"}
    spoof = {"X-Forwarded-For": "198.51.100.1"}
    assert direct.post("/password/reset", json=body, headers=spoof).status_code == 202
    # The same connection with another forged header is the same client.
    other = {"X-Forwarded-For": "198.51.100.2"}
    assert direct.post("/password/reset", json=body, headers=other).status_code == 429
    proxy = client(api, client=("10.1.2.3", 4000))
    first = {"X-Forwarded-For": "198.51.100.7, 10.0.0.5"}
    second = {"X-Forwarded-For": "198.51.100.8"}
    assert proxy.post("/password/reset", json=body, headers=first).status_code == 202
    assert proxy.post("/password/reset", json=body, headers=second).status_code == 202
    assert proxy.post("/password/reset", json=body, headers=first).status_code == 429
    # A hop that is no address ends the walk at the last address read.
    junk = {"X-Forwarded-For": "not-an-ip, 198.51.100.9"}
    assert proxy.post("/password/reset", json=body, headers=junk).status_code == 202


# -- the two-step reset and the restricted session --


def test_the_two_step_reset_gives_a_restricted_session_that_only_sets_a_password(
    http, library
):
    """R1–R4: request, confirm, temporary password, restricted session, new password."""
    sign_up(http)
    assert (
        http.post("/password/reset", json={"email": "inconnu@exemple.fr"}).status_code
        == 202
    )
    assert (
        http.post(
            "/password/reset", json={"email": "jean.dupont@exemple.fr"}
        ).status_code
        == 202
    )
    tokens = links(mails(library, MailKind.RESET_CONFIRM)[0])
    assert (
        http.post("/password/reset/confirm", json={"token": "nope"}).status_code == 400
    )
    assert (
        http.post(
            "/password/reset/confirm", json={"token": tokens["confirmer"]}
        ).status_code
        == 204
    )
    temporary = temporary_password(mails(library, MailKind.TEMPORARY_PASSWORD)[0])
    headers = browser_login(http, password=temporary)
    session = http.get("/session").json()
    assert session["restricted"] is True
    refused = http.get("/account")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "session.restricted"
    assert http.get("/personal-data").status_code == 403
    assert (
        http.post("/password/forced-change", json={"new_password": "x"}).status_code
        == 403
    )
    weak = http.post(
        "/password/forced-change", json={"new_password": "x"}, headers=headers
    )
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["path"] == "new_password"
    done = http.post(
        "/password/forced-change",
        json={"new_password": "un tout nouveau secret"},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["restricted"] is False
    assert http.get("/account").status_code == 200
    full = bearer_login(http, password="un tout nouveau secret")
    assert (
        http.post(
            "/password/forced-change",
            json={"new_password": "encore un autre"},
            headers=full,
        ).status_code
        == 403
    )


def test_a_reset_can_be_cancelled(http, library):
    """The "this was not me" link cancels the request (SPEC R2, R5)."""
    sign_up(http)
    http.post("/password/reset", json={"email": "jean.dupont@exemple.fr"})
    tokens = links(mails(library, MailKind.RESET_CONFIRM)[0])
    assert (
        http.post(
            "/password/reset/cancel", json={"token": tokens["annuler"]}
        ).status_code
        == 204
    )
    assert (
        http.post(
            "/password/reset/confirm", json={"token": tokens["confirmer"]}
        ).status_code
        == 400
    )


# -- "Mes données" and erasure --


def test_personal_data_as_json_and_as_a_page(http):
    """G1: everything held, as JSON with a schema version, and as a page."""
    sign_up(http)
    headers = bearer_login(http)
    data = http.get("/personal-data", headers=headers).json()
    assert "jean.dupont@exemple.fr" in str(data)
    assert "password" not in {k.lower() for k in data}
    page = http.get("/personal-data/page", headers=headers)
    assert page.headers["content-type"].startswith("text/html")
    assert "Jean Dupont" in page.text


def test_erasure_needs_the_password_and_an_explicit_confirmation(http):
    """G3, W2: password again and confirm: true; then no session, no login."""
    sign_up(http)
    headers = bearer_login(http)
    other = bearer_login(http)
    unconfirmed = http.post("/erase", json={"password": PASSWORD}, headers=headers)
    assert unconfirmed.status_code == 422
    assert unconfirmed.json()["errors"][0]["path"] == "confirm"
    wrong = http.post(
        "/erase", json={"password": "faux", "confirm": True}, headers=headers
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["code"] == "password.wrong_current"
    done = http.post(
        "/erase", json={"password": PASSWORD, "confirm": True}, headers=headers
    )
    assert done.status_code == 204
    assert http.get("/account", headers=other).status_code == 401
    login = http.post(
        "/login",
        json={
            "email": "jean.dupont@exemple.fr",
            "password": PASSWORD,
            "session": "bearer",
        },
    )
    assert login.status_code == 401


def test_erasure_queues_the_farewell_mail_and_nothing_else(http, library):
    """W2, G3: after the erasure, the farewell is the account's only mail."""
    sign_up(http)
    headers = bearer_login(http)
    done = http.post(
        "/erase", json={"password": PASSWORD, "confirm": True}, headers=headers
    )
    assert done.status_code == 204
    [farewell] = pending(library.accounts)
    assert farewell.kind is MailKind.ACCOUNT_ERASED
    assert farewell.to == "jean.dupont@exemple.fr"
