"""How many SMS segments a text costs (docs/domain.md, "SMS to children: safeguarding").

A text made only of GSM 03.38 characters travels as GSM-7: 160 septets in a single SMS, 153 a segment once it
is split (each segment gives 7 septets to the concatenation header). The extension table's characters (such as
"€", "[" or "{") are sent as an escape plus the character, so each costs two septets, and a pair is never split
across two segments. One character outside both tables (an emoji, a curly quote, "ë") turns the whole text
into UCS-2: 70 UTF-16 code units in a single SMS, 67 a segment, and a character outside the Basic Multilingual
Plane (most emoji) takes two code units that are never split either.
"""

from __future__ import annotations

# GSM 03.38 basic character set, in table order, without 0x1B (the escape to the extension table).
BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: form feed, ^ { } \ [ ~ ] | and the euro sign. Each is sent as escape + character.
EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_SEGMENT = 160, 153
UCS2_SINGLE, UCS2_SEGMENT = 70, 67


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM 03.38 basic set or its extension table."""
    return all(character in BASIC or character in EXTENSION for character in text)


def segments(text: str) -> int:
    """The number of SMS segments the text is sent as. An empty text is still one (empty) SMS."""
    if is_gsm7(text):
        sizes = [2 if character in EXTENSION else 1 for character in text]
        single, per_segment = GSM7_SINGLE, GSM7_SEGMENT
    else:
        sizes = [2 if ord(character) > 0xFFFF else 1 for character in text]
        single, per_segment = UCS2_SINGLE, UCS2_SEGMENT
    if sum(sizes) <= single:
        return 1
    count, used = 1, 0
    for size in sizes:
        if used + size > per_segment:
            count, used = count + 1, 0
        used += size
    return count
