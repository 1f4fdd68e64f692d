"""The Twilio adapter: the only module that imports `twilio` (an import-linter contract holds it to that).

It turns Twilio's answers into the port's four outcomes (docs/domain.md, "Twilio behaviour"):

- 429 or error 20429: Twilio did not process the request; RETRY_LATER, with Retry-After when Twilio gives one.
- 5xx, a timeout, a dropped connection, or anything else that goes wrong on the way: UNKNOWN. There is no
  idempotency key for creating a message, so the SMS may have gone; the caller reconciles with `find_sent`.
- Any other 4xx (21211 invalid number, 21610 STOP, 21614 not a mobile, 21408, 21612 ...): PERMANENT_FAILURE
  with Twilio's error code (the HTTP status when Twilio gives none). Note that this includes account-level
  errors such as 20003 (bad credentials), which make every message fail until the configuration is fixed.

Nothing here logs a body or a number. Twilio's own error messages can quote the number ("The 'To' number
+44... is not valid"), and the twilio HTTP client logs query parameters (a lookup's `To`) at INFO, so error
details are built from status and code only and the client is given a logger that goes nowhere. (urllib3 still
logs request lines, query string included, at DEBUG: keep `urllib3` at INFO or above in production.)

Webhook signatures are checked here too (`signature_is_valid`, re-exported by notifications.webhooks), so that
one module, and only one, depends on the twilio package.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from notifications.port import Outcome, OutgoingSms, ProviderLookupFailed, ProviderMessage, SendResult, SmsSender

logger = logging.getLogger(__name__)

RATE_LIMITED_ERROR_CODE = 20429
# Our clock and Twilio's may disagree: a message Twilio created a little before our `since` is still ours.
CLOCK_SKEW = timedelta(minutes=1)
LOOKUP_LIMIT = 50


def _logger_that_goes_nowhere() -> logging.Logger:
    # Made directly rather than through logging.getLogger, so it has no parent and no logging configuration can
    # attach a handler to it.
    quiet = logging.Logger("notifications.twilio_adapter.http", level=logging.CRITICAL + 1)
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    return quiet


class _HttpClient(TwilioHttpClient):
    """twilio's requests-based client, silenced, remembering each thread's last response headers (Retry-After)."""

    def __init__(self, *, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=_logger_that_goes_nowhere())
        self._last = threading.local()

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        self._last.headers = None
        response = super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        self._last.headers = response.headers
        return response

    def last_response_header(self, name: str) -> str | None:
        headers = getattr(self._last, "headers", None)
        return None if headers is None else headers.get(name)  # requests' headers ignore case

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _as_int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (_utc(when) - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


class TwilioSender(SmsSender):
    """SmsSender for Twilio's Messages API, over one pooled HTTP session that `close()` releases."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        api_base_url: str | None = None,
        timeout_seconds: float = 10,
        connections: int | None = None,
    ) -> None:
        if (from_number is None) == (messaging_service_sid is None):
            raise ValueError("TwilioSender needs exactly one of from_number and messaging_service_sid")
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        self._sender: dict[str, str] = (
            {"from_": from_number} if from_number is not None else {"messaging_service_sid": str(messaging_service_sid)}
        )
        # Whom Twilio's rate limit counts the sends against: the from number, or the Messaging Service.
        self.identity = from_number if from_number is not None else str(messaging_service_sid)
        self._http = _HttpClient(timeout=timeout_seconds)
        if connections is not None:
            # One kept-alive connection per thread that sends at once (the scheduler's sending threads): twilio's own
            # pool keeps min(32, CPUs + 4), and beyond it each send would open a connection and discard it.
            # No retries (the adapter's default): a create is not idempotent, so an unanswered one is reconciled.
            for scheme in ("https://", "http://"):
                self._http.session.mount(scheme, HTTPAdapter(pool_maxsize=connections))
        self.client = Client(account_sid, auth_token, http_client=self._http)
        if api_base_url:
            # Stoplight Prism or a local fake, for tests; Twilio itself otherwise.
            self.client.api.base_url = api_base_url.rstrip("/")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TwilioSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, sms: OutgoingSms) -> SendResult:
        options: dict[str, Any] = dict(self._sender)
        if sms.status_callback_url is not None:
            options["status_callback"] = sms.status_callback_url
        try:
            message = self.client.messages.create(to=sms.to, body=sms.body, **options)
        except (TwilioRestException, TwilioServiceException) as error:
            result = self._refused(error)
        except Exception as error:  # requests' Timeout and ConnectionError, or anything else: it may have gone
            result = SendResult(outcome=Outcome.UNKNOWN, detail=f"no answer from Twilio: {type(error).__name__}")
        else:
            if not message.sid:
                result = SendResult(outcome=Outcome.UNKNOWN, detail="Twilio answered without a message sid")
            else:
                return SendResult(
                    outcome=Outcome.ACCEPTED,
                    provider_id=str(message.sid),
                    provider_status=None if message.status is None else str(message.status),
                )
        logger.warning("SMS not accepted by Twilio: outcome=%s %s", result.outcome, result.detail)
        return result

    def _refused(self, error: TwilioRestException | TwilioServiceException) -> SendResult:
        status = _as_int(error.status) or 0
        # twilio puts the HTTP status in `code` when the answer carried no Twilio error code.
        code = None if _as_int(error.code) == status else _as_int(error.code)
        detail = f"HTTP {status}" + ("" if code is None else f", Twilio error {code}")
        if status == 429 or code == RATE_LIMITED_ERROR_CODE:
            return SendResult(
                outcome=Outcome.RETRY_LATER,
                error_code=code,
                detail=detail,
                retry_after_seconds=retry_after_seconds(self._http.last_response_header("Retry-After")),
            )
        if 400 <= status < 500:
            return SendResult(
                outcome=Outcome.PERMANENT_FAILURE, error_code=status if code is None else code, detail=detail
            )
        # 5xx, or anything that is neither success nor a client error: Twilio may have created the message.
        return SendResult(outcome=Outcome.UNKNOWN, error_code=code, detail=detail)

    def find_sent(self, *, to: str, body: str, since: datetime) -> ProviderMessage | None:
        earliest = _utc(since) - CLOCK_SKEW
        try:
            # Twilio filters DateSent by day (and ignores the time), so the real match is made here.
            found = self._match(
                self.client.messages.list(to=to, date_sent_after=earliest, limit=LOOKUP_LIMIT), to, body, earliest
            )
            if found is None:
                # A message still queued at Twilio has no DateSent yet, so a DateSent filter cannot see it: look
                # through the recipient's latest messages too before saying there is none.
                found = self._match(self.client.messages.list(to=to, limit=LOOKUP_LIMIT), to, body, earliest)
        except (TwilioRestException, TwilioServiceException) as error:
            status, code = _as_int(error.status), _as_int(error.code)
            problem = f"HTTP {status}" + ("" if code in (None, status) else f", Twilio error {code}")
        except TwilioException as error:  # a page that did not load comes as a bare TwilioException(msg, response)
            responses = [argument for argument in error.args if isinstance(argument, Response)]
            problem = f"HTTP {responses[0].status_code}" if responses else type(error).__name__
        except Exception as error:  # requests' Timeout and ConnectionError, or anything else
            problem = type(error).__name__
        else:
            return found
        # Not None, which would mean "never sent": the earlier send is still in doubt. No chained exception, since
        # its text can hold the request URL, and the URL holds the number.
        raise ProviderLookupFailed(f"Twilio message lookup failed: {problem}")

    @staticmethod
    def _match(messages: Iterable[Any], to: str, body: str, earliest: datetime) -> ProviderMessage | None:
        matches = [
            message
            for message in messages
            if message.to == to
            and message.body == body
            and isinstance(message.date_created, datetime)
            and _utc(message.date_created) >= earliest
        ]
        if not matches:
            return None
        first = min(matches, key=lambda message: _utc(message.date_created))
        return ProviderMessage(
            provider_id=str(first.sid),
            to=first.to,
            body=first.body,
            status="" if first.status is None else str(first.status),
            created_at=_utc(first.date_created),
        )


def signature_is_valid(auth_token: str, url: str, params: Mapping[str, Any], signature: str | None) -> bool:
    """True when `signature` (the X-Twilio-Signature header) is Twilio's signature of this URL and form fields.

    `url` must be the exact public URL Twilio requested (scheme, host, path and query as Twilio saw them, not as
    a proxy rewrote them); `params` the POSTed form fields (a dict, or a werkzeug MultiDict for repeated keys).
    """
    if not signature or not auth_token:
        return False
    return bool(RequestValidator(auth_token).validate(url, params, signature))
