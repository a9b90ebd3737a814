"""Audience measurement as a shop plugs it in: track, remind, purge (SPEC N1–N5)."""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from echoppe_accounts.domain.analytics import (
    AnalyticsEvent,
    Hit,
    IpPolicy,
    Purpose,
    RetentionPolicy,
    VisitorId,
    add_months,
    mask_ip,
    opted_out,
    reduce_user_agent,
    referrer_host,
    scrub_path,
)
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.ports import AnalyticsSink, Clock, SecretSource


@attrs.frozen
class TrackResult:
    """What the shop must do after a hit.

    Attributes:
        recorded: Whether an event was stored (never for an opted-out visitor).
        visitor_cookie: The visitor identifier to (re)set as a first-party
            cookie, or ``None`` when no identifier may exist (opt-out).
        cookie_expires: When that cookie must expire: 13 months after the
            identifier was made at most, never extended by visits (SPEC N5).
        clear_cookie: Whether an existing identifier cookie must be deleted.

    .. versionadded:: 0.2.0
    """

    recorded: bool
    visitor_cookie: str | None = None
    cookie_expires: datetime | None = None
    clear_cookie: bool = False


@attrs.define
class AnalyticsService:
    """Anonymised measurement with opt-out, plugged into a shop's request cycle.

    .. versionadded:: 0.2.0
    """

    sink: AnalyticsSink
    clock: Clock
    secrets: SecretSource
    ip_policy: IpPolicy = IpPolicy.DROP
    retention: RetentionPolicy = attrs.field(factory=RetentionPolicy)

    def _visitor(self, cookie: str, now: datetime) -> VisitorId:
        try:
            visitor = VisitorId.parse(cookie)
        except ValidationError:
            pass
        else:
            if now < visitor.expires(self.retention) and visitor.created <= now:
                return visitor
        created = now.replace(hour=0, minute=0, second=0, microsecond=0)
        value = f"v1.{created:%Y%m%d}.{self.secrets.token_urlsafe(16)}"
        return VisitorId(value, created)

    def track(
        self,
        hit: Hit,
        *,
        purpose: Purpose = Purpose.AUDIENCE_MEASUREMENT,
        account_opt_out: bool = False,
        duration_ms: int | None = None,
    ) -> TrackResult:
        """Record one anonymised event for *hit*, unless the visitor opted out.

        An opted-out visitor (``Sec-GPC: 1``, ``DNT: 1``, the browser's
        opt-out cookie or the account's setting) produces no event and no
        identifier at all (SPEC N3). Garbage in any field never raises.
        """
        if opted_out(
            hit.headers,
            browser_opt_out=hit.browser_opt_out,
            account_opt_out=account_opt_out,
        ):
            return TrackResult(recorded=False, clear_cookie=bool(hit.visitor_cookie))
        now = self.clock.now()
        visitor = self._visitor(hit.visitor_cookie, now)
        agent = reduce_user_agent(hit.user_agent)
        self.sink.add(
            AnalyticsEvent(
                id=str(uuid.UUID(bytes=self.secrets.token_bytes(16), version=4)),
                at=now,
                purpose=purpose,
                path=scrub_path(hit.url),
                referrer_host=referrer_host(hit.referrer),
                browser=agent.browser,
                browser_major=agent.major,
                device=agent.device,
                visitor_id=visitor.value,
                ip=mask_ip(hit.ip, keep=self.ip_policy),
                duration_ms=duration_ms
                if duration_ms is None or duration_ms >= 0
                else None,
            )
        )
        return TrackResult(
            recorded=True,
            visitor_cookie=visitor.value,
            cookie_expires=visitor.expires(self.retention),
        )

    def purge(self) -> int:
        """Delete raw events past the retention period; return how many (SPEC N5)."""
        cutoff = add_months(self.clock.now(), -self.retention.event_months)
        return self.sink.purge(cutoff)
