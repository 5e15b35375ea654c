"""Mutations that reach the inner parsers: byte edits with the CRCs made right, and streams swapped for others.

A stream swap replaces one stream of a valid file by another valid stream
of exactly the size the container expects there, so that the file passes
every size check and the payload decoders meet what they were not written
for: progressive JPEGs, restart markers, CMYK and 12-bit-looking headers,
WebP with alpha, animated or lossless, AVIF with alpha, 4:4:4 or as an image
sequence, and another codec's stream in a codec's place.
"""

from __future__ import annotations

import functools
import io
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image, features

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.craft

from regioncodec import container, decoder  # noqa: E402
from tests.craft import LAYR, build, chunks_of, fix_crcs  # noqa: E402

EDITS = ("flip", "byte", "insert", "delete", "copy", "swap")  # byte edits, as tests/test_hostile_input.py makes them
DONOR_SIDE = 1024  # streams bigger than this on a side are not made: fuzz inputs stay small


def mutated(data: bytes, rng: random.Random) -> bytes:
    """data after a stream swap (when it parses) or one to six byte edits, its CRCs made right three times in four."""
    if rng.random() < 0.3:
        swapped = swap_stream(data, rng)
        if swapped is not None:
            return swapped if rng.random() < 0.7 else fix_crcs(byte_edits(swapped, rng))
    edited = byte_edits(data, rng)
    return fix_crcs(edited) if rng.random() < 0.75 else edited


def byte_edits(data: bytes, rng: random.Random) -> bytes:
    """data after one to six random edits: bit flips, bytes set, inserted, deleted, copied or swapped."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        at = rng.randint(0, len(out))
        edit = rng.choice(EDITS)
        if edit == "flip" and at < len(out):
            out[at] ^= 1 << rng.randint(0, 7)
        elif edit == "byte" and at < len(out):
            out[at] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randint(0, 255)])
        elif edit == "insert":
            out[at:at] = bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 16)))
        elif edit == "delete":
            del out[at : at + rng.randint(1, 16)]
        elif edit == "copy":
            start = rng.randint(0, len(out))
            out[at:at] = out[start : start + rng.randint(1, 64)]
        elif edit == "swap" and len(out) > 8:
            a, b = rng.randrange(len(out)), rng.randrange(len(out))
            out[a], out[b] = out[b], out[a]
    return bytes(out)


def swap_stream(data: bytes, rng: random.Random) -> bytes | None:
    """data with one stream replaced by a donor of the same size (and the CRCs right), or None if data is not valid."""
    try:
        parsed = container.read(data, max_pixels=1 << 24)
    except Exception:  # noqa: BLE001 - only valid files have streams whose sizes are known
        return None
    coded = [layer for layer in parsed.layers if layer.streams]
    if not coded:
        return None
    layer = rng.choice(coded)
    shapes = decoder.stream_shapes(parsed.header, parsed.block_map, layer)
    index = rng.randrange(len(layer.streams))
    (rows, cols), _ = shapes[index]
    if max(rows, cols) > DONOR_SIDE:
        return None
    options = donors(rows, cols, seed=rng.randrange(4))
    if not options:
        return None
    streams = list(layer.streams)
    streams[index] = rng.choice(options)
    first = streams[0]
    body = LAYR.pack(layer.region, rng.choice([layer_code(layer.codec)] * 3 + [1, 2, 3]), layer.quality, layer.scale,
                     len(first)) + b"".join(streams)  # fmt: skip
    chunks = chunks_of(data)
    positions = [i for i, (kind, _) in enumerate(chunks) if kind == b"LAYR"]
    chunks[positions[layer.region]] = (b"LAYR", body)
    return build(chunks)


def layer_code(name: str) -> int:
    """The LAYR codec byte of a codec name (§7)."""
    return {"jpeg": 1, "webp": 2, "avif": 3}[name]


@functools.lru_cache(maxsize=512)
def donors(rows: int, cols: int, seed: int = 0) -> tuple[bytes, ...]:
    """Valid streams of exactly rows x cols in every form the payload decoders may meet."""
    rng = np.random.default_rng(seed + 31 * rows + cols)
    grey = rng.integers(0, 256, (rows, cols), np.uint8)
    rgb = rng.integers(0, 256, (rows, cols, 3), np.uint8)
    rgba = np.dstack([rgb, rng.integers(0, 256, (rows, cols), np.uint8)])
    made: list[bytes] = []

    def save(image: Image.Image, image_format: str, **options: object) -> None:
        out = io.BytesIO()
        try:
            image.save(out, image_format, **options)
        except Exception:  # noqa: BLE001 - a form this Pillow cannot write is left out
            return
        made.append(out.getvalue())

    grey_image, rgb_image, rgba_image = Image.fromarray(grey), Image.fromarray(rgb), Image.fromarray(rgba)
    save(grey_image, "JPEG", quality=30)
    save(grey_image, "JPEG", progressive=True, quality=90)
    save(grey_image, "JPEG", restart_marker_blocks=1)
    save(grey_image, "JPEG", qtables=[[1] * 64])
    save(rgb_image, "JPEG")  # three components where one is expected
    save(rgb_image.convert("CMYK"), "JPEG")
    if features.check("webp"):
        save(rgb_image, "WEBP", quality=50)
        save(rgb_image, "WEBP", lossless=True)
        save(rgba_image, "WEBP")
        save(rgb_image, "WEBP", save_all=True, append_images=[Image.fromarray(255 - rgb)], duration=10)
    if features.check("avif"):
        save(rgb_image, "AVIF", quality=50)
        save(rgb_image, "AVIF", subsampling="4:4:4")
        save(rgba_image, "AVIF")
        save(rgb_image, "AVIF", save_all=True, append_images=[Image.fromarray(255 - rgb)], duration=10)
    save(rgb_image, "PNG")
    return tuple(made)
