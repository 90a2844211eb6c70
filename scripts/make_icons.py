"""Draw the Pursuit app icons into pwa/icons/ as PNG files, with only zlib and struct.

The mark is a target: a white ring and a teal centre on the brand's navy. The plain icons
sit on a rounded square with transparent corners; the maskable one fills the whole square
and keeps the mark inside the central safe circle (40 % of the size as radius).

    python scripts/make_icons.py
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "pwa" / "icons"
NAVY = (0x17, 0x32, 0x4D)
WHITE = (0xFF, 0xFF, 0xFF)
TEAL = (0x3C, 0xC4, 0xB8)

Color = tuple[int, int, int]
Distance = Callable[[float, float], float]


def coverage(distance: float) -> float:
    """How much of a pixel a shape covers, from the signed distance of its centre (< 0 inside)."""
    return min(1.0, max(0.0, 0.5 - distance))


def rounded_square(size: int, radius: float) -> Distance:
    half = size / 2

    def distance(x: float, y: float) -> float:
        qx, qy = abs(x - half) - (half - radius), abs(y - half) - (half - radius)
        outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
        return outside + min(max(qx, qy), 0.0) - radius

    return distance


def ring(size: int, radius: float, width: float) -> Distance:
    half = size / 2
    return lambda x, y: abs(math.hypot(x - half, y - half) - radius) - width / 2


def disc(size: int, radius: float) -> Distance:
    half = size / 2
    return lambda x, y: math.hypot(x - half, y - half) - radius


def blend(under: tuple[float, ...], color: Color, alpha: float) -> tuple[float, ...]:
    """Paint ``color`` at ``alpha`` over a premultiplied RGBA pixel."""
    r, g, b, a = under
    return (
        color[0] * alpha + r * (1 - alpha),
        color[1] * alpha + g * (1 - alpha),
        color[2] * alpha + b * (1 - alpha),
        alpha + a * (1 - alpha),
    )


def draw(size: int, maskable: bool) -> bytes:
    """Raw scanlines (filter byte, then RGBA) of one icon."""
    background = rounded_square(size, 0 if maskable else size * 0.22)
    layers: list[tuple[Distance, Color]] = [
        (ring(size, size * 0.27, size * 0.075), WHITE),
        (disc(size, size * 0.105), TEAL),
    ]
    rows = bytearray()
    for row in range(size):
        rows.append(0)
        for column in range(size):
            x, y = column + 0.5, row + 0.5
            pixel = blend((0.0, 0.0, 0.0, 0.0), NAVY, coverage(background(x, y)))
            for shape, color in layers:
                pixel = blend(pixel, color, coverage(shape(x, y)) * pixel[3])
            rows.extend(_straight(pixel))
    return bytes(rows)


def _straight(pixel: tuple[float, ...]) -> bytes:
    r, g, b, a = pixel
    if a <= 0:
        return b"\0\0\0\0"
    return bytes(round(min(255.0, channel / a)) for channel in (r, g, b)) + bytes([round(a * 255)])


def png(size: int, scanlines: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(scanlines, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("icon-maskable-512.png", 512, True),
    ):
        (ICONS / name).write_bytes(png(size, draw(size, maskable)))
        print(f"wrote {ICONS / name}")


if __name__ == "__main__":
    main()
