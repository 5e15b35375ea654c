"""A second .rgc decoder, written from spec/format.md alone, deliberately naive.

It shares no code with regioncodec: it parses the chunks itself, scatters
blocks one at a time, and does every step of §11 with numpy integers as the
spec writes it (no OpenCV after the JPEG streams). Where it and the reference
decoder agree on every conformance vector, the spec says enough to decode
bit for bit. It checks little: the vectors are valid files.
"""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import zstandard
from PIL import Image

SIGNATURE = b"\x89RGC\r\n\x1a\n"
CANVAS_CODES = {2: "WEBP", 3: "AVIF"}
MODES = {1: 1, 2: 2, 3: 3, 4: 4}  # mode -> channels


def decode(data: bytes) -> np.ndarray:
    """The pixels of a valid .rgc file, as §11 computes them."""
    assert data[:8] == SIGNATURE
    chunks = _chunks(data)
    _, width, height, mode, block, regions = struct.unpack(">BIIBBB", chunks[0][1])
    rows, cols = -(-height // block), -(-width // block)
    block_map = np.frombuffer(zstandard.ZstdDecompressor().decompress(_one(chunks, b"BMAP")), np.uint8)
    block_map = block_map.reshape(rows, cols)
    layers = [_layer(body) for kind, body in chunks if kind == b"LAYR"]
    assert len(layers) == regions
    deblock = [body for kind, body in chunks if kind == b"DBLK"]
    colour = mode in (3, 4)
    coded = [layer for layer in layers if layer["streams"]]
    if all(layer["codec"] in CANVAS_CODES for layer in coded):
        image = _canvases(coded, block_map, block, height, width)
        if not colour:
            image = _grey(image)
    else:
        planes = _planes(coded, block_map, block, colour, (height, width))
        if deblock:
            method, a, b = deblock[0]
            assert method == 1
            strengths, inside = _strengths(coded, block_map, block, colour, regions)
            planes = [_deblock(plane, s, a, b, last) for plane, s, last in zip(planes, strengths, inside, strict=True)]
        image = planes[0] if not colour else _rgb(planes[0], _fancy(planes[1]), _fancy(planes[2]))
        image = image[:height, :width]
    if mode in (2, 4):
        alpha_body = _one(chunks, b"ALPH")
        residual = np.frombuffer(zstandard.ZstdDecompressor().decompress(alpha_body[1:]), np.uint8)
        alpha = np.cumsum(residual.reshape(height, width).astype(np.int64), axis=1) % 256
        image = np.dstack([image, alpha.astype(np.uint8)])
    return np.ascontiguousarray(image.astype(np.uint8))


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk (§4), CRCs checked."""
    out, offset = [], 8
    while offset < len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack_from(">I", data, offset + 8 + length)
        assert crc == zlib.crc32(kind + body)
        out.append((kind, body))
        offset += 12 + length
    return out


def _one(chunks: list[tuple[bytes, bytes]], kind: bytes) -> bytes:
    """The data of the one chunk of this type."""
    (body,) = [body for found, body in chunks if found == kind]
    return body


def _layer(body: bytes) -> dict[str, object]:
    """A LAYR chunk's fields and streams (§7)."""
    region, codec, _quality, scale, first = struct.unpack_from(">BBBBI", body)
    streams = [body[8 : 8 + first], body[8 + first :]]
    return {"region": region, "codec": codec, "scale": scale, "streams": [s for s in streams if s]}


def _planes(
    layers: list[dict], block_map: np.ndarray, block: int, colour: bool, size: tuple[int, int]
) -> list[np.ndarray]:
    """§11.2-§11.4, §11.9: planes starting at 128, JPEG layers of scale 1 scattered, canvases converted and placed,
    then each larger scale of JPEG layers reduced, placed, enlarged."""
    rows, cols = block_map.shape
    shapes = [(rows * block, cols * block)] + [(rows * block // 2, cols * block // 2)] * (2 if colour else 0)
    planes = [np.full(shape, 128, np.int64) for shape in shapes]
    mosaics = [layer for layer in layers if layer["codec"] not in CANVAS_CODES]
    for scale in sorted({layer["scale"] for layer in mosaics} | {1}):
        small = planes if scale == 1 else [_reduce(p, scale) for p in planes]
        for layer in (layer for layer in mosaics if layer["scale"] == scale):
            _scatter(layer, block_map, block // scale, small)
        if scale == 1:
            for layer in (layer for layer in layers if layer["codec"] in CANVAS_CODES):
                _place_canvas(layer, block_map, block, size, planes)
        if scale > 1:
            for plane, reduced in zip(planes, small, strict=True):
                big = _enlarge(reduced, scale)
                cell = block * plane.shape[0] // planes[0].shape[0]
                for layer in (layer for layer in mosaics if layer["scale"] == scale):
                    for r, c in zip(*np.nonzero(block_map == layer["region"]), strict=True):
                        window = (slice(r * cell, (r + 1) * cell), slice(c * cell, (c + 1) * cell))
                        plane[window] = big[window]
    return planes


def _canvas_box(
    layer: dict, block_map: np.ndarray, block: int, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, int, int, int, int, np.ndarray]:
    """§11.7: the region's blocks (rows, cols), its box (top, left, bottom, right) and the canvas's picture
    enlarged by its scale and cropped to the box."""
    height, width = size
    rows, cols = np.nonzero(block_map == layer["region"])
    top, left = rows.min() * block, cols.min() * block
    bottom, right = min((rows.max() + 1) * block, height), min((cols.max() + 1) * block, width)
    with Image.open(io.BytesIO(layer["streams"][0])) as opened:
        picture = np.asarray(opened.convert("RGB")).astype(np.int64)
    if layer["scale"] > 1:
        picture = np.dstack([_enlarge(picture[..., i], layer["scale"]) for i in range(3)])
    return rows, cols, top, left, bottom, right, picture[: bottom - top, : right - left]


def _place_canvas(
    layer: dict, block_map: np.ndarray, block: int, size: tuple[int, int], planes: list[np.ndarray]
) -> None:
    """§11.9: the box's picture (enlarged, §11.7), extended by its last row and column to whole blocks, converted to
    Y per pixel and Cb, Cr per 2x2 square in integers; the region's blocks copied into the planes."""
    rows, cols, top, left, bottom, right, picture = _canvas_box(layer, block_map, block, size)
    extended_rows = -(-(bottom - top) // block) * block
    extended_cols = -(-(right - left) // block) * block
    picture = np.pad(picture, ((0, extended_rows - picture.shape[0]), (0, extended_cols - picture.shape[1]), (0, 0)),
                     mode="edge")  # fmt: skip
    r, g, b = picture[..., 0], picture[..., 1], picture[..., 2]
    converted = [(19595 * r + 38470 * g + 7471 * b + 32768) >> 16]
    if len(planes) == 3:
        sums = [x[0::2, 0::2] + x[0::2, 1::2] + x[1::2, 0::2] + x[1::2, 1::2] for x in (r, g, b)]
        bias = (128 << 18) + (1 << 17)
        converted.append(np.clip((-11059 * sums[0] - 21709 * sums[1] + 32768 * sums[2] + bias) >> 18, 0, 255))
        converted.append(np.clip((32768 * sums[0] - 27439 * sums[1] - 5329 * sums[2] + bias) >> 18, 0, 255))
    for plane, values in zip(planes, converted, strict=True):
        cell = block * plane.shape[0] // planes[0].shape[0]
        y0, x0 = top * cell // block, left * cell // block
        for br, bc in zip(rows, cols, strict=True):
            ys, xs = slice(br * cell, (br + 1) * cell), slice(bc * cell, (bc + 1) * cell)
            plane[ys, xs] = values[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]


def _scatter(layer: dict, block_map: np.ndarray, cell: int, planes: list[np.ndarray]) -> None:
    """§11.3: block i of each mosaic to the i-th block of the region, one block at a time."""
    places = list(zip(*np.nonzero(block_map == layer["region"]), strict=True))
    mosaic_cols = min(len(places), block_map.shape[1])
    luma = cv2.imdecode(np.frombuffer(layer["streams"][0], np.uint8), cv2.IMREAD_GRAYSCALE)
    mosaics = [(luma, cell, planes[0])]
    if len(planes) == 3:
        chroma = cv2.imdecode(np.frombuffer(layer["streams"][1], np.uint8), cv2.IMREAD_GRAYSCALE)
        half = chroma.shape[0] // 2
        mosaics += [(chroma[:half], cell // 2, planes[1]), (chroma[half:], cell // 2, planes[2])]
    for mosaic, size, plane in mosaics:
        for i, (r, c) in enumerate(places):
            mr, mc = divmod(i, mosaic_cols)
            block = mosaic[mr * size : (mr + 1) * size, mc * size : (mc + 1) * size]
            plane[r * size : (r + 1) * size, c * size : (c + 1) * size] = block


ZIGZAG = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
    28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
    54, 47, 55, 62, 63,
]  # fmt: skip


def _table(stream: bytes) -> list[int]:
    """§11.8: the table (natural order) the frame's component names, as the DQTs before the first SOS leave it."""
    tables, wanted, offset = {}, None, 2
    while True:
        marker, length = stream[offset + 1], int.from_bytes(stream[offset + 2 : offset + 4], "big")
        body = stream[offset + 4 : offset + 2 + length]
        if marker == 0xDA:
            return tables[wanted]
        if marker == 0xDB:
            i = 0
            while i < len(body):
                wide, index = body[i] >> 4, body[i] & 15
                entries = [int.from_bytes(body[i + 1 + k * (1 + wide) : i + 2 + k * (1 + wide) + wide], "big")
                           for k in range(64)]  # fmt: skip
                table = [0] * 64
                for k, value in enumerate(entries):
                    table[ZIGZAG[k]] = value
                tables[index] = table
                i += 1 + 64 * (1 + wide)
        if marker in (0xC0, 0xC1, 0xC2):
            wanted = body[8]
        offset += 2 + length


def _strengths(
    layers: list[dict], block_map: np.ndarray, block: int, colour: bool, regions: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """§11.8: S per 8x8 block of each plane, min(255, (T[0][1] + T[1][0] + 1) >> 1) of the block's stream (0 for
    canvases and scaled layers); and per 8x8 block of each plane, whether it is in the last region."""
    strengths, inside = [], []
    for stream, cell in [(0, block // 8)] + [(1, block // 16)] * (2 if colour else 0):
        grid = np.zeros(block_map.shape, np.int64)
        for layer in layers:
            if layer["codec"] not in CANVAS_CODES and layer["scale"] == 1:
                table = _table(layer["streams"][stream])
                grid[block_map == layer["region"]] = min(255, (table[1] + table[8] + 1) >> 1)
        strengths.append(np.kron(grid, np.ones((cell, cell), np.int64)))
        inside.append(np.kron(block_map == regions - 1, np.ones((cell, cell), bool)))
    return strengths, inside


def _deblock(plane: np.ndarray, s: np.ndarray, a: int, b: int, inside: np.ndarray | None = None) -> np.ndarray:
    """§11.8: vertical edges on every row, then horizontal edges on the result, one edge and one line at a time;
    none between two blocks of the last region (inside)."""
    out = plane.copy()
    last = np.zeros(s.shape, bool) if inside is None else inside
    for work, strength, within in ((out, s, last), (out.T, s.T, last.T)):  # the second pass works on the transpose
        for x in range(8, work.shape[1], 8):
            for y in range(work.shape[0]):
                if within[y // 8, x // 8 - 1] and within[y // 8, x // 8]:
                    continue
                q = (strength[y // 8, x // 8 - 1] + strength[y // 8, x // 8] + 1) >> 1
                alpha, beta = min((a * q) >> 3, 120), (b * q) >> 4
                p = [int(work[y, x - 1 - k]) for k in range(4)]
                r = [int(work[y, x + k]) for k in range(4)]
                d2 = 3 * (r[0] - p[0]) - (r[1] - p[1])
                if (
                    abs(d2) <= alpha
                    and abs(p[0] - p[1]) + abs(p[1] - p[2]) + abs(p[2] - p[3]) <= beta
                    and abs(r[0] - r[1]) + abs(r[1] - r[2]) + abs(r[2] - r[3]) <= beta
                ):
                    for k in range(4):
                        c = (d2 * (7 - 2 * k) + 16) >> 5
                        work[y, x - 1 - k] = min(max(p[k] + c, 0), 255)
                        work[y, x + k] = min(max(r[k] - c, 0), 255)
    return out


def _reduce(plane: np.ndarray, s: int) -> np.ndarray:
    """§11.4: (sum of an s x s square + s^2/2) >> log2(s^2)."""
    total = sum(plane[a::s, c::s] for a in range(s) for c in range(s))
    return (total + s * s // 2) >> int(np.log2(s * s))


def _enlarge(plane: np.ndarray, s: int) -> np.ndarray:
    """§11.4: the triangle filter, weights near = 2s - |d| and far = |d| with d = 2k + 1 - s, one rounding."""
    h, w = plane.shape
    padded = np.pad(plane, 1, mode="edge")
    out = np.empty((h * s, w * s), np.int64)
    for k in range(s):
        dy = 2 * k + 1 - s
        step_y = -1 if dy < 0 else 1
        for m in range(s):
            dx = 2 * m + 1 - s
            step_x = -1 if dx < 0 else 1
            total = 0
            for oy, wy in ((0, 2 * s - abs(dy)), (step_y, abs(dy))):
                for ox, wx in ((0, 2 * s - abs(dx)), (step_x, abs(dx))):
                    total = total + wy * wx * padded[1 + oy : 1 + oy + h, 1 + ox : 1 + ox + w]
            out[k::s, m::s] = (total + 2 * s * s) >> int(np.log2(4 * s * s))
    return out


def _fancy(c: np.ndarray) -> np.ndarray:
    """§11.5: column sums v0 (row above) and v1 (row below), then rows with biases 8 and 7."""
    padded = np.pad(c, 1, mode="edge")
    h, w = c.shape
    out = np.empty((2 * h, 2 * w), np.int64)
    for t, neighbour in ((0, padded[0:h, 1:-1]), (1, padded[2 : h + 2, 1:-1])):
        v = 3 * c + neighbour
        v_padded = np.pad(v, ((0, 0), (1, 1)), mode="edge")
        out[t::2, 0::2] = (3 * v + v_padded[:, 0:w] + 8) >> 4
        out[t::2, 1::2] = (3 * v + v_padded[:, 2 : w + 2] + 7) >> 4
    return out


def _rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """§11.6: the 14-bit fixed-point conversion, clamped."""
    r = y + ((22987 * (cr - 128) + 8192) >> 14)
    g = y + ((-5636 * (cb - 128) - 11698 * (cr - 128) + 8192) >> 14)
    b = y + ((29049 * (cb - 128) + 8192) >> 14)
    return np.clip(np.dstack([r, g, b]), 0, 255)


def _canvases(layers: list[dict], block_map: np.ndarray, block: int, height: int, width: int) -> np.ndarray:
    """§11.7: each canvas enlarged by its scale and cropped to its box; the region's blocks copied."""
    image = np.zeros((height, width, 3), np.int64)
    for layer in layers:
        rows, cols, top, left, bottom, right, picture = _canvas_box(layer, block_map, block, (height, width))
        for r, c in zip(rows, cols, strict=True):
            ys = slice(r * block, min((r + 1) * block, height))
            xs = slice(c * block, min((c + 1) * block, width))
            image[ys, xs] = picture[ys.start - top : ys.stop - top, xs.start - left : xs.stop - left]
    return image


def _grey(rgb: np.ndarray) -> np.ndarray:
    """§11.7: (19595 R + 38470 G + 7471 B + 32768) >> 16."""
    return (19595 * rgb[..., 0] + 38470 * rgb[..., 1] + 7471 * rgb[..., 2] + 32768) >> 16
