"""L'Échoppe's example shop: a small Flask backend built on echoppe-accounts.

Every customer-account flow of the shop goes through the library; this
module only turns HTTP requests into its calls and its answers into pages:

- sign-up, with every problem shown beside its field, in French;
- express checkout (an email and a delivery address) and its completion
  through the set-password link the library mails;
- login, and the session stamp checked on every request, so that a
  password reset in another browser ends this browser's session;
- the two-step reset: the emailed confirm link opens a page whose button
  POSTs, so that a mail scanner following GET links confirms nothing;
- the forced change of password after a temporary or provisional password;
- an email change, effective once the new mailbox confirms it;
- customer service issuing a provisional password;
- "Mes données", downloaded as JSON or as a page;
- the audience-measurement notice, shown once per browser session, and the
  opt-out, after which no event at all is recorded.

Mails go to a Maildir folder (:class:`~echoppe_accounts.MaildirMailer`),
delivered at the end of each POST request; a real shop runs
``echoppe-accounts worker`` instead. Run it from this folder, after
``pip install "echoppe-accounts[example]"``::

    flask --app shop run

and open http://127.0.0.1:5000. Its data, the mailbox included, goes to
``shop-data/`` (``SHOP_DATA`` to change it). ``SHOP_STAFF_PASSWORD`` opens
the customer-service pages; ``SHOP_BASE_URL`` is the URL the mails link
to (``http://127.0.0.1:5000`` by default).
"""

from __future__ import annotations

import functools
import hmac
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers.response import Response as BaseResponse

from echoppe_accounts import (
    AddressForm,
    AnalyticsService,
    App,
    AuthenticationError,
    CompletionForm,
    DeliveryForm,
    EchoppeError,
    ExpressForm,
    Hit,
    RateLimitedError,
    RegistrationForm,
    Secret,
    Settings,
    SQLiteAnalyticsSink,
    SystemClock,
    SystemSecrets,
    ThrottlePolicy,
    ValidationError,
    reminder_due,
    sqlite_app,
)
from echoppe_accounts.ports import Clock, PasswordHasher

log = logging.getLogger("flask_shop")

VISITOR_COOKIE = "echoppe_visiteur"
"""The first-party cookie holding the anonymous visitor id of the measurement."""
OPT_OUT_COOKIE = "echoppe_mesure_refusee"
"""Set to ``1`` when the browser refuses audience measurement (SPEC N3)."""
OPT_OUT_LIFETIME = timedelta(days=395)
"""How long the browser remembers the refusal: 13 months, like the visitor id."""
NEWSLETTER_WORDING = "2026-01"
"""The version of the newsletter consent text shown on the sign-up form (F7)."""
DEVICE_COOKIE = "echoppe_appareil"
"""The signed cookie holding the device token of the browser's last login (P4)."""
DEVICE_TOKEN_LIFETIME = ThrottlePolicy().device_token_ttl
"""How long the device cookie lives: as long as the library's device token."""
LOGIN_KEYS = ("account_id", "stamp", "change_token")
"""What a customer's login keeps in the Flask session."""
HTTP_OK = 200

Fields = Mapping[str, str]
"""Library field paths (or their prefixes) mapped to the form's input names."""

ADDRESS_FIELDS: Fields = {
    "street_lines": "street",
    "postal_code": "postal_code",
    "city": "city",
    "country": "postal_code",
}
SIGNUP_FIELDS: Fields = {
    "category": "category",
    "email": "email",
    "phone": "phone",
    "name": "name",
    "password": "password",
    "organisation_name": "organisation_name",
    "siret": "siret",
    "delivery_addresses[0].contact_name": "contact_name",
    **{f"billing_address.{k}": v for k, v in ADDRESS_FIELDS.items()},
    **{f"delivery_addresses[0].address.{k}": v for k, v in ADDRESS_FIELDS.items()},
}
CHECKOUT_FIELDS: Fields = {
    "email": "email",
    "delivery_address.contact_name": "contact_name",
    **{f"delivery_address.address.{k}": v for k, v in ADDRESS_FIELDS.items()},
}
COMPLETION_FIELDS: Fields = {"password": "password", "phone": "phone", "name": "name"}


@attrs.frozen
class Shop:
    """What the views use: the library wired for the shop, and its measurement.

    Attributes:
        library: The library's use cases (``accounts``, ``auth``,
            ``privacy``) and its outbox ``dispatcher``.
        analytics: The audience measurement (SPEC N1–N5).
        analytics_sink: Where its anonymised events are stored.
        clock: The library's clock, which also times the notice.
        staff_password: The password of the customer-service pages, or
            ``None`` to close them.
    """

    library: App
    analytics: AnalyticsService
    analytics_sink: SQLiteAnalyticsSink
    clock: Clock
    staff_password: str | None


def create_app(
    data: str | Path | None = None,
    *,
    base_url: str | None = None,
    staff_password: str | None = None,
    secret_key: str | None = None,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
) -> Flask:
    """Build the shop on the SQLite files and the Maildir of folder *data*.

    Each argument left out is read from the environment: ``SHOP_DATA``
    (default ``shop-data``), ``SHOP_BASE_URL`` (default
    ``http://127.0.0.1:5000``), ``SHOP_STAFF_PASSWORD`` (without one the
    customer-service pages answer 404) and ``SHOP_SECRET_KEY`` (default: a
    key kept in ``<data>/flask-secret.key``). *clock* and *hasher* are for
    tests: a clock they move, a fast hasher.
    """
    folder = Path(data or os.environ.get("SHOP_DATA", "shop-data"))
    folder.mkdir(parents=True, exist_ok=True)
    base_url = base_url or os.environ.get("SHOP_BASE_URL", "http://127.0.0.1:5000")
    clock = clock or SystemClock()
    # Links in mails come from the configured base URL, never from the
    # request's Host header (SPEC R9). The paths are the library's
    # defaults, spelled out because the routes below must match them.
    settings = Settings(
        base_url=base_url,
        shop_name="L'Échoppe",  # the library names no shop: this one is ours
        set_password_path="/compte/mot-de-passe/definir?jeton={token}",  # noqa: S106
        reset_confirm_path="/compte/mot-de-passe/confirmer?jeton={token}",
        reset_cancel_path="/compte/mot-de-passe/annuler?jeton={token}",
        email_change_confirm_path="/compte/e-mail/confirmer?jeton={token}",
        email_change_cancel_path="/compte/e-mail/annuler?jeton={token}",
    )
    # One App serves every thread of the server: each call opens its own
    # unit of work, a SQLite transaction on its own connection. The key
    # sealing the outbox's mails is kept beside the database.
    library = sqlite_app(
        folder / "accounts.sqlite3",
        folder / "mailbox",
        settings,
        clock=clock,
        hasher=hasher,
    )
    sink = SQLiteAnalyticsSink(folder / "analytics.sqlite3")
    app = Flask(__name__)
    app.extensions["echoppe_shop"] = Shop(
        library=library,
        analytics=AnalyticsService(sink, clock, SystemSecrets()),
        analytics_sink=sink,
        clock=clock,
        staff_password=staff_password or os.environ.get("SHOP_STAFF_PASSWORD"),
    )
    app.config.update(
        SECRET_KEY=secret_key
        or os.environ.get("SHOP_SECRET_KEY")
        or _secret_key(folder),
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=urlsplit(base_url).scheme == "https",
    )
    app.before_request(check_csrf)
    app.before_request(check_session)
    app.after_request(deliver_mails)
    app.after_request(measure_page)
    app.after_request(security_headers)
    app.context_processor(page_values)
    app.register_error_handler(RateLimitedError, too_many_attempts)
    for rule, view, methods in ROUTES:
        app.add_url_rule(rule, view_func=view, methods=methods)
    return app


def _secret_key(data: Path) -> str:
    """Return the key signing the session cookie, kept in *data* (mode 0600)."""
    path = data / "flask-secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip()


def shop() -> Shop:
    """Return the shop of the running app."""
    found: Shop = current_app.extensions["echoppe_shop"]
    return found


def client_key() -> str:
    """Return the client key the library limits actions by: the remote address.

    Behind a reverse proxy, wrap the app in werkzeug's ``ProxyFix`` so that
    this is the visitor's address, not the proxy's. Limits per address are
    also the shop's job (at its proxy), the library's are a second line.
    """
    return request.remote_addr or "unknown"


# -- forms and errors ----------------------------------------------------------------


def form_errors(exc: ValidationError, fields: Fields) -> dict[str, list[str]]:
    """Group the French messages of *exc* by the form input they belong to.

    The library reports every problem at once, each with a field path into
    its form (``billing_address.postal_code``, SPEC F8); the path decides
    the input, and a problem of no input (``""``) goes to the top of the
    form. A message repeated on one input (the sign-up form's one address
    is both the billing and the delivery address) is shown once.
    """
    grouped: dict[str, list[str]] = {}
    for path, problems in exc.as_dict("fr").items():
        field = next(
            (
                name
                for prefix, name in fields.items()
                if path == prefix or path.startswith((f"{prefix}.", f"{prefix}["))
            ),
            "",
        )
        messages = grouped.setdefault(field, [])
        messages.extend(p["message"] for p in problems if p["message"] not in messages)
    return grouped


def _address(form: Mapping[str, str]) -> AddressForm:
    return AddressForm(
        [form.get("street", "")], form.get("postal_code", ""), form.get("city", "")
    )


def _typed(form: Mapping[str, str], *keep: str) -> dict[str, str]:
    """What to show again in a refused form: never a password, nor the token."""
    return {k: v for k, v in form.items() if k in keep}


def message_page(
    title: str, message: str, status: int = HTTP_OK
) -> ResponseReturnValue:
    """Return a page saying *message*."""
    return render_template("message.html", title=title, message=message), status


def token_page(title: str, text: str, button: str) -> ResponseReturnValue:
    """Return the page a mailed link opens; only its button's POST acts.

    Mail scanners and link previews follow GET links: a GET here changes
    nothing, so only the customer's click confirms or cancels.
    """
    return render_template(
        "token_action.html",
        title=title,
        text=text,
        button=button,
        token=request.args.get("jeton", ""),
    )


def token_refused(exc: ValidationError) -> ResponseReturnValue:
    """Return the page of a link that is used, expired or unknown (400)."""
    problems = exc.as_dict("fr")
    message = (problems.get("token") or next(iter(problems.values())))[0]["message"]
    return message_page("Lien invalide", message, 400)


def too_many_attempts(exc: RateLimitedError) -> ResponseReturnValue:
    """Answer a client past its limits with the library's message (429)."""
    return message_page("Trop de tentatives", exc.message("fr"), 429)


# -- every request: CSRF, the session stamp, mails, measurement, headers ------------


def csrf_token() -> str:
    """Return this browser session's CSRF token, making it on first use."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    token: str = session["csrf"]
    return token


def check_csrf() -> None:
    """Refuse a POST without this browser session's token."""
    if request.method != "POST":
        return
    expected = session.get("csrf", "")
    sent = request.form.get("csrf", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, "Le formulaire a expiré : rechargez la page et recommencez.")


def end_login() -> None:
    """Forget the customer's login, keeping the CSRF token and the notice's clock."""
    for key in LOGIN_KEYS:
        session.pop(key, None)


def check_session() -> BaseResponse | None:
    """End a session whose stamp is stale; keep a restricted one on its form.

    The stamp changes with the password, the email or the account's status
    (SPEC P6): a reset confirmed in another browser, a provisional
    password, an email change or erasure ends this session at its next
    request.
    """
    g.account_id = None
    account_id = session.get("account_id")
    if account_id is None:
        return None
    if not shop().library.auth.is_session_current(account_id, session.get("stamp", "")):
        end_login()
        flash("Votre session a pris fin : reconnectez-vous.")
        return None
    g.account_id = account_id
    restricted = "change_token" in session
    if restricted and request.endpoint not in {"new_password", "logout", "static"}:
        # A temporary or provisional password opens only this (SPEC R4).
        return redirect(url_for("new_password"))
    return None


def deliver_mails(response: Response) -> Response:
    """Deliver the mails a POST queued, into the Maildir.

    The simplest delivery: at the end of the request that queued them. A
    shop runs ``echoppe-accounts worker`` instead, which retries what
    failed and keeps requests fast.
    """
    if request.method == "POST":
        try:
            shop().library.dispatcher.dispatch()
        except EchoppeError:
            log.exception("the outbox could not be delivered")
    return response


def measure_page(response: Response) -> Response:
    """Record a page seen, anonymised, unless the visitor opted out (SPEC N2, N3)."""
    if not (
        request.method == "GET"
        and response.status_code == HTTP_OK
        and response.mimetype == "text/html"
    ):
        return response
    the_shop = shop()
    account_opt_out = g.get("account_id") is not None and (
        the_shop.library.accounts.get(g.account_id).analytics_opt_out
    )
    result = the_shop.analytics.track(
        Hit(
            url=request.url,  # the library keeps the path, scrubbed
            user_agent=request.user_agent.string,
            ip=request.remote_addr or "",  # dropped by the default IpPolicy
            referrer=request.referrer or "",
            headers=dict(request.headers),  # Sec-GPC: 1 and DNT: 1 opt out
            visitor_cookie=request.cookies.get(VISITOR_COOKIE, ""),
            browser_opt_out=request.cookies.get(OPT_OUT_COOKIE) == "1",
        ),
        account_opt_out=account_opt_out,
    )
    if result.visitor_cookie:
        response.set_cookie(
            VISITOR_COOKIE,
            result.visitor_cookie,
            expires=result.cookie_expires,  # 13 months from creation, never more
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    elif result.clear_cookie:
        response.delete_cookie(VISITOR_COOKIE)
    return response


def security_headers(response: Response) -> Response:
    """Keep pages out of caches and frames, and their URLs out of Referer headers.

    The pages opened from a mail carry a token in their URL: no Referer
    may take it elsewhere.
    """
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
    )
    return response


def notice_due() -> bool:
    """Whether this page shows the measurement notice; the page counts as activity.

    The notice is due at the start of each browser session (the first
    page, or one after 30 minutes without any, SPEC N4); the session
    cookie lasts until the browser closes. The page layout calls it, so
    only a page actually shown can use the notice up.
    """
    now = shop().clock.now()
    seen = session.get("last_seen")
    due = reminder_due(datetime.fromisoformat(seen) if seen else None, now)
    session["last_seen"] = now.isoformat()
    return due and request.cookies.get(OPT_OUT_COOKIE) != "1"


def page_values() -> dict[str, Any]:
    """Give every template the CSRF token, the notice and the login state."""
    return {
        "csrf_token": csrf_token,
        "privacy_notice_due": notice_due,
        "logged_in": g.get("account_id") is not None,
    }


def login_required(view: Callable[..., ResponseReturnValue]) -> Callable[..., Any]:
    """Send a visitor who is not logged in to the login page."""

    @functools.wraps(view)
    def wrapped(*args: object, **kwargs: object) -> ResponseReturnValue:
        if g.account_id is None:
            return redirect(url_for("login"))
        return view(*args, **kwargs)

    return wrapped


def start_login(email: str, password: str) -> BaseResponse:
    """Log in with the library; a restricted login may only set a new password.

    Raises:
        AuthenticationError: The library refused the login.
    """
    result = shop().library.auth.login(
        email, password, client_key=client_key(), device_token=device_token()
    )
    end_login()
    session["account_id"] = result.account_id
    session["stamp"] = result.session_stamp
    if result.restricted and result.change_token is not None:
        session["change_token"] = result.change_token.reveal()
        return redirect(url_for("new_password"))
    return keep_device_token(redirect(url_for("account")), result.device_token)


def _device_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="device-token")


def device_token() -> str | None:
    """Return the device token this browser got at its last login, if any.

    A cookie whose signature does not check is no cookie (SPEC P4).
    """
    cookie = request.cookies.get(DEVICE_COOKIE)
    if cookie is None:
        return None
    try:
        token = _device_signer().loads(cookie)
    except BadSignature:
        return None
    return token if isinstance(token, str) else None


def keep_device_token(response: BaseResponse, token: Secret | None) -> BaseResponse:
    """Keep the login's new device token in a signed, HttpOnly cookie (SPEC P4).

    With it, this browser keeps its own budget of failed logins while
    someone else guesses at the account, so its owner still gets in.
    """
    if token is not None:
        response.set_cookie(
            DEVICE_COOKIE,
            _device_signer().dumps(token.reveal()),
            max_age=int(DEVICE_TOKEN_LIFETIME.total_seconds()),
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


# -- sign-up, express checkout, login ----------------------------------------------


def home() -> ResponseReturnValue:
    """The shop's front page."""
    return render_template("home.html")


def signup() -> ResponseReturnValue:
    """Full sign-up: every problem shown beside its field, in French (SPEC F8)."""
    if request.method == "GET":
        return render_template("signup.html", form={}, errors={})
    form = request.form
    address = _address(form)
    registration = RegistrationForm(
        category=form.get("category", ""),
        email=form.get("email", ""),
        phone=form.get("phone", ""),
        name=form.get("name", ""),
        password=form.get("password", ""),
        organisation_name=form.get("organisation_name", ""),
        siret=form.get("siret", ""),
        billing_address=address,
        delivery_addresses=[DeliveryForm(form.get("contact_name", ""), address)],
        newsletter=form.get("newsletter") == "oui",
        newsletter_wording_version=NEWSLETTER_WORDING,
    )
    try:
        account = shop().library.accounts.register(
            registration, client_key=client_key()
        )
    except ValidationError as exc:
        typed = _typed(form, *SIGNUP_FIELDS.values(), "newsletter")
        typed.pop("password", None)
        errors = form_errors(exc, SIGNUP_FIELDS)
        return render_template("signup.html", form=typed, errors=errors), 422
    flash("Bienvenue ! Votre compte est créé.")
    return start_login(account.email.address, registration.password)


def checkout() -> ResponseReturnValue:
    """Express checkout: an email and a delivery address, no password (X1, X2)."""
    if request.method == "GET":
        return render_template("checkout.html", form={}, errors={})
    form = request.form
    express = ExpressForm(
        email=form.get("email", ""),
        delivery_address=DeliveryForm(form.get("contact_name", ""), _address(form)),
    )
    try:
        shop().library.accounts.register_express(express, client_key=client_key())
    except ValidationError as exc:
        typed = _typed(form, *CHECKOUT_FIELDS.values())
        errors = form_errors(exc, CHECKOUT_FIELDS)
        return render_template("checkout.html", form=typed, errors=errors), 422
    # The same answer whether the email was new or known, and no session:
    # the order history waits for the mailbox's proof (X3).
    return message_page(
        "Commande enregistrée",
        "Merci ! Un e-mail vous attend pour suivre votre commande et choisir "
        "votre mot de passe.",
    )


def complete() -> ResponseReturnValue:
    """Complete an express account from the mailed set-password link (SPEC X2)."""
    if request.method == "GET":
        token = request.args.get("jeton", "")
        return render_template("complete.html", form={}, errors={}, token=token)
    form = request.form
    token = form.get("jeton", "")
    completion = CompletionForm(
        password=form.get("password", ""),
        phone=form.get("phone", ""),
        name=form.get("name", ""),
    )
    try:
        account = shop().library.accounts.complete_express(token, completion)
    except ValidationError as exc:
        if "token.invalid" in exc.codes:
            return token_refused(exc)
        typed = _typed(form, "phone", "name")
        errors = form_errors(exc, COMPLETION_FIELDS)
        return render_template(
            "complete.html", form=typed, token=token, errors=errors
        ), 422
    flash("Votre compte est complet.")
    return start_login(account.email.address, completion.password)


def login() -> ResponseReturnValue:
    """Log in; a temporary password leads to the new-password form (SPEC R4)."""
    if request.method == "GET":
        return render_template("login.html", error=None, email="")
    email = request.form.get("email", "")
    try:
        return start_login(email, request.form.get("password", ""))
    except AuthenticationError as exc:
        # One message for a wrong password and an unknown email (SPEC P3).
        error = exc.message("fr")
        return render_template("login.html", error=error, email=email), 401


def logout() -> ResponseReturnValue:
    """Log out."""
    end_login()
    flash("Vous êtes déconnecté.")
    return redirect(url_for("home"))


def new_password() -> ResponseReturnValue:
    """Set a new password after a temporary or provisional one (SPEC R4)."""
    change_token = session.get("change_token")
    if g.account_id is None or change_token is None:
        return redirect(url_for("login"))
    if request.method == "GET":
        return render_template("new_password.html", errors={})
    library = shop().library
    password = request.form.get("password", "")
    try:
        library.auth.set_new_password(change_token, password)
    except ValidationError as exc:
        if "token.invalid" in exc.codes:  # the hour it allows is over
            end_login()
            return token_refused(exc)
        errors = form_errors(exc, {"password": "password"})
        return render_template("new_password.html", errors=errors), 422
    # The change ended every session, this one too (SPEC P6): log in again
    # with the new password for a fresh stamp.
    email = library.accounts.get(g.account_id).email.address
    flash("Votre nouveau mot de passe est enregistré.")
    return start_login(email, password)


# -- the two-step reset ----------------------------------------------------------------


def forgot() -> ResponseReturnValue:
    """The "J'ai oublié mon mot de passe" form: one answer for any email (SPEC R1)."""
    if request.method == "GET":
        return render_template("forgot.html", errors={}, email="")
    email = request.form.get("email", "")
    try:
        shop().library.auth.request_password_reset(email, client_key=client_key())
    except ValidationError as exc:  # not an email address at all
        errors = form_errors(exc, {"email": "email"})
        return render_template("forgot.html", email=email, errors=errors), 422
    return message_page(
        "Vérifiez votre boîte e-mail",
        "Si un compte utilise cette adresse, un e-mail vous demande de confirmer "
        "la demande. Sans nouvelles d’ici quelques minutes, regardez dans les "
        "indésirables avant de nous écrire.",
    )


def reset_confirm() -> ResponseReturnValue:
    """Mail 1's confirm link: a page, whose POST sends mail 2 (SPEC R2, R3)."""
    if request.method == "GET":
        return token_page(
            "Réinitialiser votre mot de passe",
            "Confirmez la demande : nous vous enverrons un mot de passe temporaire "
            "par e-mail.",
            "Confirmer la demande",
        )
    try:
        shop().library.auth.confirm_password_reset(request.form.get("jeton", ""))
    except ValidationError as exc:
        return token_refused(exc)
    return message_page(
        "Demande confirmée",
        "Un second e-mail vous apporte un mot de passe temporaire, valable "
        "24 heures. Connectez-vous avec, puis choisissez votre nouveau mot de passe.",
    )


def reset_cancel() -> ResponseReturnValue:
    """Mail 1's "this was not me" link, POSTed the same way (SPEC R2, R5)."""
    if request.method == "GET":
        return token_page(
            "Ce n’était pas vous ?",
            "Annulez la demande : votre mot de passe ne changera pas.",
            "Annuler la demande",
        )
    try:
        shop().library.auth.cancel_password_reset(request.form.get("jeton", ""))
    except ValidationError as exc:
        return token_refused(exc)
    return message_page("Demande annulée", "Votre mot de passe reste le même.")


# -- the account: email change, "Mes données" --------------------------------------


@login_required
def account() -> ResponseReturnValue:
    """The customer's account page."""
    customer = shop().library.accounts.get(g.account_id)
    return render_template("account.html", account=customer, errors={})


@login_required
def change_email() -> ResponseReturnValue:
    """Ask for a new email; it counts once its mailbox is proven (SPEC F10)."""
    accounts = shop().library.accounts
    try:
        # A session alone is not enough: the current password is asked.
        accounts.change_email(
            g.account_id,
            request.form.get("email", ""),
            request.form.get("current_password", ""),
            client_key=client_key(),
        )
    except ValidationError as exc:
        customer = accounts.get(g.account_id)
        errors = form_errors(
            exc, {"email": "email", "current_password": "current_password"}
        )
        return render_template("account.html", account=customer, errors=errors), 422
    return message_page(
        "Vérifiez la nouvelle adresse",
        "Un lien de confirmation est parti vers la nouvelle adresse ; l’actuelle "
        "reste celle du compte d’ici là.",
    )


def email_confirm() -> ResponseReturnValue:
    """The new mailbox's link: a page, then its POST (SPEC F10)."""
    if request.method == "GET":
        return token_page(
            "Confirmer votre nouvelle adresse",
            "Cette adresse deviendra celle de votre compte.",
            "Confirmer l’adresse",
        )
    try:
        shop().library.accounts.confirm_email_change(request.form.get("jeton", ""))
    except ValidationError as exc:
        return token_refused(exc)
    return message_page(
        "Adresse confirmée", "Reconnectez-vous avec votre nouvelle adresse."
    )


def email_cancel() -> ResponseReturnValue:
    """The former mailbox's link: cancel the change, or take the account back.

    SPEC F10: valid 7 days; after the confirmation it restores this address,
    ends every session and sends a reset to it.
    """
    if request.method == "GET":
        return token_page(
            "Annuler le changement d’adresse",
            "Votre compte gardera, ou retrouvera, cette adresse ; toutes ses "
            "sessions seront fermées.",
            "Annuler le changement",
        )
    try:
        shop().library.accounts.cancel_email_change(request.form.get("jeton", ""))
    except ValidationError as exc:
        return token_refused(exc)
    end_login()
    return message_page(
        "Changement annulé",
        "Votre compte garde ou retrouve cette adresse. Si l’adresse avait déjà "
        "changé, un message vient d’y partir pour choisir un nouveau mot de passe.",
    )


@login_required
def my_data() -> ResponseReturnValue:
    """The "Mes données" page: what the shop holds, to download (SPEC G1)."""
    return render_template("my_data.html")


@login_required
def my_data_download(kind: str) -> ResponseReturnValue:
    """Download the export: JSON (Art. 20), or the page written for people."""
    export = shop().library.privacy.export_personal_data(g.account_id)
    if kind == "json":
        response = Response(export.as_json(), mimetype="application/json")
    else:
        response = Response(export.as_html(), mimetype="text/html")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="mes-donnees.{kind}"'
    )
    return response


# -- audience measurement: the notice and the opt-out ------------------------------


def privacy_page() -> ResponseReturnValue:
    """What the shop measures, and the choice to refuse it (SPEC N1–N3)."""
    refused = request.cookies.get(OPT_OUT_COOKIE) == "1"
    return render_template("privacy.html", refused=refused)


def privacy_choice(choice: str) -> ResponseReturnValue:
    """Refuse (or accept again) the measurement, for this browser and the account."""
    refuse = choice == "refuser"
    if g.account_id is not None:
        shop().library.privacy.set_analytics_opt_out(g.account_id, opted_out=refuse)
    response = redirect(url_for("privacy_page"))
    if refuse:
        response.set_cookie(
            OPT_OUT_COOKIE,
            "1",
            max_age=OPT_OUT_LIFETIME,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
        response.delete_cookie(VISITOR_COOKIE)
    else:
        response.delete_cookie(OPT_OUT_COOKIE)
    flash("Votre choix est enregistré.")
    return response


# -- customer service ------------------------------------------------------------------


def support() -> ResponseReturnValue:
    """Customer service: a provisional password, read out on the phone (SPEC R7)."""
    the_shop = shop()
    if not the_shop.staff_password:
        abort(404)
    agent = session.get("agent")
    if agent is None:
        return render_template("support_login.html", error=None)
    if request.method == "GET":
        return render_template("support.html", errors={}, issued=None)
    library = the_shop.library
    try:
        customer = library.accounts.find_by_email(request.form.get("email", ""))
        if customer is None:
            raise ValidationError.single("email", "account.not_found")
        provisional = library.auth.issue_provisional_password(
            customer.id, agent_id=agent, reason=request.form.get("reason", "")
        )
    except ValidationError as exc:
        errors = form_errors(exc, {"email": "email", "reason": "reason"})
        return render_template("support.html", issued=None, errors=errors), 422
    # Shown once, to be read to the customer; the page is not cached.
    return render_template(
        "support.html",
        errors={},
        issued=provisional.reveal(),
        email=customer.email.address,
    )


def support_login() -> ResponseReturnValue:
    """Open a customer-service session with the staff password."""
    expected = shop().staff_password
    if not expected:
        abort(404)
    agent = request.form.get("agent", "").strip()
    given = request.form.get("password", "")
    if not agent or not hmac.compare_digest(given.encode(), expected.encode()):
        error = "Identifiant ou mot de passe incorrect."
        return render_template("support_login.html", error=error), 401
    session["agent"] = agent[:64]
    return redirect(url_for("support"))


GET, POST, BOTH = ["GET"], ["POST"], ["GET", "POST"]
ROUTES: list[tuple[str, Callable[..., ResponseReturnValue], list[str]]] = [
    ("/", home, GET),
    ("/inscription", signup, BOTH),
    ("/commande", checkout, BOTH),
    ("/connexion", login, BOTH),
    ("/deconnexion", logout, POST),
    ("/compte", account, GET),
    ("/compte/mot-de-passe/definir", complete, BOTH),
    ("/compte/mot-de-passe/nouveau", new_password, BOTH),
    ("/compte/mot-de-passe/oublie", forgot, BOTH),
    ("/compte/mot-de-passe/confirmer", reset_confirm, BOTH),
    ("/compte/mot-de-passe/annuler", reset_cancel, BOTH),
    ("/compte/e-mail", change_email, POST),
    ("/compte/e-mail/confirmer", email_confirm, BOTH),
    ("/compte/e-mail/annuler", email_cancel, BOTH),
    ("/compte/mes-donnees", my_data, GET),
    ("/compte/mes-donnees/<any(json, html):kind>", my_data_download, GET),
    ("/confidentialite", privacy_page, GET),
    ("/confidentialite/<any(refuser, accepter):choice>", privacy_choice, POST),
    ("/service-client", support, BOTH),
    ("/service-client/connexion", support_login, POST),
]
"""Every page: its URL, its view (the endpoint's name) and its methods."""


if __name__ == "__main__":  # pragma: no cover
    create_app().run()
