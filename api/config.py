"""Configuration: safe defaults here, overridden from REACHABLE_* environment variables.

`flask.Config.from_prefixed_env` parses values as JSON where it can, so REACHABLE_ACCESS_TOKEN_MINUTES=5
arrives as an int. Secrets only ever come from the environment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


# HS256 keys shorter than the hash output weaken the signature (RFC 7518, section 3.2).
MIN_SECRET_KEY_LENGTH = 32


def check_secret_key(secret_key: str | None) -> str | None:
    """What is wrong with the secret key (it signs access tokens and derives check-in links), or None."""
    if len(secret_key or "") < MIN_SECRET_KEY_LENGTH:
        return (
            f"REACHABLE_SECRET_KEY must be set to at least {MIN_SECRET_KEY_LENGTH} random characters: it signs "
            "access tokens and check-in links (python -c 'import secrets; print(secrets.token_urlsafe(48))')."
        )
    return None


def database_url_from_environment() -> str:
    """REACHABLE_DATABASE_URL, or the embedded SQLite file. Shared by the web app and the scheduler."""
    url = os.environ.get("REACHABLE_DATABASE_URL", "")
    if url:
        return url
    INSTANCE_DIR.mkdir(exist_ok=True)
    return f"sqlite:///{INSTANCE_DIR / 'reachable.sqlite3'}"


class DefaultConfig:
    # Required outside tests: signs access tokens. Never committed; `make run` generates a local one.
    SECRET_KEY: str | None = None
    # Empty means the embedded SQLite file instance/reachable.sqlite3.
    DATABASE_URL: str = ""
    ACCESS_TOKEN_MINUTES: int = 15
    REFRESH_TOKEN_DAYS: int = 30
    # How long a sign-in on the commissioners' dashboard page lasts (its own cookie, no refresh: sign in again).
    DASHBOARD_SIGN_IN_MINUTES: int = 15
    # Flask's own limit on request bodies (413 beyond it): nothing this API accepts comes near it (the largest,
    # an outcome-events CSV import, is capped at 512 KiB by its own view).
    MAX_CONTENT_LENGTH: int = 1 * 1024 * 1024
    # Behind a reverse proxy, set to the number of proxies so client addresses and URLs are rebuilt correctly. Behind
    # them, the request id is the proxy's X-Request-ID when it sends a sane one (api/request_log.py).
    PROXY_COUNT: int = 0
    # Logs (web app and scheduler, on stdout): "console" lines for people, "json" lines for production; and the level.
    LOG_FORMAT: str = "console"
    LOG_LEVEL: str = "INFO"
    # GET /metrics (Prometheus) answers only `Authorization: Bearer <this>`; unset, it answers 404 (api/metrics).
    METRICS_TOKEN: str = ""
    # The scheduler's own metrics (SMS sends by outcome), served by the scheduler on this port when not 0. Bound to
    # SCHEDULER_METRICS_ADDRESS, the loopback by default: the port has no token, so never expose it publicly.
    SCHEDULER_METRICS_PORT: int = 0
    SCHEDULER_METRICS_ADDRESS: str = "127.0.0.1"

    API_TITLE = "Reachable"
    API_VERSION = "0.1.0"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    # /docs and /redoc are served by api/apidocs from copies inside this package, not by flask-smorest (whose
    # pages load Swagger UI and ReDoc from a CDN): its OPENAPI_SWAGGER_UI_* and OPENAPI_REDOC_* stay unset.
    JSON_SORT_KEYS = False
    # Accept Ofcom's fictional 07700 900xxx mobiles (demo data and tests only; unroutable in production).
    ACCEPT_DRAMA_NUMBERS: bool = False
    # Commissioners see counts from 1 to this minus one as "<5" (docs/domain.md, "What commissioners measure").
    SMALL_NUMBER_THRESHOLD: int = 5
    # Where check-in links point (the public address of this server), e.g. https://checkin.example.org.
    PUBLIC_BASE_URL: str = "http://127.0.0.1:5000"
    # SWEMWBS item wording, supplied by the deploying organisation under its licence (never committed).
    LICENSED_WORDING_FILE: str = ""
    # SMS: "development" writes messages to DEV_SMS_FILE instead of sending them; "twilio" sends through Twilio.
    SMS_SENDER: str = "development"
    DEV_SMS_FILE: str = str(INSTANCE_DIR / "dev-sms.jsonl")
    # Twilio (secrets from the environment only). One of FROM_NUMBER or MESSAGING_SERVICE_SID.
    TWILIO_ACCOUNT_SID: str = ""
    TWILIO_AUTH_TOKEN: str = ""
    TWILIO_FROM_NUMBER: str = ""
    TWILIO_MESSAGING_SERVICE_SID: str = ""
    # Only to point the client elsewhere (a contract mock in tests); empty means Twilio itself.
    TWILIO_API_BASE_URL: str = ""
    # Quiet hours per recipient type, local time: nothing is sent inside them ("" or null: none), e.g.
    # REACHABLE_SMS_QUIET_HOURS='{"child": "21:00-08:00", "carer": "21:00-08:00", "mentor": "22:00-07:00"}'.
    SMS_QUIET_HOURS: dict[str, str | None] = {"child": "21:00-08:00", "carer": "21:00-08:00", "mentor": "22:00-07:00"}
    # What the SMS provider allows the sender (TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID): messages a second
    # on average, and how many may go back to back after a quiet spell (a token bucket per sender, in the scheduler:
    # api/sms/pacing.py). About 10 a second for a UK long code; a Messaging Service allows its numbers' rates added
    # up (ask Twilio for your account's figure). A burst of due messages drains continuously at this rate.
    SMS_RATE_PER_SECOND: float = 10
    SMS_RATE_BURST: int = 10
    # Sends the scheduler has with the provider at once: enough to reach the rate when a send takes longer than
    # 1/rate (a Twilio request takes some 200 to 500 ms: at 10 a second, 4 threads reach it with room to spare).
    SMS_SEND_THREADS: int = 4
    # Sent messages in a final state are deleted after this many days (their ledger with them).
    SMS_RETENTION_DAYS: int = 30
    # Days each kind of record is kept before the retention purge (api/privacy) deletes it; retention is
    # configurable per record type and every purge is logged (docs/domain.md, "Privacy and retention").
    # Give only the types to change, e.g. REACHABLE_RETENTION_DAYS='{"audit_event": 2557}'.
    # Children's case records are not purged at all: they are kept for years, with no end set.
    RETENTION_DAYS: dict[str, int] = {
        # Sign-ins (and their refresh tokens) that expired or were revoked: a month to look into a stolen token.
        "refresh_token": 30,
        # The lock-out's count per email tried and client address (both hashed), a month after the last attempt:
        # as long as an address the account signed in from stays known (accounts.rules.KNOWN_SOURCE_DAYS).
        "sign_in_source": 30,
        # Idempotency records hold copies of answers with children's data; a phone retries within days.
        "idempotency_record": 7,
        # Used, withdrawn or expired check-in links lose their token (the answers are kept: the child's record).
        "check_in_link_token": 7,
        # "sms_message" (finished SMS and their ledger) may be given here too; unset, SMS_RETENTION_DAYS applies.
        # Who read and wrote children's records: kept as long as the case records it describes may be
        # questioned (six years, the usual limitation period for claims in England and Wales).
        "audit_event": 6 * 366,
    }
    # Rate limits (Flask-Limiter). Use a shared store in production so limits hold across processes:
    # REACHABLE_RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0. The default counts per process.
    RATELIMIT_STORAGE_URI: str = "memory://"
    RATELIMIT_HEADERS_ENABLED: bool = True
    # Failed check-in link look-ups allowed per client address: a 192-bit token cannot be guessed, and this
    # keeps anyone from trying.
    CHECK_IN_LINK_FAILURE_LIMIT: str = "10 per minute;60 per hour"
    # Keeps this app's counters apart from anything else in the same Redis (and one test's from another's).
    RATELIMIT_KEY_PREFIX: str = "reachable"
    # Sign-in attempts (API and dashboard page together), right or wrong, per client address: generous enough for
    # an office behind one address, tight enough to stop password spraying across many accounts.
    SIGN_IN_LIMIT_PER_ADDRESS: str = "30 per minute;300 per hour"
    # Sign-in attempts per email address tried (from any address): caps guessing spread over many addresses, and
    # the password-hash work one account can be made to cost. Counted only for attempts that can guess: an
    # address locked out of the account spends none, and one the account signed in from in the last 30 days is
    # not held to it (accounts/rules.py). The window is no longer than a lock-out.
    SIGN_IN_LIMIT_PER_EMAIL: str = "10 per minute;30 per 15 minutes"
    # Token refreshes per client address (each phone refreshes about every ACCESS_TOKEN_MINUTES).
    REFRESH_LIMIT_PER_ADDRESS: str = "60 per minute;1200 per hour"
    # Operations that send someone an SMS at the caller's will (a check-in link now), per signed-in user;
    # only requests that succeed are counted.
    SMS_SEND_LIMIT_PER_USER: str = "20 per hour;100 per day"
    # Lock-out: this many wrong passwords in a row from one client address lock that address (an IPv6 address by
    # its /64) out of that account for SIGN_IN_LOCKOUT_MINUTES; anyone elsewhere still signs in (an admin can
    # unlock every address sooner: POST /users/{user_id}/unlock).
    SIGN_IN_LOCKOUT_FAILURES: int = 5
    SIGN_IN_LOCKOUT_MINUTES: int = 15
    # The roles whose sign-ins need a second factor (a TOTP code from an authenticator app, or a recovery code),
    # comma-separated or a JSON list; empty: none. Anyone who enrols of their own accord is asked too. The demo
    # (`make run`) sets it empty and says so; never leave it empty in production.
    MFA_REQUIRED_ROLES: str | list[str] = "admin,coordinator"
    # The key the authenticators' secrets are derived under (api/accounts/totp.py); empty: the secret key. Set it
    # to keep every enrolment working across a rotation of the secret key. A secret: environment only.
    MFA_SECRET_KEY: str = ""
    # The name an authenticator app shows beside the account.
    MFA_ISSUER: str = "Reachable"
    # How long the challenge between a sign-in's password and its second step lasts.
    MFA_CHALLENGE_MINUTES: int = 5


def settings_from_environment() -> dict[str, Any]:
    """DefaultConfig overridden by REACHABLE_* variables, read as the web app reads them (JSON where it parses).

    For processes without a Flask app (the scheduler), so both read one configuration the same way.
    """
    settings = {name: getattr(DefaultConfig, name) for name in dir(DefaultConfig) if name.isupper()}
    for key, raw in os.environ.items():
        if key.startswith("REACHABLE_"):
            try:
                settings[key.removeprefix("REACHABLE_")] = json.loads(raw)
            except json.JSONDecodeError:
                settings[key.removeprefix("REACHABLE_")] = raw
    return settings
