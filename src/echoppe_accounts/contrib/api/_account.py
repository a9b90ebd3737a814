"""The endpoints of a logged-in customer: "Mon compte" (SPEC W2)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, Security, status
from fastapi.responses import HTMLResponse
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from echoppe_accounts import Account, ConsentSource, FieldError, ValidationError
from echoppe_accounts.contrib.api import _calls
from echoppe_accounts.contrib.api._errors import ApiError
from echoppe_accounts.contrib.api._models import (
    AccountOut,
    AddressBookOut,
    AddressIn,
    DeliveryIn,
    DeliveryOut,
    EmailChangeIn,
    ErasureIn,
    NewPasswordIn,
    NewsletterIn,
    NewsletterOut,
    PasswordChangeIn,
    SessionOut,
)
from echoppe_accounts.contrib.api._public import address_form, delivery_form
from echoppe_accounts.contrib.api._responses import errors
from echoppe_accounts.contrib.api._security import Context
from echoppe_accounts.contrib.api._tokens import RESTRICTED_MAX_AGE, Session


@contextmanager
def within(prefix: str) -> Iterator[None]:
    """Give the errors raised inside paths relative to a body that is *prefix*.

    The library names a delivery address's fields ``delivery_address.…``
    and the billing address's ``billing_address.…``; the bodies of the
    address book's endpoints are those addresses themselves (SPEC F8).
    """
    try:
        yield
    except ValidationError as exc:
        raise ValidationError([_relative(e, prefix) for e in exc.errors]) from None


@contextmanager
def renamed(library_path: str, field: str) -> Iterator[None]:
    """Report the errors the library puts at *library_path* at this body's *field*.

    The library calls the new password ``password``; the bodies of the
    password changes call it ``new_password``, beside ``current_password``.
    """
    try:
        yield
    except ValidationError as exc:
        raise ValidationError(
            [
                FieldError(field, e.code, e.params) if e.path == library_path else e
                for e in exc.errors
            ]
        ) from None


def _relative(error: FieldError, prefix: str) -> FieldError:
    if error.path == prefix:
        return FieldError("", error.code, error.params)
    if error.path.startswith(prefix + "."):
        return FieldError(error.path[len(prefix) + 1 :], error.code, error.params)
    return error


def _book(account: Account) -> AddressBookOut:
    """Return the address book's JSON form, or refuse an account without one (M1)."""
    book = AccountOut.of(account).addresses
    if book is None:
        raise ValidationError.single("addresses", "address.to_complete")
    return book


def routes(ctx: Context) -> APIRouter:  # noqa: C901, PLR0915 - one closure per endpoint
    """Return the customer's endpoints, bound to *ctx*."""
    router = APIRouter()
    app = ctx.app
    bearer_scheme = HTTPBearer(
        auto_error=False,
        description="Apps: the `token` of `POST /login` with `session: bearer`.",
    )
    cookie_scheme = APIKeyCookie(
        name=ctx.settings.session_cookie,
        auto_error=False,
        description="Browsers: the HttpOnly cookie of `POST /login`; send the "
        f"CSRF token in `{ctx.settings.csrf_header}` with every state change.",
    )
    Bearer = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]  # noqa: N806
    Cookie = Annotated[str | None, Security(cookie_scheme)]  # noqa: N806

    def full(request: Request, _b: Bearer, _c: Cookie) -> Session:
        return ctx.require_session(request, restricted=False)

    def restricted(request: Request, _b: Bearer, _c: Cookie) -> Session:
        return ctx.require_session(request, restricted=True)

    def either(request: Request, _b: Bearer, _c: Cookie) -> Session:
        return ctx.require_session(request, restricted=None)

    Full = Annotated[Session, Depends(full)]  # noqa: N806
    Restricted = Annotated[Session, Depends(restricted)]  # noqa: N806
    Either = Annotated[Session, Depends(either)]  # noqa: N806

    def renew(response: Response, session: Session) -> SessionOut:
        # After the customer's own password change the stamp is new: this
        # session goes on with it, every other one ends (SPEC P6).
        account = app.accounts.get(session.account_id)
        return ctx.open_session(
            response,
            account_id=account.id,
            stamp=account.session_stamp,
            bearer=session.bearer,
        )

    @router.get("/session", tags=["session"], responses=errors(401, 403))
    def current(session: Either) -> SessionOut:
        """Return the current session; a cookie session gets its CSRF token again."""
        return SessionOut(
            account_id=session.account_id,
            restricted=session.restricted,
            session="bearer" if session.bearer else "cookie",
            expires_at=session.issued_at
            + (
                min(ctx.settings.session_max_age, RESTRICTED_MAX_AGE)
                if session.restricted
                else ctx.settings.session_max_age
            ),
            csrf_token=None if session.bearer else session.csrf,
        )

    @router.post(
        "/logout",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=["session"],
        responses=errors(403),
    )
    def logout(request: Request, response: Response, _b: Bearer, _c: Cookie) -> None:
        """Log out: the session cookie goes; an app forgets its bearer token.

        A session whose stamp changed may log out too (CSRF still checked).
        """
        ctx.check_csrf(request, ctx.session(request))
        ctx.end_session(response)

    @router.post(
        "/password/forced-change",
        tags=["password"],
        responses=errors(400, 401, 403),
    )
    def forced_change(
        response: Response, body: NewPasswordIn, session: Restricted
    ) -> SessionOut:
        """Set the new password of a restricted session (SPEC R4); a full one begins."""
        assert session.change_token is not None  # noqa: S101 (a restricted session)
        with renamed("password", "new_password"):
            app.auth.set_new_password(session.change_token, body.new_password)
        return renew(response, session)

    @router.post("/password/change", tags=["password"], responses=errors(401, 403))
    def change_password(
        response: Response, body: PasswordChangeIn, session: Full
    ) -> SessionOut:
        """Change the password (SPEC P2, R10): this session goes on, all others end."""
        with renamed("password", "new_password"):
            app.auth.change_password(
                session.account_id, body.current_password, body.new_password
            )
        return renew(response, session)

    @router.get("/account", tags=["account"], responses=errors(401, 403, 404))
    def account(session: Full) -> AccountOut:
        """Return the customer's account: contact, category, addresses, newsletter."""
        return AccountOut.of(app.accounts.get(session.account_id))

    @router.post(
        "/email/change",
        status_code=status.HTTP_202_ACCEPTED,
        tags=["email"],
        responses=errors(401, 403, 429),
    )
    def change_email(request: Request, body: EmailChangeIn, session: Full) -> None:
        """Ask for a new email, with the current password (SPEC F10).

        A link goes to the new address; the account keeps its address until
        it is followed, and the current address is told.
        """
        _calls.change_email(
            app,
            session.account_id,
            body.email,
            body.current_password,
            client_key=ctx.client_key(request),
        )

    @router.get("/addresses", tags=["address book"], responses=errors(401, 403, 404))
    def addresses(session: Full) -> AddressBookOut:
        """Return the billing address and the delivery addresses (SPEC A1, A2).

        An imported account without addresses is answered 422
        ``address.to_complete``: complete it first (SPEC M1).
        """
        return _book(app.accounts.get(session.account_id))

    @router.post(
        "/addresses/delivery",
        status_code=status.HTTP_201_CREATED,
        tags=["address book"],
        responses=errors(401, 403),
    )
    def add_delivery(body: DeliveryIn, session: Full) -> DeliveryOut:
        """Add a delivery address; past fifty, refused (SPEC A1)."""
        with within("delivery_address"):
            delivery = app.accounts.add_delivery_address(
                session.account_id, delivery_form(body)
            )
        return DeliveryOut.of(delivery)

    @router.put(
        "/addresses/delivery/{delivery_id}",
        tags=["address book"],
        responses=errors(401, 403),
    )
    def edit_delivery(delivery_id: str, body: DeliveryIn, session: Full) -> DeliveryOut:
        """Replace a delivery address's contact, address and label."""
        with within("delivery_address"):
            delivery = app.accounts.update_delivery_address(
                session.account_id, delivery_id, delivery_form(body)
            )
        return DeliveryOut.of(delivery)

    @router.delete(
        "/addresses/delivery/{delivery_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=["address book"],
        responses=errors(401, 403),
    )
    def remove_delivery(delivery_id: str, session: Full) -> None:
        """Remove a delivery address; the last one stays (SPEC A5)."""
        app.accounts.remove_delivery_address(session.account_id, delivery_id)

    @router.put("/addresses/billing", tags=["address book"], responses=errors(401, 403))
    def change_billing(body: AddressIn, session: Full) -> AddressBookOut:
        """Change the single billing address, for every delivery (SPEC A2)."""
        with within("billing_address"):
            app.accounts.change_billing_address(session.account_id, address_form(body))
        return _book(app.accounts.get(session.account_id))

    @router.post(
        "/newsletter/subscribe", tags=["newsletter"], responses=errors(401, 403)
    )
    def subscribe(body: NewsletterIn, session: Full) -> NewsletterOut:
        """Subscribe to the newsletter, with its proof (SPEC F7).

        A proven mailbox is subscribed at once; otherwise a confirm link is
        sent first and nothing is subscribed until it is followed.
        """
        version = body.wording_version or ctx.settings.wording_version
        source = ConsentSource.ACCOUNT_PAGE
        if app.accounts.get(session.account_id).email_proven_at is not None:
            app.accounts.subscribe_newsletter(
                session.account_id, source=source, wording_version=version
            )
            return NewsletterOut(subscribed=True, confirmation_sent=False)
        app.privacy.request_newsletter_subscription(
            session.account_id, source=source, wording_version=version
        )
        return NewsletterOut(subscribed=False, confirmation_sent=True)

    @router.post(
        "/newsletter/unsubscribe",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=["newsletter"],
        responses=errors(401, 403),
    )
    def unsubscribe(session: Full) -> None:
        """Unsubscribe; always possible, always recorded (SPEC F7)."""
        app.accounts.unsubscribe_newsletter(
            session.account_id, source=ConsentSource.ACCOUNT_PAGE
        )

    @router.get(
        "/personal-data", tags=["personal data"], responses=errors(401, 403, 404)
    )
    def personal_data(session: Full) -> dict[str, Any]:
        """Return "Mes données": everything held about the customer (SPEC G1, G2)."""
        return dict(app.privacy.export_personal_data(session.account_id).data)

    @router.get(
        "/personal-data/page",
        response_class=HTMLResponse,
        tags=["personal data"],
        responses=errors(401, 403, 404, page=True),
    )
    def personal_data_page(session: Full) -> HTMLResponse:
        """Return "Mes données" as the customer's page, in their language (G1, T2)."""
        export = app.privacy.export_personal_data(session.account_id)
        return HTMLResponse(export.as_html())

    @router.post(
        "/erase",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=["personal data"],
        responses=errors(401, 403, 429),
    )
    def erase(
        request: Request, response: Response, body: ErasureIn, session: Full
    ) -> None:
        """Erase the account (SPEC G3): the password again and ``confirm: true``.

        Only what invoices must keep stays; every session ends; a last mail
        tells the customer so (SPEC W2).
        """
        if not body.confirm:
            raise ApiError(422, [FieldError("confirm", "required")])
        _calls.check_password(
            app, session.account_id, body.password, client_key=ctx.client_key(request)
        )
        app.privacy.erase_account(session.account_id, farewell=True)
        ctx.end_session(response)

    return router
