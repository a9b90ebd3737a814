"""Who is asking: the client key, the session (cookie or bearer), CSRF (SPEC W3).

- The client key is the connection's address; a header is read only when
  the connection comes from a configured trusted proxy, never otherwise.
- A browser's session is a sealed, HttpOnly, SameSite cookie; an app's is
  the same token as ``Authorization: Bearer``. Each request checks the
  account's session stamp: after a password, email or status change, every
  token issued before is refused (SPEC P6).
- A restricted session (SPEC R4) reaches only the forced password change.
- A cookie session must send its CSRF token in a header with every state
  change; so must an anonymous browser that logs in with a cookie.
"""

from __future__ import annotations

import hmac
import ipaddress
from datetime import datetime
from typing import Literal

import attrs
from fastapi import Request, Response

from echoppe_accounts import App
from echoppe_accounts.contrib.api._errors import ApiError
from echoppe_accounts.contrib.api._models import SessionOut
from echoppe_accounts.contrib.api._settings import ApiSettings
from echoppe_accounts.contrib.api._tokens import (
    RESTRICTED_MAX_AGE,
    Sealer,
    Session,
    new_csrf,
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_HEADER = 1024


@attrs.frozen
class Context:
    """What every endpoint works with: the library, the API's settings, the sealer."""

    app: App
    settings: ApiSettings
    sealer: Sealer

    def now(self) -> datetime:
        """Return the library's current time (its clock port)."""
        return self.app.accounts.clock.now()

    # -- the client key --------------------------------------------------------

    def client_key(self, request: Request) -> str | None:
        """Return the client's address, through trusted proxies only (SPEC W3)."""
        peer = request.client.host if request.client else None
        if peer is None:
            return None
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return peer[:_MAX_HEADER]
        header = self.settings.client_ip_header
        if header is None or not self._trusted(address):
            return str(address)
        hops = request.headers.get(header, "")[:_MAX_HEADER].split(",")
        for hop in reversed(hops):
            try:
                address = ipaddress.ip_address(hop.strip())
            except ValueError:
                break
            if not self._trusted(address):
                break
        return str(address)

    def _trusted(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in self.settings.trusted_proxies)

    # -- sessions --------------------------------------------------------------

    def session(self, request: Request) -> Session | None:
        """Return the session the request carries, or ``None``; no stamp check."""
        authorization = request.headers.get("authorization", "")
        scheme, _, credentials = authorization.partition(" ")
        now, max_age = self.now(), self.settings.session_max_age
        if scheme.lower() == "bearer":
            return self.sealer.open_session(
                credentials.strip(), bearer=True, now=now, max_age=max_age
            )
        cookie = request.cookies.get(self.settings.session_cookie)
        if cookie is None:
            return None
        return self.sealer.open_session(cookie, bearer=False, now=now, max_age=max_age)

    def require_session(self, request: Request, *, restricted: bool | None) -> Session:
        """Return the request's current session, checking stamp and CSRF.

        *restricted* says whether the endpoint is the forced change, the only
        one a restricted session reaches (SPEC R4), which the others refuse;
        ``None`` lets both kinds in (reading the session itself).

        Raises:
            ApiError: 401 ``session.required`` without a current session
                (none, forged, too old, or its stamp changed: SPEC P6); 403
                ``session.restricted`` or ``csrf.invalid``.
        """
        session = self.session(request)
        if session is None or not self.app.auth.is_session_current(
            session.account_id, session.stamp
        ):
            raise ApiError.single(401, "session.required")
        self.check_csrf(request, session)
        if restricted is False and session.restricted:
            raise ApiError.single(403, "session.restricted")
        if restricted is True and not session.restricted:
            raise ApiError.single(403, "session.required")
        return session

    def check_csrf(self, request: Request, session: Session | None) -> None:
        """Refuse a state change from a browser without its CSRF token.

        A cookie session's token is the one sealed in it. An anonymous
        browser shows the token of its CSRF cookie (double submit, the
        cookie sealed so that no value can be made up). Bearer clients and
        requests carrying no cookie of ours need none: a browser cannot send
        a cross-site ``application/json`` body (the only kind the endpoints
        read) or an ``Authorization`` header without a CORS preflight that
        the API does not grant.

        Raises:
            ApiError: 403 ``csrf.invalid``.
        """
        if request.method in SAFE_METHODS:
            return
        session = session or self.session(request)
        if session is not None and session.bearer:
            return
        expected = session.csrf if session is not None else self.anonymous_csrf(request)
        if expected is None:
            return
        self._compare_csrf(request, expected)

    def require_csrf_cookie(self, request: Request) -> None:
        """Refuse a cookie login without CSRF: the session's token, or the cookie's."""
        session = self.session(request)
        expected = (
            session.csrf
            if session is not None and not session.bearer
            else self.anonymous_csrf(request)
        )
        if expected is None:
            raise ApiError.single(403, "csrf.invalid")
        self._compare_csrf(request, expected)

    def _compare_csrf(self, request: Request, expected: str) -> None:
        shown = request.headers.get(self.settings.csrf_header, "")[:_MAX_HEADER]
        if not hmac.compare_digest(
            shown.encode("utf-8", "replace"), expected.encode("utf-8", "replace")
        ):
            raise ApiError.single(403, "csrf.invalid")

    def anonymous_csrf(self, request: Request) -> str | None:
        """Return the token in the request's CSRF cookie, or ``None``."""
        cookie = request.cookies.get(self.settings.csrf_cookie)
        payload = self.sealer.open("csrf", cookie) if cookie else None
        value = payload.get("c") if payload else None
        return value if isinstance(value, str) else None

    # -- cookies ---------------------------------------------------------------

    def _set_cookie(self, response: Response, name: str, value: str, age: int) -> None:
        same_site: Literal["lax", "strict"] = (
            "strict" if self.settings.same_site == "strict" else "lax"
        )
        response.set_cookie(
            name,
            value,
            max_age=age,
            path=self.settings.cookie_path,
            secure=self.settings.secure_cookies,
            httponly=True,
            samesite=same_site,
        )

    def issue_csrf(self, response: Response) -> str:
        """Set a fresh CSRF cookie on *response*; return its token for the header."""
        token = new_csrf()
        sealed = self.sealer.seal("csrf", {"c": token})
        age = int(self.settings.session_max_age.total_seconds())
        self._set_cookie(response, self.settings.csrf_cookie, sealed, age)
        return token

    def open_session(
        self,
        response: Response,
        *,
        account_id: str,
        stamp: str,
        bearer: bool,
        change_token: str | None = None,
        device_token: str | None = None,
    ) -> SessionOut:
        """Start a session: a cookie for a browser, a token in the answer for an app."""
        now = self.now()
        session = Session(
            account_id=account_id,
            stamp=stamp,
            csrf=new_csrf(),
            change_token=change_token,
            issued_at=now,
            bearer=bearer,
        )
        token = self.sealer.seal_session(session)
        lifetime = self.settings.session_max_age
        if change_token is not None:
            lifetime = min(lifetime, RESTRICTED_MAX_AGE)
        age = int(lifetime.total_seconds())
        out = SessionOut(
            account_id=account_id,
            restricted=change_token is not None,
            session="bearer" if bearer else "cookie",
            expires_at=now + lifetime,
        )
        if bearer:
            out.token, out.device_token = token, device_token
            return out
        self._set_cookie(response, self.settings.session_cookie, token, age)
        if device_token is not None:
            sealed = self.sealer.seal("device", {"d": device_token})
            device_age = int(self.settings.device_max_age.total_seconds())
            self._set_cookie(response, self.settings.device_cookie, sealed, device_age)
        out.csrf_token = session.csrf
        return out

    def device_token(self, request: Request) -> str | None:
        """Return the device token of a browser's cookie (SPEC P4), or ``None``."""
        cookie = request.cookies.get(self.settings.device_cookie)
        payload = self.sealer.open("device", cookie) if cookie else None
        value = payload.get("d") if payload else None
        return value if isinstance(value, str) else None

    def end_session(self, response: Response) -> None:
        """Remove the session cookie (the device cookie stays: SPEC P4)."""
        response.delete_cookie(
            self.settings.session_cookie,
            path=self.settings.cookie_path,
            secure=self.settings.secure_cookies,
            httponly=True,
        )
