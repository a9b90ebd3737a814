"""The blueprint's views: the same pages as the Django app (SPEC W2).

Every state change is a POST, refused by Flask-WTF's ``CSRFProtect``
without its token; a link from a mail opens a page whose button POSTs, so
that a mail scanner following links changes nothing (SPEC W2, W3). Input
names are the library's field paths, so each problem it reports is shown
beside its field (SPEC F8).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, URLSafeSerializer

from echoppe_accounts.bootstrap import App
from echoppe_accounts.contrib import _calls
from echoppe_accounts.contrib._web import (
    ACCOUNT_COMPLETION_ALIASES,
    ACCOUNT_COMPLETION_INPUTS,
    ADDRESS_INPUTS,
    COMPLETION_INPUTS,
    DEVICE_SALT,
    HTTP_BAD_REQUEST,
    HTTP_NOT_FOUND,
    HTTP_TOO_MANY,
    LINK_PAGES,
    SIGNUP_ALIASES,
    SIGNUP_INPUTS,
    TOKEN_PARAMETER,
    account_completion_form,
    account_completion_page,
    address_form,
    address_values,
    change_newsletter,
    completion_form,
    delivery_form,
    erase_problems,
    field_errors,
    link_refused_detail,
    registration_form,
    retry_after,
    typed,
)
from echoppe_accounts.contrib.flask._core import (
    ACCOUNT_KEY,
    BLUEPRINT,
    CHANGE_KEY,
    Customer,
    app_url,
    client_key,
    csrf_refused,
    current_customer,
    customer_required,
    end_session,
    get_app,
    language,
    notify,
    rate_limited,
    render,
    safe_next,
    start_restricted_session,
    start_session,
    state,
)
from echoppe_accounts.domain.errors import (
    AuthenticationError,
    NotFoundError,
    RateLimitedError,
    ValidationError,
)


def _data() -> dict[str, str]:
    return {k: str(v) for k, v in request.form.items()}


def _token() -> str:
    source = request.form if request.method == "POST" else request.args
    return str(source.get(TOKEN_PARAMETER, ""))


def _link_refused(exc: ValidationError) -> Response:
    return render(
        "message",
        {"kind": "link_refused", "detail": link_refused_detail(exc, language())},
        status=HTTP_BAD_REQUEST,
    )


def _me() -> Customer:
    found = current_customer()
    if found is None:  # pragma: no cover (customer_required let it in)
        raise NotFoundError("customer")
    return found


# -- sign-up, login and logout ------------------------------------------------


def signup() -> ResponseReturnValue:
    """Create an account (four categories, SPEC F1–F8, C1–C4)."""
    if request.method != "POST":
        return render("signup", {"form": {"billing_address.country": "FR"}})
    data = _data()
    options = state().options
    form = registration_form(
        data, language=language(), wording=options.newsletter_wording
    )
    app = get_app()
    try:
        account = app.accounts.register(form, client_key=client_key())
    except ValidationError as exc:
        errors = field_errors(exc, language(), SIGNUP_INPUTS, SIGNUP_ALIASES)
        return render(
            "signup",
            {"form": typed(data), "errors": errors},
            status=HTTP_BAD_REQUEST,
        )
    if app.accounts.settings.verified_signup:
        return render("message", {"kind": "signup_check_mailbox"})
    start_session(account.id, account.session_stamp)
    notify("welcome")
    return redirect(app_url("home"))


def signup_verify() -> ResponseReturnValue:
    """Prove the mailbox of a verified sign-up, with its password (SPEC X5)."""
    token = _token()
    if request.method != "POST":
        return render("signup_verify", {"token": token})
    try:
        _calls.verify_signup(get_app(), token, request.form.get("password", ""))
    except ValidationError as exc:
        if "token" in exc.as_dict():
            return _link_refused(exc)
        errors = field_errors(exc, language(), ("password",))
        return render(
            "signup_verify",
            {"token": token, "errors": errors},
            status=HTTP_BAD_REQUEST,
        )
    notify("signup_verified")
    return redirect(app_url("login"))


def _next() -> str:
    return safe_next(request.values.get("next", ""))


def _device_serializer() -> URLSafeSerializer:
    from flask import current_app  # noqa: PLC0415

    return URLSafeSerializer(current_app.secret_key or "", salt=DEVICE_SALT)


def _device_token() -> str | None:
    """The device token of this browser's last login; a forged cookie is none."""
    cookie = request.cookies.get(state().options.device_cookie)
    if not cookie:
        return None
    try:
        token = _device_serializer().loads(cookie)
    except BadSignature:
        return None
    return token if isinstance(token, str) else None


def login() -> ResponseReturnValue:
    """Log a customer in (SPEC P3, P4); a temporary password restricts (R4)."""
    if request.method != "POST":
        return render("login", {"next": _next()})
    options = state().options
    email = request.form.get("email", "")
    try:
        result = _calls.login(
            get_app(),
            email,
            request.form.get("password", ""),
            client_key=client_key(),
            device_token=_device_token(),
        )
    except AuthenticationError as exc:
        refused = render(
            "login",
            {
                "form": {"email": email},
                "errors": {"": [exc.message(language())]},
                "next": _next(),
            },
            status=HTTP_BAD_REQUEST if exc.retry_after is None else HTTP_TOO_MANY,
        )
        if exc.retry_after is not None:
            refused.headers["Retry-After"] = retry_after(exc.retry_after)
        return refused
    if result.restricted and result.change_token:
        start_restricted_session(
            result.account_id, result.session_stamp, result.change_token
        )
        response = redirect(app_url("forced_change"))
    else:
        start_session(result.account_id, result.session_stamp)
        # An account brought over from another shop is completed first (M1).
        response = redirect(
            app_url("complete_account") if result.to_complete else _next()
        )
    if result.device_token:
        settings = get_app().accounts.settings
        response.set_cookie(
            options.device_cookie,
            _device_serializer().dumps(result.device_token),
            max_age=options.device_cookie_age,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure or settings.base_url.startswith("https:"),
        )
    return response


def logout() -> ResponseReturnValue:
    """Log out with a POST; a GET shows the button."""
    if request.method != "POST":
        return render("logout")
    end_session()
    notify("logged_out")
    return redirect(app_url("login"))


# -- the two-step reset (SPEC R1–R6) and the forced change ---------------------


def reset_request() -> ResponseReturnValue:
    """Ask for a reset: the answer is the same whatever the email (SPEC R1)."""
    if request.method != "POST":
        return render("reset_request")
    email = request.form.get("email", "")
    try:
        get_app().auth.request_password_reset(email, client_key=client_key())
    except ValidationError as exc:  # not an email address at all
        errors = field_errors(exc, language(), ("email",))
        return render(
            "reset_request",
            {"form": {"email": email}, "errors": errors},
            status=HTTP_BAD_REQUEST,
        )
    return render("message", {"kind": "reset_requested"})


def token_page(
    page: str, act: Callable[[App, str], None], done: str
) -> Callable[[], ResponseReturnValue]:
    """A mailed link's view: GET shows *page*, its button's POST calls *act*."""

    def view() -> ResponseReturnValue:
        token = _token()
        if request.method != "POST":
            return render(page, {"token": token})
        try:
            act(get_app(), token)
        except ValidationError as exc:
            return _link_refused(exc)
        return render("message", {"kind": done})

    view.__name__ = page
    view.__doc__ = f"The page of a mailed link: ``web/{page}.html``, then its POST."
    return view


reset_confirm = token_page(*LINK_PAGES["reset_confirm"])
reset_cancel = token_page(*LINK_PAGES["reset_cancel"])
email_change_confirm = token_page(*LINK_PAGES["email_change_confirm"])
email_change_cancel = token_page(*LINK_PAGES["email_change_cancel"])
newsletter_confirm = token_page(*LINK_PAGES["newsletter_confirm"])


def forced_change() -> ResponseReturnValue:
    """Set a new password after a temporary one: a restricted session's only page."""
    change = session.get(CHANGE_KEY)
    account_id = session.get(ACCOUNT_KEY)
    if not change or not account_id:
        return redirect(app_url("login"))
    if request.method != "POST":
        return render("forced_change")
    app = get_app()
    try:
        app.auth.set_new_password(str(change), request.form.get("password", ""))
    except ValidationError as exc:
        if "token" in exc.as_dict():
            end_session()
            return _link_refused(exc)
        errors = field_errors(exc, language(), ("password",))
        return render("forced_change", {"errors": errors}, status=HTTP_BAD_REQUEST)
    # The password changed, and with it the stamp: this session goes on
    # with the new one, every other ends (SPEC P6).
    account = app.accounts.get(str(account_id))
    start_session(account.id, account.session_stamp)
    notify("password_changed")
    return redirect(app_url("home"))


def complete() -> ResponseReturnValue:
    """Complete an express account from its set-password link (SPEC X2)."""
    token = _token()
    if request.method != "POST":
        return render("complete", {"token": token})
    data = _data()
    try:
        get_app().accounts.complete_express(token, completion_form(data))
    except ValidationError as exc:
        if "token" in exc.as_dict():
            return _link_refused(exc)
        errors = field_errors(exc, language(), COMPLETION_INPUTS)
        return render(
            "complete",
            {"token": token, "form": typed(data), "errors": errors},
            status=HTTP_BAD_REQUEST,
        )
    if current_customer() is not None:
        end_session()
    notify("account_completed")
    return redirect(app_url("login"))


# -- "Mon compte" ----------------------------------------------------------------


@customer_required
def home() -> ResponseReturnValue:
    """The "Mon compte" page: who the customer is, and where to go."""
    return render("home", {"account": _me().account})


@customer_required
def complete_account() -> ResponseReturnValue:
    """Give what the account misses: a phone, an address, a SIRET (SPEC M1)."""
    me = _me()
    account = me.account
    if not account.missing:
        return redirect(app_url("home"))
    page = account_completion_page(account)
    if request.method != "POST":
        return render("complete_account", page)
    data = _data()
    try:
        get_app().accounts.complete_account(
            me.account_id, account_completion_form(data, account)
        )
    except ValidationError as exc:
        errors = field_errors(
            exc, language(), ACCOUNT_COMPLETION_INPUTS, ACCOUNT_COMPLETION_ALIASES
        )
        return render(
            "complete_account",
            {**page, "form": typed(data), "errors": errors},
            status=HTTP_BAD_REQUEST,
        )
    notify("account_to_complete_done")
    return redirect(app_url("home"))


@customer_required
def password_change() -> ResponseReturnValue:
    """Change the password, giving the current one (SPEC P2, R10)."""
    if request.method != "POST":
        return render("password_change")
    me = _me()
    app = get_app()
    try:
        app.auth.change_password(
            me.account_id,
            request.form.get("current_password", ""),
            request.form.get("password", ""),
        )
    except ValidationError as exc:
        errors = field_errors(exc, language(), ("current_password", "password"))
        return render("password_change", {"errors": errors}, status=HTTP_BAD_REQUEST)
    # This session goes on with the new stamp; every other one ends (P6).
    account = app.accounts.get(me.account_id)
    start_session(account.id, account.session_stamp)
    notify("password_changed")
    return redirect(app_url("home"))


@customer_required
def email_change() -> ResponseReturnValue:
    """Ask for a new email address, with the current password (SPEC F10)."""
    me = _me()
    if request.method != "POST":
        return render("email_change", {"account": me.account})
    email = request.form.get("email", "")
    try:
        _calls.change_email(
            get_app(),
            me.account_id,
            email,
            request.form.get("current_password", ""),
            client_key=client_key(),
        )
    except ValidationError as exc:
        errors = field_errors(exc, language(), ("email", "current_password"))
        return render(
            "email_change",
            {"account": me.account, "form": {"email": email}, "errors": errors},
            status=HTTP_BAD_REQUEST,
        )
    return render("message", {"kind": "email_change_sent"})


@customer_required
def addresses() -> ResponseReturnValue:
    """The address book: the billing address and every delivery address."""
    return render("addresses", {"account": _me().account})


@customer_required
def address_add() -> ResponseReturnValue:
    """Add a delivery address (at most fifty, SPEC A1)."""
    return _address_form(None)


@customer_required
def address_edit(delivery_id: str) -> ResponseReturnValue:
    """Change one delivery address."""
    return _address_form(delivery_id)


def _address_form(delivery_id: str | None) -> ResponseReturnValue:
    me = _me()
    app = get_app()
    book = me.account.addresses
    if book is None:  # an imported account to complete first (SPEC M1)
        return redirect(app_url("addresses"))
    if request.method != "POST":
        form: dict[str, str] = {"address.country": "FR"}
        if delivery_id is not None:
            try:
                found = book.delivery(delivery_id)
            except ValidationError:  # address.unknown_delivery
                return render("message", {"kind": "not_found"}, status=HTTP_NOT_FOUND)
            form = {
                "contact_name": found.contact_name,
                "label": found.label or "",
                **address_values(found.address),
            }
        return render("address_form", {"form": form, "delivery_id": delivery_id})
    data = _data()
    try:
        if delivery_id is None:
            app.accounts.add_delivery_address(me.account_id, delivery_form(data))
        else:
            app.accounts.update_delivery_address(
                me.account_id, delivery_id, delivery_form(data)
            )
    except ValidationError as exc:
        errors = field_errors(exc, language(), ADDRESS_INPUTS, {"delivery_address": ""})
        return render(
            "address_form",
            {"form": typed(data), "errors": errors, "delivery_id": delivery_id},
            status=HTTP_BAD_REQUEST,
        )
    notify("address_saved")
    return redirect(app_url("addresses"))


@customer_required
def address_remove(delivery_id: str) -> ResponseReturnValue:
    """Remove a delivery address (POST); the last one stays (SPEC A5)."""
    me = _me()
    if request.method != "POST":
        return redirect(app_url("addresses"))
    try:
        get_app().accounts.remove_delivery_address(me.account_id, delivery_id)
    except ValidationError as exc:
        errors = field_errors(exc, language(), ())
        return render(
            "addresses",
            {"account": me.account, "errors": errors},
            status=HTTP_BAD_REQUEST,
        )
    notify("address_removed")
    return redirect(app_url("addresses"))


@customer_required
def billing() -> ResponseReturnValue:
    """Change the single billing address, for every delivery (SPEC A2)."""
    me = _me()
    book = me.account.addresses
    if book is None:  # an imported account to complete first (SPEC M1)
        return redirect(app_url("addresses"))
    if request.method != "POST":
        return render("billing", {"form": address_values(book.billing)})
    data = _data()
    try:
        get_app().accounts.change_billing_address(
            me.account_id, address_form(data, "address")
        )
    except ValidationError as exc:
        errors = field_errors(
            exc, language(), ADDRESS_INPUTS, {"billing_address": "address"}
        )
        return render(
            "billing",
            {"form": typed(data), "errors": errors},
            status=HTTP_BAD_REQUEST,
        )
    notify("address_saved")
    return redirect(app_url("addresses"))


@customer_required
def newsletter() -> ResponseReturnValue:
    """Subscribe (a proven mailbox at once, else by a confirm link) or unsubscribe."""
    me = _me()
    if request.method != "POST":
        return render("newsletter", {"account": me.account})
    notice = change_newsletter(
        get_app(),
        me.account,
        unsubscribe=request.form.get("action") == "unsubscribe",
        wording=state().options.newsletter_wording,
    )
    notify(notice)
    return redirect(app_url("newsletter"))


@customer_required
def my_data() -> ResponseReturnValue:
    """The "Mes données" page, written for the customer (SPEC G1, T2)."""
    export = get_app().privacy.export_personal_data(_me().account_id)
    return Response(export.as_html(), mimetype="text/html")


@customer_required
def my_data_json() -> ResponseReturnValue:
    """The same data as a JSON download (SPEC G1, GDPR Art. 20)."""
    export = get_app().privacy.export_personal_data(_me().account_id)
    response = Response(export.as_json(), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="mes-donnees.json"'
    return response


@customer_required
def erase() -> ResponseReturnValue:
    """Delete the account: the password again and an explicit confirmation (G3)."""
    me = _me()
    if request.method != "POST":
        return render("erase")
    app = get_app()
    right = _calls.check_password(
        app,
        me.account_id,
        request.form.get("password", ""),
        client_key=client_key(),
    )
    errors = erase_problems(
        confirmed=bool(request.form.get("confirm")),
        password_right=right,
        lang=language(),
    )
    if errors:
        return render("erase", {"errors": errors}, status=HTTP_BAD_REQUEST)
    app.privacy.erase_account(me.account_id, actor="customer", farewell=True)
    end_session()
    return render("message", {"kind": "erased"})


def _private_headers(response: Response) -> Response:
    """Keep the pages out of caches, and their token URLs out of Referer headers."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


GET, BOTH = ["GET"], ["GET", "POST"]
ROUTES: list[tuple[str, Callable[..., ResponseReturnValue], list[str]]] = [
    ("", home, GET),
    ("/inscription", signup, BOTH),
    ("/inscription/verifier", signup_verify, BOTH),
    ("/connexion", login, BOTH),
    ("/deconnexion", logout, BOTH),
    ("/mot-de-passe/oublie", reset_request, BOTH),
    ("/mot-de-passe/confirmer", reset_confirm, BOTH),
    ("/mot-de-passe/annuler", reset_cancel, BOTH),
    ("/mot-de-passe/nouveau", forced_change, BOTH),
    ("/mot-de-passe/definir", complete, BOTH),
    ("/completer", complete_account, BOTH),
    ("/mot-de-passe", password_change, BOTH),
    ("/e-mail", email_change, BOTH),
    ("/e-mail/confirmer", email_change_confirm, BOTH),
    ("/e-mail/annuler", email_change_cancel, BOTH),
    ("/adresses", addresses, GET),
    ("/adresses/ajouter", address_add, BOTH),
    ("/adresses/facturation", billing, BOTH),
    ("/adresses/<delivery_id>", address_edit, BOTH),
    ("/adresses/<delivery_id>/supprimer", address_remove, BOTH),
    ("/newsletter", newsletter, BOTH),
    ("/newsletter/confirmer", newsletter_confirm, BOTH),
    ("/mes-donnees", my_data, GET),
    ("/mes-donnees.json", my_data_json, GET),
    ("/supprimer", erase, BOTH),
]
"""Every page: its path under the blueprint's prefix, its view, its methods.

The endpoint is the view's name (``echoppe.reset_confirm``): the mailed
links are built from these (SPEC W4).
"""


def create_blueprint(**options: Any) -> Blueprint:  # noqa: ANN401 (Blueprint's)
    """Return a new blueprint of the pages (*options*: :class:`~flask.Blueprint`'s)."""
    blueprint = Blueprint(BLUEPRINT, __name__, **options)
    for rule, view, methods in ROUTES:
        blueprint.add_url_rule(rule, view_func=view, methods=methods)
    blueprint.register_error_handler(RateLimitedError, rate_limited)
    blueprint.register_error_handler(CSRFError, csrf_refused)
    blueprint.after_request(_private_headers)
    return blueprint
