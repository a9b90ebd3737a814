"""The endpoints for visitors: sign-up, express checkout, login, the reset (SPEC W2)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from echoppe_accounts import (
    AddressForm,
    CompletionForm,
    DeliveryForm,
    ExpressForm,
    OrganisationForm,
    RegistrationForm,
)
from echoppe_accounts.contrib.api import _calls
from echoppe_accounts.contrib.api._models import (
    AddressIn,
    CompleteIn,
    CsrfOut,
    DeliveryIn,
    EmailIn,
    ExpressIn,
    LoginIn,
    OrganisationIn,
    SessionOut,
    SignupIn,
    SignupOut,
    TokenIn,
    VerifyIn,
)
from echoppe_accounts.contrib.api._responses import errors
from echoppe_accounts.contrib.api._security import Context


def address_form(address: AddressIn) -> AddressForm:
    """Return the library's form of *address*."""
    return AddressForm(
        tuple(address.street_lines), address.postal_code, address.city, address.country
    )


def delivery_form(delivery: DeliveryIn) -> DeliveryForm:
    """Return the library's form of *delivery*."""
    return DeliveryForm(
        delivery.contact_name, address_form(delivery.address), delivery.label
    )


def organisation_form(org: OrganisationIn) -> OrganisationForm:
    """Return the library's form of the category's fields."""
    return OrganisationForm(
        org.organisation_name,
        org.siret,
        org.chorus_requirement,
        org.chorus_service_code,
        org.chorus_engagement_number,
    )


def routes(ctx: Context) -> APIRouter:  # noqa: C901, PLR0915 - a closure per endpoint
    """Return the visitors' endpoints, bound to *ctx*."""
    router = APIRouter()
    app = ctx.app

    def wording(given: str) -> str:
        return given or ctx.settings.wording_version

    @router.get("/csrf", tags=["session"], responses=errors(429))
    def csrf(response: Response) -> CsrfOut:
        """Give an anonymous browser a CSRF token (and its cookie), to log in."""
        return CsrfOut(csrf_token=ctx.issue_csrf(response))

    @router.post(
        "/signup",
        status_code=status.HTTP_201_CREATED,
        tags=["sign-up"],
        responses=errors(403, 422, 429),
    )
    def signup(request: Request, body: SignupIn) -> SignupOut:
        """Sign up, in any of the four categories (SPEC C1–C4, F1–F8, X5).

        Every problem of the form comes at once, each at its field's path.
        With verified sign-up on, the answer is the same whether the email
        is new or known: ``verification_required`` says to check the mailbox.
        """
        ctx.check_csrf(request, None)
        form = RegistrationForm(
            category=body.category,
            email=body.email,
            phone=body.phone,
            name=body.name,
            password=body.password,
            organisation_name=body.organisation_name,
            siret=body.siret,
            chorus_requirement=body.chorus_requirement,
            chorus_service_code=body.chorus_service_code,
            chorus_engagement_number=body.chorus_engagement_number,
            billing_address=address_form(body.billing_address),
            delivery_addresses=tuple(delivery_form(d) for d in body.delivery_addresses),
            newsletter=body.newsletter,
            newsletter_wording_version=wording(body.newsletter_wording_version)
            if body.newsletter
            else "",
            language=body.language,
        )
        app.accounts.register(form, client_key=ctx.client_key(request))
        return SignupOut(verification_required=app.accounts.settings.verified_signup)

    @router.post(
        "/signup/verify",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=["sign-up"],
        responses=errors(400, 403, 422),
    )
    def verify_signup(request: Request, body: VerifyIn) -> None:
        """Open a verified sign-up: the link's token and the password chosen (X5)."""
        ctx.check_csrf(request, None)
        _calls.verify_signup(app, body.token, body.password)

    @router.post(
        "/express",
        status_code=status.HTTP_202_ACCEPTED,
        tags=["express checkout"],
        responses=errors(403, 422, 429),
    )
    def express(request: Request, body: ExpressIn) -> None:
        """Create an account at checkout: email and delivery address (SPEC X2–X4).

        The answer is the same whether the email is new or known.
        """
        ctx.check_csrf(request, None)
        form = ExpressForm(
            email=body.email,
            delivery_address=delivery_form(body.delivery_address),
            name=body.name,
            newsletter=body.newsletter,
            newsletter_wording_version=wording(body.newsletter_wording_version)
            if body.newsletter
            else "",
            language=body.language,
        )
        app.accounts.register_express(form, client_key=ctx.client_key(request))

    @router.post(
        "/express/complete",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=["express checkout"],
        responses=errors(400, 403, 422),
    )
    def complete_express(request: Request, body: CompleteIn) -> None:
        """Complete an express account with its set-password link (SPEC X2)."""
        ctx.check_csrf(request, None)
        form = CompletionForm(
            password=body.password,
            phone=body.phone,
            name=body.name,
            category=body.category,
            organisation=organisation_form(body),
        )
        app.accounts.complete_express(body.token, form)

    @router.post("/login", tags=["session"], responses=errors(401, 403, 422, 429))
    def login(request: Request, response: Response, body: LoginIn) -> SessionOut:
        """Log in: a cookie session for browsers, a bearer token for apps (SPEC P3, P4).

        A cookie login needs the CSRF header of ``GET /csrf`` first. A
        temporary or provisional password opens a restricted session, whose
        only use is ``POST /password/forced-change`` (SPEC R4). A non-empty
        ``to_complete`` asks for ``POST /account/complete`` first (SPEC M1).
        """
        bearer = body.session == "bearer"
        if not bearer:
            ctx.require_csrf_cookie(request)
        outcome = _calls.login(
            app,
            body.email,
            body.password,
            client_key=ctx.client_key(request),
            device_token=body.device_token if bearer else ctx.device_token(request),
        )
        result = outcome.result
        opened = ctx.open_session(
            response,
            account_id=result.account_id,
            stamp=result.session_stamp,
            bearer=bearer,
            change_token=result.change_token.reveal() if result.change_token else None,
            device_token=outcome.device_token,
        )
        # An account brought over from another shop is completed first (M1).
        opened.to_complete = sorted(getattr(result, "to_complete", ()))
        return opened

    @router.post(
        "/password/reset",
        status_code=status.HTTP_202_ACCEPTED,
        tags=["password"],
        responses=errors(403, 422, 429),
    )
    def request_reset(request: Request, body: EmailIn) -> None:
        """Ask for a reset (SPEC R1, R2, R6): the same answer for any address."""
        ctx.check_csrf(request, None)
        app.auth.request_password_reset(body.email, client_key=ctx.client_key(request))

    @router.post(
        "/password/reset/confirm",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=["password"],
        responses=errors(400, 403, 422),
    )
    def confirm_reset(request: Request, body: TokenIn) -> None:
        """Confirm a reset with mail 1's link: mail 2 brings a temporary password."""
        ctx.check_csrf(request, None)
        app.auth.confirm_password_reset(body.token)

    @router.post(
        "/password/reset/cancel",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=["password"],
        responses=errors(400, 403, 422),
    )
    def cancel_reset(request: Request, body: TokenIn) -> None:
        """Cancel a reset with mail 1's "this was not me" link (SPEC R2, R5)."""
        ctx.check_csrf(request, None)
        app.auth.cancel_password_reset(body.token)

    @router.post(
        "/email/confirm",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=["email"],
        responses=errors(400, 403, 422),
    )
    def confirm_email(request: Request, body: TokenIn) -> None:
        """Confirm an email change with the link sent to the new address (F10)."""
        ctx.check_csrf(request, None)
        app.accounts.confirm_email_change(body.token)

    @router.post(
        "/email/cancel",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=["email"],
        responses=errors(400, 403, 422),
    )
    def cancel_email(request: Request, body: TokenIn) -> None:
        """Cancel an email change with the link sent to the current address (F10)."""
        ctx.check_csrf(request, None)
        app.accounts.cancel_email_change(body.token)

    @router.post(
        "/newsletter/confirm",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=["newsletter"],
        responses=errors(400, 403, 422),
    )
    def confirm_newsletter(request: Request, body: TokenIn) -> None:
        """Confirm a newsletter subscription with its mail's link (SPEC F7)."""
        ctx.check_csrf(request, None)
        app.privacy.confirm_newsletter_subscription(body.token)

    return router
