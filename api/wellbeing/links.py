"""One-time check-in links: the token is derived, never stored; a link stays open until used, revoked or expired.

A link carries an opaque token only (issue 4, docs/domain.md "Privacy and retention"): at least 128 bits that
cannot be guessed, never stored (only its hash is), expiring (72 hours by default) and used up when the answers
are submitted, not when the page is opened, because link previews open links.

A link's token is HMAC-SHA256 of a random 128-bit nonce under a key derived from the server's secret key,
cut to 192 bits and written in URL-safe base64 (32 characters, short enough for one SMS segment). The
database keeps the nonce and the SHA-256 of the token: the hash finds the invitation when the link is opened,
and nobody holding only a copy of the database can make a working link. The dispatcher re-derives the same
token whenever it sends or resends the SMS, so a resend after an unknown outcome carries the same link.
Changing the secret key stops every unused link from working (they expire within days anyway).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum

from notifications import templates

TOKEN_BYTES = 24
NONCE_BYTES = 16
# A token as written in a link: 32 URL-safe base64 characters.
TOKEN_PATTERN = r"[A-Za-z0-9_-]{32}"


def new_nonce() -> str:
    return secrets.token_hex(NONCE_BYTES)


def _link_key(secret_key: str) -> bytes:
    # A key of its own, so a token can never be mistaken for any other use of the secret key.
    return hmac.new(secret_key.encode(), b"reachable check-in links v1", hashlib.sha256).digest()


def link_token(secret_key: str, nonce: str) -> str:
    digest = hmac.new(_link_key(secret_key), nonce.encode(), hashlib.sha256).digest()[:TOKEN_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_path(token: str) -> str:
    """The path of the check-in page for a token (kept short: it goes in an SMS)."""
    return f"/c/{token}"


def public_base_url_problem(public_base_url: str) -> str | None:
    """What is wrong with the public base URL for check-in links, or None. A link is the URL, the path and the
    token; the SMS carrying it must stay one GSM-7 segment even once the child's name is left out of it."""
    longest_link = public_base_url.rstrip("/") + link_path("x" * len(link_token("", "")))
    if templates.check_in_link_fits_one_segment(longest_link):
        return None
    return (
        f"REACHABLE_PUBLIC_BASE_URL ({public_base_url!r}) is too long for a check-in link to fit in one SMS: "
        "use a shorter address, in plain letters, digits and . - / : only."
    )


class InvitationState(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    EXPIRED = "expired"
    REVOKED = "revoked"


DEFAULT_LINK_HOURS = 72


def invitation_state(
    *, expires_at: datetime, completed_at: datetime | None, revoked_at: datetime | None, now: datetime
) -> InvitationState:
    if completed_at is not None:
        return InvitationState.COMPLETED
    if revoked_at is not None:
        return InvitationState.REVOKED
    if now >= expires_at:
        return InvitationState.EXPIRED
    return InvitationState.OPEN


# A repeated "Send" within this of the first is the same child tapping twice, not a reused link.
REPEAT_SUBMISSION_WINDOW = timedelta(minutes=10)


def is_repeated_submission(
    *,
    completed_at: datetime | None,
    now: datetime,
    answers: Mapping[str, Mapping[str, object]],
    stored: Mapping[str, Mapping[str, int]],
) -> bool:
    """Whether answers sent to a used link are its submission arriving twice: the link was completed moments ago
    with exactly these answers (`stored`: each instrument's answers as stored; one sent empty was not sent)."""
    if completed_at is None or now - completed_at > REPEAT_SUBMISSION_WINDOW:
        return False
    given = {key: dict(values) for key, values in answers.items() if values}
    return {key: given.get(key) for key in stored} == stored
