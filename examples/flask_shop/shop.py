"""L'Échoppe's example shop: a small Flask backend built on echoppe-accounts.

The whole "Mon compte" area — sign-up, login, the two-step reset, the
forced change, email and password changes, the address book, the
newsletter, "Mes données", erasure — is the library's Flask blueprint,
registered under ``/compte`` by :class:`~echoppe_accounts.contrib.flask.EchoppeAccounts`
(which also brings CSRF protection and the session stamp checked on every
request). This module keeps only what is the shop's own:

- express checkout (an email and a delivery address), whose mailed link
  opens the blueprint's completion page;
- customer service issuing a provisional password;
- the audience-measurement notice, shown once per browser session (on the
  blueprint's pages too, through ``account_templates/web/_banner.html``),
  and the opt-out, after which no event at all is recorded.

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
import jinja2
from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from echoppe_accounts import (
    AddressForm,
    AnalyticsService,
    App,
    DeliveryForm,
    EchoppeError,
    ExpressForm,
    Hit,
    RateLimitedError,
    Settings,
    SQLiteAnalyticsSink,
    SystemClock,
    SystemSecrets,
    ValidationError,
    reminder_due,
    sqlite_app,
)
from echoppe_accounts.contrib.flask import EchoppeAccounts, current_customer
from echoppe_accounts.ports import Clock, PasswordHasher

log = logging.getLogger("flask_shop")

HERE = Path(__file__).parent
VISITOR_COOKIE = "echoppe_visiteur"
"""The first-party cookie holding the anonymous visitor id of the measurement."""
OPT_OUT_COOKIE = "echoppe_mesure_refusee"
"""Set to ``1`` when the browser refuses audience measurement (SPEC N3)."""
OPT_OUT_LIFETIME = timedelta(days=395)
"""How long the browser remembers the refusal: 13 months, like the visitor id."""
NEWSLETTER_WORDING = "2026-01"
"""The version of the newsletter consent text the sign-up form shows (F7)."""
HTTP_OK = 200

Fields = Mapping[str, str]
"""Library field paths (or their prefixes) mapped to the form's input names."""

ADDRESS_FIELDS: Fields = {
    "street_lines": "street",
    "postal_code": "postal_code",
    "city": "city",
    "country": "postal_code",
}
CHECKOUT_FIELDS: Fields = {
    "email": "email",
    "delivery_address.contact_name": "contact_name",
    **{f"delivery_address.address.{k}": v for k, v in ADDRESS_FIELDS.items()},
}


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
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key
        or os.environ.get("SHOP_SECRET_KEY")
        or _secret_key(folder),
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=urlsplit(base_url).scheme == "https",
        ECHOPPE_NEWSLETTER_WORDING=NEWSLETTER_WORDING,
    )
    # "Mon compte": the library's blueprint. Links in mails come from the
    # configured base URL, never from the request's Host header (SPEC R9),
    # and their paths from the blueprint's routes (``links``, SPEC W4). One
    # App serves every thread: each call opens its own unit of work, and
    # the key sealing the outbox's mails is kept beside the database.
    library = EchoppeAccounts().init_app(
        app,
        lambda links: sqlite_app(
            folder / "accounts.sqlite3",
            folder / "mailbox",
            Settings(
                base_url=base_url,
                shop_name="L'Échoppe",  # the library names no shop: this one is ours
                # The measurement notice on the blueprint's pages too.
                templates=jinja2.FileSystemLoader(HERE / "account_templates"),
                **links,
            ),
            clock=clock,
            hasher=hasher,
        ),
    )
    sink = SQLiteAnalyticsSink(folder / "analytics.sqlite3")
    app.extensions["echoppe_shop"] = Shop(
        library=library,
        analytics=AnalyticsService(sink, clock, SystemSecrets()),
        analytics_sink=sink,
        clock=clock,
        staff_password=staff_password or os.environ.get("SHOP_STAFF_PASSWORD"),
    )
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

    Behind a reverse proxy, set ``ECHOPPE_PROXY_FIX`` (the number of proxies)
    so that werkzeug's ``ProxyFix`` makes this the visitor's address.
    """
    return request.remote_addr or "unknown"


def form_errors(exc: ValidationError, fields: Fields) -> dict[str, list[str]]:
    """Group the French messages of *exc* by the form input they belong to (F8)."""
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


def message_page(
    title: str, message: str, status: int = HTTP_OK
) -> ResponseReturnValue:
    """Return a page saying *message*."""
    return render_template("message.html", title=title, message=message), status


def too_many_attempts(exc: RateLimitedError) -> ResponseReturnValue:
    """Answer a client past its limits with the library's message (429)."""
    return message_page("Trop de tentatives", exc.message("fr"), 429)


# -- every request: mails, measurement, headers ------------------------------------


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
    customer = current_customer()
    account_opt_out = customer is not None and customer.account.analytics_opt_out
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
    """Give every template (the blueprint's too) the notice and the login state."""
    return {
        "privacy_notice_due": notice_due,
        "logged_in": current_customer() is not None,
        "url_for": url_for,
    }


# -- the shop's pages ------------------------------------------------------------------


def home() -> ResponseReturnValue:
    """The shop's front page."""
    return render_template("home.html")


def checkout() -> ResponseReturnValue:
    """Express checkout: an email and a delivery address, no password (X1, X2)."""
    if request.method == "GET":
        return render_template("checkout.html", form={}, errors={})
    form = request.form
    express = ExpressForm(
        email=form.get("email", ""),
        delivery_address=DeliveryForm(
            form.get("contact_name", ""),
            AddressForm(
                [form.get("street", "")],
                form.get("postal_code", ""),
                form.get("city", ""),
            ),
        ),
    )
    try:
        shop().library.accounts.register_express(express, client_key=client_key())
    except ValidationError as exc:
        typed = {k: v for k, v in form.items() if k in CHECKOUT_FIELDS.values()}
        errors = form_errors(exc, CHECKOUT_FIELDS)
        return render_template("checkout.html", form=typed, errors=errors), 422
    # The same answer whether the email was new or known, and no session:
    # the order history waits for the mailbox's proof (X3).
    return message_page(
        "Commande enregistrée",
        "Merci ! Un e-mail vous attend pour suivre votre commande et choisir "
        "votre mot de passe.",
    )


# -- audience measurement: the notice and the opt-out ------------------------------


def privacy_page() -> ResponseReturnValue:
    """What the shop measures, and the choice to refuse it (SPEC N1–N3)."""
    refused = request.cookies.get(OPT_OUT_COOKIE) == "1"
    return render_template("privacy.html", refused=refused)


def privacy_choice(choice: str) -> ResponseReturnValue:
    """Refuse (or accept again) the measurement, for this browser and the account."""
    refuse = choice == "refuser"
    customer = current_customer()
    if customer is not None:
        shop().library.privacy.set_analytics_opt_out(
            customer.account_id, opted_out=refuse
        )
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
    ("/commande", checkout, BOTH),
    ("/confidentialite", privacy_page, GET),
    ("/confidentialite/<any(refuser, accepter):choice>", privacy_choice, POST),
    ("/service-client", support, BOTH),
    ("/service-client/connexion", support_login, POST),
]
"""The shop's own pages: their URL, view (the endpoint's name) and methods.

"Mon compte" (``/compte/…``) is the blueprint's: ``echoppe.login`` and so on.
"""


if __name__ == "__main__":  # pragma: no cover
    create_app().run()
