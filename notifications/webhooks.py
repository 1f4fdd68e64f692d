"""Checking Twilio's webhooks (status callbacks, inbound messages) before believing them.

Every webhook carries X-Twilio-Signature, an HMAC-SHA1 of the exact public URL plus the sorted form fields, made
with the account's auth token (docs/domain.md). The check itself lives in the Twilio adapter, the one module allowed to
import the twilio package; this module is where the rest of the code base finds it.
"""

from __future__ import annotations

from notifications.twilio_adapter import signature_is_valid

__all__ = ["signature_is_valid"]
