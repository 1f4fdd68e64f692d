"""Time-based one-time passwords (RFC 6238, through pyotp) and recovery codes: no database, no HTTP.

The authenticator's secret is never stored. The database holds a random seed per enrolment, and the secret is
HMAC-SHA256(key, seed), the key derived from a server-side secret (MFA_SECRET_KEY, or the secret key): a copy of
the database alone cannot make a single code. Codes are accepted one step either side of now (clock drift), and
only for a step later than the last one accepted, so a code, once used, is refused for the rest of its window
(and so is any code older than it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp

STEP_SECONDS = 30
DIGITS = 6
# Steps either side of now a code may come from: a phone's clock a little out, or a code typed as it turned over.
DRIFT_STEPS = 1
_SECRET_LABEL = b"reachable totp secret v1"
# Recovery codes: 12 characters of Crockford-like base32 without look-alikes (60 bits), shown as XXXX-XXXX-XXXX.
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_RECOVERY_LENGTH = 12


def new_seed() -> str:
    return secrets.token_hex(32)


def secret_for(key: str, seed: str) -> str:
    """The authenticator's base32 secret for an enrolment's seed (160 bits, as RFC 4226 recommends)."""
    derived_key = hmac.new(key.encode(), _SECRET_LABEL, hashlib.sha256).digest()
    digest = hmac.new(derived_key, bytes.fromhex(seed), hashlib.sha256).digest()[:20]
    return base64.b32encode(digest).decode()


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from a QR code (or typed in by hand)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=account, issuer_name=issuer)


def step_at(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def code_at_step(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def accepted_step(secret: str, code: str, *, now: datetime, last_step: int | None) -> int | None:
    """The step whose code this is, if it is one of now's (give or take DRIFT_STEPS) and later than the last step
    accepted; None otherwise. Every candidate is compared in constant time."""
    typed = "".join(code.split())
    if len(typed) != DIGITS or not typed.isdigit():
        return None
    current = step_at(now)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at_step(secret, step), typed) and (last_step is None or step > last_step):
            found = step
    return found


def new_recovery_codes() -> list[str]:
    return [
        _format("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH)))
        for _ in range(RECOVERY_CODE_COUNT)
    ]


def _format(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_recovery_code(code: str) -> str:
    """As shown (XXXX-XXXX-XXXX), however it was typed: case, spaces and dashes do not matter."""
    cleaned = "".join(character for character in code.upper() if character.isalnum())
    return _format(cleaned)


def recovery_code_is_well_formed(code: str) -> bool:
    cleaned = normalise_recovery_code(code).replace("-", "")
    return len(cleaned) == _RECOVERY_LENGTH and all(character in _RECOVERY_ALPHABET for character in cleaned)
