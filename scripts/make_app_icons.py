"""Draw the mentors' app icons (api/mentors_app/static/icons/icon-<size>.png) with the standard library only.

A white ring and dot on the app's dark teal, inside the middle 80% so a launcher's round mask ("maskable") never
cuts it. Run it again only to change the icons; the PNGs are committed, so nothing at run time needs it.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "api" / "mentors_app" / "static" / "icons"
TEAL = (0x0B, 0x4F, 0x5C)
WHITE = (0xFF, 0xFF, 0xFF)
SIZES = (192, 512)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _pixel(x: float, y: float, size: int) -> tuple[int, int, int]:
    centre = size / 2
    distance = ((x - centre) ** 2 + (y - centre) ** 2) ** 0.5 / size
    on_ring = 0.24 <= distance <= 0.32
    on_dot = distance <= 0.1
    return WHITE if on_ring or on_dot else TEAL


def png(size: int) -> bytes:
    rows = b"".join(b"\x00" + b"".join(bytes(_pixel(x + 0.5, y + 0.5, size)) for x in range(size)) for y in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    chunks = _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def main() -> None:
    for size in SIZES:
        (ICONS / f"icon-{size}.png").write_bytes(png(size))


if __name__ == "__main__":
    main()
