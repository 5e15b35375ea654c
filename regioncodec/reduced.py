"""Reduced-scale decoding: an .rgc image at 1/2, 1/4 or 1/8 of its size, a preview for thumbnails (spec §11.10).

This is not the normative decode of decoder.py: it approximates the full
decode reduced by box averages, at a fraction of its cost. JPEG layers are
decoded straight at the reduced size by libjpeg's scaled IDCT (each 8x8 DCT
block becomes 8/r samples a side), so no plane of the image's full size is
made: a block of B pixels becomes B/r samples a side, still whole. Chroma is
decoded at half the luma's reduction, so all planes are the same size and
need no upsampling, and they are converted by the decoder's §11.6. Layers
coarser than the reduction keep §11.4's procedure at the reduced size.
Canvases (WebP, AVIF) have no scaled decode: each is decoded whole and
box-reduced. Alpha is box-reduced a band at a time as it is decompressed.
Like the decoder, this module reads alone: nothing of the encoder.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import NamedTuple

import numpy as np
import zstandard

from . import container, decoder, layout, threads
from .codecs import CODECS, MOSAIC
from .codecs.jpeg import JPEG, REDUCTIONS
from .container import Container, Header, Layer
from .errors import FormatError, OptionError

ALPHA_BAND_BYTES = 1 << 20  # alpha decompressed per band: in cache, and bounded whatever the image's size
AREA_SCALE = 64  # means are taken of 64 x + 32: 1/64 is the finest fraction of an 8 x 8 mean (_whole_means)


class StreamKind(NamedTuple):
    """A JPEG layer's luma or chroma stream: its index, its planes, and its samples' side in pixels at scale 1."""

    stream: int
    planes: tuple[str, ...]
    side: int

    def coarser(self, layer: Layer, factor: int) -> int:
        """How many times coarser than planes at 1/factor the layer's stream is (1: as fine or finer)."""
        return max(layer.scale * self.side // factor, 1)

    def reduction(self, layer: Layer, factor: int) -> int:
        """The reduction that decodes the layer's stream to the size of planes at 1/factor, or 1 if it is coarser."""
        return max(factor // (layer.scale * self.side), 1)


LUMA = StreamKind(0, ("Y",), 1)
CHROMA = StreamKind(1, ("Cb", "Cr"), 2)  # one stream, Cb above Cr (§7.1), each at half the luma's resolution


def check_factor(factor: object) -> int:
    """factor if it is one libjpeg's scaled IDCT offers (1, 2, 4, 8), else OptionError."""
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or int(factor) not in REDUCTIONS:
        raise OptionError(f"reduce must be one of {', '.join(map(str, REDUCTIONS))}, not {factor!r}")
    return int(factor)


def reduced_size(width: int, height: int, factor: int) -> tuple[int, int]:
    """(width, height) of an image decoded at 1/factor: each side divided and rounded up, as Image.reduce does."""
    return -(-width // factor), -(-height // factor)


def decode(data: bytes, factor: int, *, max_pixels: int = container.DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The image in .rgc data at 1/factor of its size, channels as decoder.decode; factor 1 is the exact decode."""
    factor = check_factor(factor)
    return decode_container(container.read(data, max_pixels=max_pixels), factor)


def decode_container(parsed: Container, factor: int) -> np.ndarray:
    """A parsed file's image at 1/factor: its colour, with its alpha, reduced the same way, last if it has one."""
    if factor == 1:
        return decoder.decode_container(parsed)
    colour = _colour(parsed.header, parsed.block_map, parsed.layers, factor, parsed.deblock is not None)
    if parsed.alpha is None:
        return colour
    return np.dstack([colour, _alpha(parsed.alpha, parsed.header, factor)])


def box_reduce(image: np.ndarray, factor: int) -> np.ndarray:
    """The mean of each factor x factor square of an image (any channels), halves rounded up, squares cut off by
    the right and bottom edges averaging the pixels they hold: Pillow's Image.reduce within a level, the reference a
    reduced decode aims at."""
    if factor == 1:
        return image
    height, width = image.shape[:2]
    rows, cols = -(-height // factor), -(-width // factor)
    whole_rows, whole_cols = height // factor, width // factor
    out = np.empty((rows, cols, *image.shape[2:]), np.uint8)
    if whole_rows and whole_cols:
        inner = image[: whole_rows * factor, : whole_cols * factor]
        out[:whole_rows, :whole_cols] = _whole_means(inner, factor)
    if whole_cols < cols and whole_rows:
        out[:whole_rows, whole_cols] = _strip_means(image[: whole_rows * factor, whole_cols * factor :], factor, 0)
    if whole_rows < rows:
        out[whole_rows] = _strip_means(image[whole_rows * factor :], factor, 1)
    return out


def _whole_means(image: np.ndarray, factor: int) -> np.ndarray:
    """The means of an image's factor x factor squares (its sides multiples of factor), halves rounded up.

    OpenCV's INTER_AREA rounds halves up at factor 2 ((sum + 2) >> 2, its
    fast path for 1, 3 and 4 channels), but otherwise computes each mean
    exactly and rounds k + 1/2 to even. There it is run on 64 x + 32: that
    square's mean is 64 m + 32 exactly, rounding moves it less than 1/2, and
    a mean's fraction is a multiple of 1/64 at the least (squares of at most
    8 x 8), so the integer part of the rounded value / 64 is m rounded up.
    """
    import cv2

    rows, cols = image.shape[0] // factor, image.shape[1] // factor
    if factor == 2 and (image.ndim == 2 or image.shape[2] != 2):
        return cv2.resize(image, (cols, rows), interpolation=cv2.INTER_AREA)
    scaled = image.astype(np.uint16)  # 64 x + 32 is at most 16,352: exact in OpenCV's sums
    scaled *= AREA_SCALE
    scaled += AREA_SCALE // 2
    return (cv2.resize(scaled, (cols, rows), interpolation=cv2.INTER_AREA) // AREA_SCALE).astype(np.uint8)


def _strip_means(strip: np.ndarray, factor: int, along: int) -> np.ndarray:
    """Rounded means of an edge strip's squares: the strip averaged across axis 1 - along, then in runs of factor
    (the last run maybe shorter) along axis along."""
    totals = strip.sum(axis=1 - along, dtype=np.uint32)
    counts = np.full(-(-totals.shape[0] // factor), factor * strip.shape[1 - along], np.uint32)
    counts[-1] = (totals.shape[0] - factor * (len(counts) - 1)) * strip.shape[1 - along]
    sums = np.add.reduceat(totals, np.arange(0, totals.shape[0], factor), axis=0)
    counts = counts.reshape(-1, *[1] * (sums.ndim - 1))
    return ((sums + counts // 2) // counts).astype(np.uint8)


# Colour


def _colour(
    header: Header, block_map: np.ndarray, layers: tuple[Layer, ...], factor: int, deblocked: bool
) -> np.ndarray:
    """The colour image (L or RGB) at 1/factor, every stream checked first as decoder.decode_layers checks it
    (a deblocked file's tables too: a preview refuses what the decode refuses; it does not run the filter).

    JPEG layers make the image through planes; canvases are pasted into it,
    each region's pixels its own layer's.
    """
    coded = [layer for layer in layers if layer.streams]
    shapes = decoder.check_streams(header, block_map, coded)
    if deblocked:
        decoder.region_strengths(coded, shapes)
    width, height = reduced_size(header.width, header.height, factor)
    mosaics = [layer for layer in coded if CODECS[layer.codec].layout == MOSAIC]
    canvases = [layer for layer in coded if CODECS[layer.codec].layout != MOSAIC]
    if not mosaics:
        image = np.zeros((height, width, 3)[: 2 + (header.colour == "RGB")], np.uint8)
    elif header.colour == "L":
        image = np.ascontiguousarray(_planes(header, block_map, mosaics, shapes, factor)[0][:height, :width])
    else:
        image = _to_rgb(_planes(header, block_map, mosaics, shapes, factor), height, width)
    if canvases:
        _paste_canvases(header, block_map, canvases, shapes, factor, image)
    return image


def _planes(
    header: Header, block_map: np.ndarray, layers: list[Layer], shapes: decoder.StreamShapes, factor: int
) -> decoder.Planes:
    """The padded image's Y (and Cb, Cr) planes at 1/factor, every JPEG layer placed (§11.2-§11.4 at that size).

    Chroma is made at the luma's size, not half of it, as libjpeg's own
    scaled decode does (it scales chroma's IDCT less rather than upsample):
    it needs no upsampling and keeps the colour detail a half-size chroma
    would lose. A stream no coarser than the planes is decoded straight at
    their size; coarser ones (a layer of scale s when 1/factor is finer than
    its luma's 1/s or its chroma's 1/2s) are placed as §11.4 places them,
    coarsest last. shapes are the streams' (check_streams).
    """
    rows, cols = header.grid_shape
    side = header.block_size // factor  # a block's side in every plane
    kinds = [LUMA] if header.colour == "L" else [LUMA, CHROMA]
    shape = (rows * side, cols * side)
    everywhere = decoder.codes_every_block(block_map, layers)
    planes = {
        kind: [decoder.start_plane(shape, everywhere and _all_straight(layers, kind, factor)) for _ in kind.planes]
        for kind in kinds
    }
    full_pixels = header.width * header.height  # the entropy decoding, most of the work, is of every coefficient
    for coarser in sorted({kind.coarser(layer, factor) for layer in layers for kind in kinds}):
        placed = {kind: [layer for layer in layers if kind.coarser(layer, factor) == coarser] for kind in kinds}
        placed = {kind: same for kind, same in placed.items() if same}
        if coarser == 1:
            targets = {kind: planes[kind] for kind in placed}
        else:  # §11.4 at this size: reduce what is placed so far, place, enlarge back
            targets = {kind: [decoder.reduce(plane, coarser) for plane in planes[kind]] for kind in placed}
        jobs = [
            (
                len(layer.streams[kind.stream]),
                partial(
                    _scatter, header, block_map, layer, shapes[layer.region][kind.stream], kind, factor, targets[kind]
                ),
            )
            for kind, same in placed.items()
            for layer in same
        ]
        threads.run([work for _, work in jobs], full_pixels, [cost for cost, _ in jobs])
        if coarser > 1:
            enlarging = [
                partial(_enlarge_into, small, plane, block_map, same, coarser)
                for kind, same in placed.items()
                for plane, small in zip(planes[kind], targets[kind], strict=True)
            ]
            threads.run(enlarging, shape[0] * shape[1])
    return [plane for kind in kinds for plane in planes[kind]]


def _all_straight(layers: list[Layer], kind: StreamKind, factor: int) -> bool:
    """Whether every layer's stream of kind goes straight into the planes; a coarser one is placed by §11.4, whose
    filter reads the planes' starting values."""
    return all(kind.coarser(layer, factor) == 1 for layer in layers)


def _enlarge_into(small: np.ndarray, plane: np.ndarray, block_map: np.ndarray, layers: list[Layer], by: int) -> None:
    """Copy the blocks of layers from their coarser plane, enlarged by by (§11.4), into plane."""
    enlarged = decoder.enlarge(small, by)
    cell = enlarged.shape[0] // block_map.shape[0]
    for layer in layers:
        layout.copy_blocks(enlarged, plane, block_map == layer.region, cell)


def _scatter(
    header: Header,
    block_map: np.ndarray,
    layer: Layer,
    stream: decoder.StreamShape,
    kind: StreamKind,
    factor: int,
    planes: decoder.Planes,
) -> None:
    """Decode a layer's stream of kind as finely as planes (at 1/factor, or reduced by their coarseness) need, and copy
    its blocks into them: Y, or Cb and Cr from the upper and lower halves (§7.1, §11.3). stream is its (shape, name).
    """
    shape, what = stream
    reduction = kind.reduction(layer, factor)
    mosaic = JPEG.decode_reduced(layer.streams[kind.stream], shape, reduction, what, checked=True)  # by _colour
    cell = header.block_size // factor // kind.coarser(layer, factor)  # a block's side in planes
    cells = block_map == layer.region
    rows = mosaic.shape[0] // len(planes)
    for index, plane in enumerate(planes):
        layout.unpack(mosaic[index * rows : (index + 1) * rows], cells, cell, plane)


def _to_rgb(planes: decoder.Planes, height: int, width: int) -> np.ndarray:
    """The RGB image of Y, Cb, Cr planes of one size, cropped to height x width (§11.6), in bands of rows (threads)."""
    rgb = np.empty((height, width, 3), np.uint8)
    bands = range(0, height, 2 * decoder.BAND_ROWS)
    threads.run([partial(_to_rgb_band, planes, top, rgb) for top in bands], height * width)
    return rgb


def _to_rgb_band(planes: decoder.Planes, top: int, rgb: np.ndarray) -> None:
    """Rows top .. top + 2 BAND_ROWS of rgb from the same rows of the planes (§11.6)."""
    rows = slice(top, min(top + 2 * decoder.BAND_ROWS, rgb.shape[0]))
    luma, cb, cr = (plane[rows, : rgb.shape[1]] for plane in planes)
    rgb[rows] = decoder.to_rgb(luma, cb, cr)


# Canvases


def _paste_canvases(
    header: Header,
    block_map: np.ndarray,
    layers: list[Layer],
    shapes: decoder.StreamShapes,
    factor: int,
    image: np.ndarray,
) -> None:
    """Decode each canvas (in parallel), bring it to 1/factor and paste its region's pixels into image (§11.7).

    In a greyscale image each canvas is turned to grey first: per pixel, as
    the decoder turns the whole image.
    """
    jobs = [partial(_reduced_canvas, header, block_map, layer, shapes[layer.region][0], factor) for layer in layers]
    for layer, picture in zip(layers, threads.run(jobs, header.width * header.height), strict=True):
        if image.ndim == 2:
            picture = decoder.to_grey(picture)
        cells = block_map == layer.region
        box = _reduced_box(layout.region_box(cells, header.block_size, (header.height, header.width)), factor)
        keep = layout.box_mask(cells, box, header.block_size // factor)
        image[box][keep] = picture[keep]


def _reduced_canvas(
    header: Header, block_map: np.ndarray, layer: Layer, stream: decoder.StreamShape, factor: int
) -> np.ndarray:
    """A layer's canvas (stream: its shape and name) at 1/factor of the image: decoded whole, then box-reduced, or
    enlarged if it is coarser."""
    shape, what = stream
    picture = CODECS[layer.codec].decode(layer.streams[0], shape, what)
    if layer.scale <= factor:
        return box_reduce(picture, factor // layer.scale)
    box = layout.region_box(block_map == layer.region, header.block_size, (header.height, header.width))
    rows, cols = layout.box_shape(_reduced_box(box, factor))
    return decoder.enlarge(picture, layer.scale // factor)[:rows, :cols]


def _reduced_box(box: layout.Box, factor: int) -> layout.Box:
    """A box of the image in the image at 1/factor: its start is on the block grid, so divides exactly."""
    rows, cols = box
    return slice(rows.start // factor, -(-rows.stop // factor)), slice(cols.start // factor, -(-cols.stop // factor))


# Alpha


def _alpha(data: bytes, header: Header, factor: int) -> np.ndarray:
    """The alpha plane (§8) at 1/factor, decompressed and box-reduced a band of rows at a time."""
    width, height = reduced_size(header.width, header.height, factor)
    out = np.empty((height, width), np.uint8)
    band = max(ALPHA_BAND_BYTES // header.width // factor, 1) * factor  # rows a band: a multiple of factor
    for top, rows in _alpha_bands(data, header, band):
        out[top // factor : -(-(top + rows.shape[0]) // factor)] = box_reduce(rows, factor)
    return out


def _alpha_bands(data: bytes, header: Header, band: int) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, rows) of the alpha plane, band rows at a time, filter undone.

    FormatError, as container.alpha_plane, unless the frame holds exactly
    W x H bytes (container.read has checked the size it declares) with
    nothing readable after it; unlike alpha_plane, an empty or skippable
    zstd frame after it goes unnoticed, as reading on yields no byte.
    """
    what, size = "ALPH chunk", header.width * header.height
    reader = zstandard.ZstdDecompressor().stream_reader(data[1:])
    try:
        for top in range(0, header.height, band):
            rows = min(band, header.height - top)
            raw = _read_exactly(reader, rows * header.width)
            if raw is None:
                raise FormatError(f"{what} is not exactly one frame of {size} bytes")
            residual = np.frombuffer(raw, np.uint8).reshape(rows, header.width)
            yield top, np.cumsum(residual, axis=1, dtype=np.uint8)  # undoes the filter, modulo 256
        if reader.read(1):
            raise FormatError(f"{what} is not exactly one frame of {size} bytes")
    except zstandard.ZstdError as exc:
        raise FormatError(f"{what} is damaged: {exc}") from None


def _read_exactly(reader: zstandard.ZstdDecompressionReader, size: int) -> bytes | None:
    """size bytes from a decompressing reader, or None if its content ends first."""
    parts, got = [], 0
    while got < size:
        part = reader.read(size - got)
        if not part:
            return None
        parts.append(part)
        got += len(part)
    return b"".join(parts)
