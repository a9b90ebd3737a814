"""The views of signing up, logging in and out, and recovering a password.

Every state change is a POST, refused without Django's CSRF token; a link
from a mail opens a page whose button POSTs, so that a mail scanner
following links changes nothing (SPEC W2, W3). Input names are the
library's field paths, so each problem it reports is shown beside its
field (SPEC F8).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from echoppe_accounts.bootstrap import App
from echoppe_accounts.contrib import _calls
from echoppe_accounts.contrib._web import (
    COMPLETION_INPUTS,
    HTTP_BAD_REQUEST,
    HTTP_TOO_MANY,
    LINK_PAGES,
    SIGNUP_ALIASES,
    SIGNUP_INPUTS,
    address_form,
    completion_form,
    link_refused_detail,
    registration_form,
    retry_after,
)
from echoppe_accounts.contrib.django._pages import (
    field_errors,
    language,
    notify,
    render,
    typed,
)
from echoppe_accounts.contrib.django.auth import (
    ACCOUNT_KEY,
    CHANGE_KEY,
    customer,
    end_session,
    start_restricted_session,
    start_session,
)
from echoppe_accounts.contrib.django.conf import (
    DEVICE_SALT,
    NAMESPACE,
    TOKEN_PARAMETER,
    client_key,
    config,
    get_app,
)
from echoppe_accounts.domain.errors import (
    AuthenticationError,
    RateLimitedError,
    ValidationError,
)


def app_url(name: str, *args: object) -> str:
    """Return the path of the app's view *name* (``app_url("login")``)."""
    return str(reverse(f"{NAMESPACE}:{name}", args=args))


def rate_limited(request: HttpRequest, exc: RateLimitedError) -> HttpResponse:
    """Answer a client past its limits: 429 with ``Retry-After`` (SPEC W4)."""
    response = render(
        request,
        "message",
        {"kind": "rate_limited", "detail": exc.message(language(request))},
        status=HTTP_TOO_MANY,
    )
    response["Retry-After"] = retry_after(exc.retry_after)
    return response


def _post_data(request: HttpRequest) -> dict[str, str]:
    return {k: str(v) for k, v in request.POST.items()}


# -- sign-up ---------------------------------------------------------------------


def signup(request: HttpRequest) -> HttpResponse:
    """Create an account (four categories, SPEC F1–F8, C1–C4)."""
    if request.method != "POST":
        return render(request, "signup", {"form": {"billing_address.country": "FR"}})
    data = _post_data(request)
    cfg = config()
    form = registration_form(
        data, language=language(request), wording=cfg.newsletter_wording
    )
    app = get_app()
    try:
        account = app.accounts.register(form, client_key=client_key(request.META, cfg))
    except RateLimitedError as exc:
        return rate_limited(request, exc)
    except ValidationError as exc:
        errors = field_errors(exc, language(request), SIGNUP_INPUTS, SIGNUP_ALIASES)
        return render(
            request,
            "signup",
            {"form": typed(data), "errors": errors},
            status=HTTP_BAD_REQUEST,
        )
    if app.accounts.settings.verified_signup:
        return render(request, "message", {"kind": "signup_check_mailbox"})
    start_session(request, account.id, account.session_stamp)
    notify(request, "welcome")
    return HttpResponseRedirect(app_url("home"))


def _token(request: HttpRequest) -> str:
    source = request.POST if request.method == "POST" else request.GET
    return str(source.get(TOKEN_PARAMETER, ""))


def _link_refused(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    detail = link_refused_detail(exc, language(request))
    return render(
        request,
        "message",
        {"kind": "link_refused", "detail": detail},
        status=HTTP_BAD_REQUEST,
    )


def signup_verify(request: HttpRequest) -> HttpResponse:
    """Prove the mailbox of a verified sign-up, with its password (SPEC X5)."""
    token = _token(request)
    if request.method != "POST":
        return render(request, "signup_verify", {"token": token})
    try:
        _calls.verify_signup(get_app(), token, str(request.POST.get("password", "")))
    except ValidationError as exc:
        if "token" in exc.as_dict():
            return _link_refused(request, exc)
        errors = field_errors(exc, language(request), ("password",))
        return render(
            request,
            "signup_verify",
            {"token": token, "errors": errors},
            status=HTTP_BAD_REQUEST,
        )
    notify(request, "signup_verified")
    return HttpResponseRedirect(app_url("login"))


# -- login and logout ------------------------------------------------------------------


def _next(request: HttpRequest) -> str:
    wanted = str(request.POST.get("next") or request.GET.get("next") or "")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    target = str(config().get("LOGIN_REDIRECT", f"{NAMESPACE}:home"))
    return target if target.startswith("/") else str(reverse(target))


def login(request: HttpRequest) -> HttpResponse:
    """Log a customer in (SPEC P3, P4); a temporary password restricts (R4)."""
    if request.method != "POST":
        return render(request, "login", {"next": _next(request)})
    cfg = config()
    email = str(request.POST.get("email", ""))
    device = request.get_signed_cookie(cfg.device_cookie, None, salt=DEVICE_SALT)
    try:
        result = _calls.login(
            get_app(),
            email,
            str(request.POST.get("password", "")),
            client_key=client_key(request.META, cfg),
            device_token=device,
        )
    except RateLimitedError as exc:
        return rate_limited(request, exc)
    except AuthenticationError as exc:
        throttled = exc.retry_after is not None
        refused = render(
            request,
            "login",
            {
                "form": {"email": email},
                "errors": {"": [exc.message(language(request))]},
                "next": _next(request),
            },
            status=HTTP_TOO_MANY if throttled else HTTP_BAD_REQUEST,
        )
        if exc.retry_after is not None:
            refused["Retry-After"] = retry_after(exc.retry_after)
        return refused
    if result.restricted and result.change_token:
        start_restricted_session(
            request, result.account_id, result.session_stamp, result.change_token
        )
        response = HttpResponseRedirect(app_url("forced_change"))
    else:
        start_session(request, result.account_id, result.session_stamp)
        # An account brought over from another shop is completed first (M1).
        target = app_url("complete_account") if result.to_complete else _next(request)
        response = HttpResponseRedirect(target)
    if result.device_token:
        response.set_signed_cookie(
            cfg.device_cookie,
            result.device_token,
            salt=DEVICE_SALT,
            max_age=cfg.device_cookie_age,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure()
            or str(cfg.get("BASE_URL", "")).startswith("https:"),
        )
    return response


def logout(request: HttpRequest) -> HttpResponse:
    """Log out with a POST; a GET shows the button (as Django 5's ``LogoutView``)."""
    if request.method != "POST":
        return render(request, "logout")
    end_session(request)
    notify(request, "logged_out")
    return HttpResponseRedirect(app_url("login"))


# -- the two-step reset (SPEC R1–R6) ----------------------------------------------


def reset_request(request: HttpRequest) -> HttpResponse:
    """Ask for a reset: the answer is the same whatever the email (SPEC R1)."""
    if request.method != "POST":
        return render(request, "reset_request")
    try:
        get_app().auth.request_password_reset(
            str(request.POST.get("email", "")),
            client_key=client_key(request.META),
        )
    except RateLimitedError as exc:
        return rate_limited(request, exc)
    return render(request, "message", {"kind": "reset_requested"})


def token_page(
    page: str, act: Callable[[App, str], None], done: str
) -> Callable[[HttpRequest], HttpResponse]:
    """A mailed link's view: GET shows *page*, its button's POST calls *act*."""

    def view(request: HttpRequest) -> HttpResponse:
        token = _token(request)
        if request.method != "POST":
            return render(request, page, {"token": token})
        try:
            act(get_app(), token)
        except ValidationError as exc:
            return _link_refused(request, exc)
        return render(request, "message", {"kind": done})

    view.__name__ = page
    view.__doc__ = f"The page of a mailed link: ``web/{page}.html``, then its POST."
    return view


reset_confirm = token_page(*LINK_PAGES["reset_confirm"])
"""Confirm a reset (mail 1's link); mail 2 brings a temporary password (R3)."""
reset_cancel = token_page(*LINK_PAGES["reset_cancel"])
"""Cancel a reset: "this was not me" (SPEC R2, R5)."""


def forced_change(request: HttpRequest) -> HttpResponse:
    """Set a new password after a temporary one: a restricted session's only page.

    SPEC R4: the session of a temporary password reaches nothing else.
    """
    change = request.session.get(CHANGE_KEY)
    account_id = request.session.get(ACCOUNT_KEY)
    if not change or not account_id:
        return HttpResponseRedirect(app_url("login"))
    if request.method != "POST":
        return render(request, "forced_change")
    app = get_app()
    try:
        app.auth.set_new_password(str(change), str(request.POST.get("password", "")))
    except ValidationError as exc:
        if "token" in exc.as_dict():
            end_session(request)
            return _link_refused(request, exc)
        errors = field_errors(exc, language(request), ("password",))
        return render(
            request, "forced_change", {"errors": errors}, status=HTTP_BAD_REQUEST
        )
    # The password changed, and with it the stamp: this session goes on
    # with the new one, every other ends (SPEC P6).
    account = app.accounts.get(str(account_id))
    start_session(request, account.id, account.session_stamp)
    notify(request, "password_changed")
    return HttpResponseRedirect(app_url("home"))


# -- express account completion (SPEC X2) --------------------------------------------


def complete(request: HttpRequest) -> HttpResponse:
    """Complete an express account from its set-password link (SPEC X2)."""
    token = _token(request)
    if request.method != "POST":
        return render(request, "complete", {"token": token})
    data = _post_data(request)
    form = completion_form(data)
    try:
        get_app().accounts.complete_express(token, form)
    except ValidationError as exc:
        if "token" in exc.as_dict():
            return _link_refused(request, exc)
        errors = field_errors(exc, language(request), COMPLETION_INPUTS)
        return render(
            request,
            "complete",
            {"token": token, "form": typed(data), "errors": errors},
            status=HTTP_BAD_REQUEST,
        )
    if customer(request) is not None:
        end_session(request)
    notify(request, "account_completed")
    return HttpResponseRedirect(app_url("login"))


__all__ = [
    "HTTP_BAD_REQUEST",
    "address_form",
    "app_url",
    "rate_limited",
    "token_page",
]
