"""The views of "Mon compte": what a logged-in customer manages (SPEC W2).

Email and password changes, the address book, the newsletter, "Mes
données" and erasure. Each needs a customer's session
(:func:`~echoppe_accounts.contrib.django.auth.customer_required`); every
change is a POST behind Django's CSRF check.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from echoppe_accounts.contrib import _calls
from echoppe_accounts.contrib._web import (
    ACCOUNT_COMPLETION_ALIASES,
    ACCOUNT_COMPLETION_INPUTS,
    ADDRESS_INPUTS,
    HTTP_NOT_FOUND,
    LINK_PAGES,
    account_completion_form,
    account_completion_page,
    address_values,
    change_newsletter,
    delivery_form,
    erase_problems,
)
from echoppe_accounts.contrib.django._pages import (
    field_errors,
    language,
    notify,
    render,
    typed,
)
from echoppe_accounts.contrib.django.auth import (
    CustomerUser,
    customer,
    customer_required,
    end_session,
    start_session,
)
from echoppe_accounts.contrib.django.conf import client_key, config, get_app
from echoppe_accounts.contrib.django.views import (
    HTTP_BAD_REQUEST,
    address_form,
    app_url,
    rate_limited,
    token_page,
)
from echoppe_accounts.domain.errors import (
    NotFoundError,
    RateLimitedError,
    ValidationError,
)


def _me(request: HttpRequest) -> CustomerUser:
    found = customer(request)
    if found is None:  # pragma: no cover (customer_required let it in)
        raise NotFoundError("customer")
    return found


@customer_required
def home(request: HttpRequest) -> HttpResponse:
    """The "Mon compte" page: who the customer is, and where to go."""
    return render(request, "home", {"account": _me(request).account})


@customer_required
def password_change(request: HttpRequest) -> HttpResponse:
    """Change the password, giving the current one (SPEC P2, R10)."""
    if request.method != "POST":
        return render(request, "password_change")
    me = _me(request)
    app = get_app()
    try:
        app.auth.change_password(
            me.account_id,
            str(request.POST.get("current_password", "")),
            str(request.POST.get("password", "")),
        )
    except ValidationError as exc:
        errors = field_errors(exc, language(request), ("current_password", "password"))
        return render(
            request, "password_change", {"errors": errors}, status=HTTP_BAD_REQUEST
        )
    # This session goes on with the new stamp; every other one ends (P6).
    account = app.accounts.get(me.account_id)
    start_session(request, account.id, account.session_stamp)
    notify(request, "password_changed")
    return HttpResponseRedirect(app_url("home"))


@customer_required
def email_change(request: HttpRequest) -> HttpResponse:
    """Ask for a new email address, with the current password (SPEC F10)."""
    me = _me(request)
    if request.method != "POST":
        return render(request, "email_change", {"account": me.account})
    email = str(request.POST.get("email", ""))
    try:
        _calls.change_email(
            get_app(),
            me.account_id,
            email,
            str(request.POST.get("current_password", "")),
            client_key=client_key(request.META),
        )
    except RateLimitedError as exc:
        return rate_limited(request, exc)
    except ValidationError as exc:
        errors = field_errors(exc, language(request), ("email", "current_password"))
        return render(
            request,
            "email_change",
            {"account": me.account, "form": {"email": email}, "errors": errors},
            status=HTTP_BAD_REQUEST,
        )
    return render(request, "message", {"kind": "email_change_sent"})


email_change_confirm = token_page(*LINK_PAGES["email_change_confirm"])
email_change_cancel = token_page(*LINK_PAGES["email_change_cancel"])
newsletter_confirm = token_page(*LINK_PAGES["newsletter_confirm"])


# -- an account brought over from another shop (SPEC M1) --------------------------


@customer_required
def complete_account(request: HttpRequest) -> HttpResponse:
    """Give what the account misses: a phone, an address, a SIRET (SPEC M1)."""
    me = _me(request)
    account = me.account
    if not account.missing:
        return HttpResponseRedirect(app_url("home"))
    page = account_completion_page(account)
    if request.method != "POST":
        return render(request, "complete_account", page)
    data = {k: str(v) for k, v in request.POST.items()}
    try:
        get_app().accounts.complete_account(
            me.account_id, account_completion_form(data, account)
        )
    except ValidationError as exc:
        errors = field_errors(
            exc,
            language(request),
            ACCOUNT_COMPLETION_INPUTS,
            ACCOUNT_COMPLETION_ALIASES,
        )
        return render(
            request,
            "complete_account",
            {**page, "form": typed(data), "errors": errors},
            status=HTTP_BAD_REQUEST,
        )
    notify(request, "account_to_complete_done")
    return HttpResponseRedirect(app_url("home"))


# -- the address book (SPEC A1–A5) -------------------------------------------------


@customer_required
def addresses(request: HttpRequest) -> HttpResponse:
    """The address book: the billing address and every delivery address."""
    return render(request, "addresses", {"account": _me(request).account})


@customer_required
def address_add(request: HttpRequest) -> HttpResponse:
    """Add a delivery address (at most fifty, SPEC A1)."""
    return _address_form(request, None)


@customer_required
def address_edit(request: HttpRequest, delivery_id: str) -> HttpResponse:
    """Change one delivery address."""
    return _address_form(request, delivery_id)


def _address_form(request: HttpRequest, delivery_id: str | None) -> HttpResponse:
    me = _me(request)
    app = get_app()
    book = me.account.addresses
    if book is None:  # an imported account to complete first (SPEC M1)
        return HttpResponseRedirect(app_url("addresses"))
    if request.method != "POST":
        form: dict[str, str] = {"address.country": "FR"}
        if delivery_id is not None:
            try:
                found = book.delivery(delivery_id)
            except ValidationError:  # address.unknown_delivery
                return render(
                    request, "message", {"kind": "not_found"}, status=HTTP_NOT_FOUND
                )
            form = {
                "contact_name": found.contact_name,
                "label": found.label or "",
                **address_values(found.address),
            }
        return render(
            request, "address_form", {"form": form, "delivery_id": delivery_id}
        )
    data = {k: str(v) for k, v in request.POST.items()}
    try:
        if delivery_id is None:
            app.accounts.add_delivery_address(me.account_id, delivery_form(data))
        else:
            app.accounts.update_delivery_address(
                me.account_id, delivery_id, delivery_form(data)
            )
    except ValidationError as exc:
        errors = field_errors(
            exc,
            language(request),
            ADDRESS_INPUTS,
            {"delivery_address": ""},
        )
        return render(
            request,
            "address_form",
            {"form": typed(data), "errors": errors, "delivery_id": delivery_id},
            status=HTTP_BAD_REQUEST,
        )
    notify(request, "address_saved")
    return HttpResponseRedirect(app_url("addresses"))


@customer_required
def address_remove(request: HttpRequest, delivery_id: str) -> HttpResponse:
    """Remove a delivery address (POST); the last one stays (SPEC A5)."""
    me = _me(request)
    if request.method != "POST":
        return HttpResponseRedirect(app_url("addresses"))
    try:
        get_app().accounts.remove_delivery_address(me.account_id, delivery_id)
    except ValidationError as exc:
        errors = field_errors(exc, language(request), ())
        return render(
            request,
            "addresses",
            {"account": me.account, "errors": errors},
            status=HTTP_BAD_REQUEST,
        )
    notify(request, "address_removed")
    return HttpResponseRedirect(app_url("addresses"))


@customer_required
def billing(request: HttpRequest) -> HttpResponse:
    """Change the single billing address, for every delivery (SPEC A2)."""
    me = _me(request)
    book = me.account.addresses
    if book is None:  # an imported account to complete first (SPEC M1)
        return HttpResponseRedirect(app_url("addresses"))
    if request.method != "POST":
        form = address_values(book.billing)
        return render(request, "billing", {"form": form})
    data = {k: str(v) for k, v in request.POST.items()}
    try:
        get_app().accounts.change_billing_address(
            me.account_id, address_form(data, "address")
        )
    except ValidationError as exc:
        errors = field_errors(
            exc, language(request), ADDRESS_INPUTS, {"billing_address": "address"}
        )
        return render(
            request,
            "billing",
            {"form": typed(data), "errors": errors},
            status=HTTP_BAD_REQUEST,
        )
    notify(request, "address_saved")
    return HttpResponseRedirect(app_url("addresses"))


# -- newsletter (SPEC F7) ------------------------------------------------------------


@customer_required
def newsletter(request: HttpRequest) -> HttpResponse:
    """Subscribe (a proven mailbox at once, else by a confirm link) or unsubscribe."""
    me = _me(request)
    account = me.account
    if request.method != "POST":
        return render(request, "newsletter", {"account": account})
    notice = change_newsletter(
        get_app(),
        account,
        unsubscribe=request.POST.get("action") == "unsubscribe",
        wording=config().newsletter_wording,
    )
    notify(request, notice)
    return HttpResponseRedirect(app_url("newsletter"))


# -- "Mes données" and erasure (SPEC G1–G3) ------------------------------------


@customer_required
def my_data(request: HttpRequest) -> HttpResponse:
    """The "Mes données" page, written for the customer (SPEC G1, T2)."""
    export = get_app().privacy.export_personal_data(_me(request).account_id)
    return HttpResponse(export.as_html(), content_type="text/html; charset=utf-8")


@customer_required
def my_data_json(request: HttpRequest) -> HttpResponse:
    """The same data as a JSON download (SPEC G1, GDPR Art. 20)."""
    export = get_app().privacy.export_personal_data(_me(request).account_id)
    response = HttpResponse(
        export.as_json(), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="mes-donnees.json"'
    return response


@customer_required
def erase(request: HttpRequest) -> HttpResponse:
    """Delete the account: the password again and an explicit confirmation (G3)."""
    me = _me(request)
    if request.method != "POST":
        return render(request, "erase")
    app = get_app()
    try:
        right = _calls.check_password(
            app,
            me.account_id,
            str(request.POST.get("password", "")),
            client_key=client_key(request.META),
        )
    except RateLimitedError as exc:
        return rate_limited(request, exc)
    errors = erase_problems(
        confirmed=bool(request.POST.get("confirm")),
        password_right=right,
        lang=language(request),
    )
    if errors:
        return render(request, "erase", {"errors": errors}, status=HTTP_BAD_REQUEST)
    app.privacy.erase_account(me.account_id, actor="customer", farewell=True)
    end_session(request)
    return render(request, "message", {"kind": "erased"})
