"""DCT-domain JPEG: read a JPEG's quantised coefficients, requantise them, write them as JPEG streams.

What it is for (issue "Existing JPEGs get bigger"):

- estimate_quality: a JPEG's quality from its quantisation tables, as ImageMagick's
  ``identify -format %Q`` gives it, so that no region is coded above the quality its
  source already has. Works on Pillow's ``Image.quantization``; needs nothing extra.
- grid_planes, region_stream: a region's luma and chroma mosaics (spec §7.1) made
  from a source JPEG's coefficients, never from pixels: exactly the source's where the
  region keeps the source's tables (a lossless foreground, no second generation) or
  requantised to a coarser table (a background). sources.py decides when; layers.py
  asks for the streams.
- export_jpeg: one standard baseline JPEG from a .rgc, every region's coefficients
  expressed in the foreground's tables, so any viewer opens it (regions without
  coefficients of the image's blocks, canvases and reduced layers, take a pixel step).

Coefficients are read and written by jpeglib (PyPI ``jpeglib``, MPL-2.0), which runs
libjpeg's own jpeg_read_coefficients and jpeg_write_coefficients: the optional extra
``regioncodec[jpeg]``. Functions that need it raise MissingDependency without it.

Arrays: a coefficient plane is int16 of shape (block rows, block cols, 8, 8), each
block's coefficients in natural (row-major) order, quantised; a table is uint16 (8, 8)
in natural order. Chroma is a stack (2, rows, cols, 8, 8) of Cb and Cr.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import quantise
from .codecs.jpeg import CHROMA_TABLE, LUMA_TABLE, quant_table, segments, without_metadata
from .container import Metadata
from .errors import InputError, OptionError, WriteError
from .layout import mosaic_shape

if TYPE_CHECKING:
    from .container import Container

DCT = 8  # side of a JPEG DCT block
MCU_420 = 16  # side of a 4:2:0 MCU: the smallest block whose luma and chroma blocks are whole DCT blocks
MAX_BASELINE_STEP = 255  # baseline JPEG stores 8-bit quantisation steps (T.81 B.2.4.1); 16-bit ones need SOF1
SOF0 = 0xC0  # baseline frame header, whose size fields export_jpeg rewrites
SOF_SIZE_OFFSET = 5  # bytes from the SOF marker to its height field: FF C0, length (2), precision (1)
# Largest quantised magnitudes baseline 8-bit JPEG codes (T.81 F.1.2: DC differences in 11 bits, AC values in 10):
COEFFICIENT_LIMIT = np.full((8, 8), 1023, np.float32)
COEFFICIENT_LIMIT[0, 0] = 2047
PROC_FDS = "/proc/self/fd"  # where Linux names a process's open files, memfds too
OPTIMIZE = ["+optimize_coding"]  # jpeglib flag: Huffman tables made for the image, as Pillow's optimize=True
SUBSAMPLING_420 = ((2, 2), (1, 1), (1, 1))  # (h, v) sampling of Y, Cb, Cr in a 4:2:0 JPEG
APP1, APP2 = 0xE1, 0xE2  # segments that carry EXIF and XMP (APP1) and the ICC profile (APP2)
SEGMENT_MAX = 65533  # most data bytes a segment holds: its 16-bit length counts itself (2 bytes)
EXIF_PREFIX = b"Exif\0\0"  # what starts an EXIF APP1 segment (CIPA DC-008)
XMP_PREFIX = b"http://ns.adobe.com/xap/1.0/\0"  # what starts an XMP APP1 segment (XMP part 3)
ICC_PREFIX = b"ICC_PROFILE\0"  # what starts each ICC APP2 segment, then its number and the count (ICC.1 B.4)
ICC_CHUNK = SEGMENT_MAX - len(ICC_PREFIX) - 2  # profile bytes per APP2 segment
ICC_MAX_SEGMENTS = 255  # the segment number and count are one byte each

# ImageMagick estimates quality from the sum of all steps and from four probes (two of the luma
# table, two of the chroma table, natural order): (table, position) pairs below. Its reference
# values are those of libjpeg's Annex K tables at each quality, which we compute rather than copy.
QUALITY_PROBES = ((0, 2), (0, 53), (1, 0), (1, 63))
ESTIMATE_SWITCH = 50  # above this quality ImageMagick takes the first reference passed; at or below, only a match


class MissingDependency(OptionError):
    """The optional jpeglib package, which reads and writes DCT coefficients, is not installed.

    An OptionError: what was asked needs an optional extra (the command line exits 2, a usage error).
    """


@dataclass(frozen=True)
class Coefficients:
    """A JPEG's quantised DCT coefficients, as libjpeg holds them (no dummy blocks past the image)."""

    width: int
    height: int
    colour_space: str  # "L", "YCbCr", "RGB", "CMYK" or "YCCK"
    planes: tuple[np.ndarray, ...]  # per component: int16 (rows, cols, 8, 8), natural order
    tables: tuple[np.ndarray, ...]  # per component: uint16 (8, 8), natural order
    sampling: tuple[tuple[int, int], ...]  # per component: (horizontal, vertical) sampling factors
    progressive: bool


@dataclass(frozen=True)
class GridPlanes:
    """Coefficients laid on a block grid as regioncodec's planes are: luma, and Cb/Cr at half size."""

    luma: np.ndarray  # int16 (R * B/8, C * B/8, 8, 8)
    chroma: np.ndarray | None  # int16 (2, R * B/16, C * B/16, 8, 8), or None for greyscale
    luma_table: np.ndarray  # uint16 (8, 8)
    chroma_table: np.ndarray | None


def estimate_quality(tables: Mapping[int, Sequence[int]] | Sequence[Sequence[int]]) -> int:
    """The quality 1..100 ImageMagick reports for a JPEG with these tables (natural order, as Pillow gives them).

    Like ImageMagick, compares the sum of all steps and four probe steps with
    those of libjpeg's scaled Annex K tables, quality by quality from 1 up
    (its reference values, computed here, are the same for all 100). 0 when no
    quality matches (coarse tables unlike libjpeg's, or 16-bit ones), where
    identify prints its default of 92: a cap should not trust that.
    """
    listed = list(tables.values()) if isinstance(tables, Mapping) else list(tables)
    if not listed:
        raise InputError("a JPEG has at least one quantisation table")
    arrays = [np.asarray(t, np.int64).ravel() for t in listed]
    if any(a.size != DCT * DCT for a in arrays):
        raise InputError("a quantisation table has 64 steps")
    colour = len(arrays) > 1  # ImageMagick's test: tables 0 and 1 both present
    probes = QUALITY_PROBES if colour else QUALITY_PROBES[:2]
    value = sum(int(arrays[t][i]) for t, i in probes)
    total = sum(int(a.sum()) for a in arrays)  # every table, a third one too, as ImageMagick sums them
    for quality in range(1, 101):
        reference = [np.array(quant_table(base, quality)) for base in (LUMA_TABLE, CHROMA_TABLE)[: 1 + colour]]
        reference_value = sum(int(reference[t][i]) for t, i in probes)
        reference_total = sum(int(r.sum()) for r in reference)
        if value < reference_value and total < reference_total:
            continue
        exact = value <= reference_value and total <= reference_total
        return quality if exact or quality > ESTIMATE_SWITCH else 0
    return 0


def standard_tables(quality: int) -> tuple[np.ndarray, np.ndarray]:
    """libjpeg's luma and chroma tables (Annex K scaled) at quality, as uint16 8x8 arrays."""
    luma, chroma = (
        np.array(quant_table(base, quality), np.uint16).reshape(DCT, DCT) for base in (LUMA_TABLE, CHROMA_TABLE)
    )
    return luma, chroma


def read_coefficients(data: bytes) -> Coefficients:
    """The quantised coefficients of a JPEG file's bytes (any process libjpeg reads: baseline, progressive, ...)."""
    jpeglib = _jpeglib()
    with _scratch() as path:
        with open(path, "wb") as file:
            file.write(data)
        try:
            image = jpeglib.read_dct(path)
            planes = tuple(p for p in (image.Y, image.Cb, image.Cr, image.K) if p is not None)
            tables = np.asarray(image.qt, np.uint16)
            numbers = [int(n) for n in image.quant_tbl_no]
        except Exception as exc:  # jpeglib reports libjpeg's errors as assorted exception types
            raise InputError(f"not a JPEG whose coefficients libjpeg reads: {exc}") from None
        space = _COLOUR_SPACES.get(str(image.jpeg_color_space).rsplit(".", 1)[-1], "unknown")
        sampling = tuple((int(v[1]), int(v[0])) for v in np.asarray(image.samp_factor))  # jpeglib gives (v, h)
        return Coefficients(
            width=int(image.width),
            height=int(image.height),
            colour_space=space,
            planes=tuple(np.ascontiguousarray(p, np.int16) for p in planes),
            tables=tuple(tables[n] for n in numbers[: len(planes)]),
            sampling=sampling[: len(planes)],
            progressive=bool(image.progressive_mode),
        )


_COLOUR_SPACES = {"JCS_GRAYSCALE": "L", "JCS_YCbCr": "YCbCr", "JCS_RGB": "RGB", "JCS_CMYK": "CMYK", "JCS_YCCK": "YCCK"}


# the other usual chroma layouts, by their (h, v) sampling of Y, Cb, Cr
_SAMPLING_NAMES: dict[tuple[tuple[int, int], ...], str] = {((1, 1),) * 3: "4:4:4", ((2, 1), (1, 1), (1, 1)): "4:2:2"}


def layout_problem(
    colour_space: str,
    sampling: Sequence[tuple[int, int]],
    tables: Sequence[Sequence[int] | np.ndarray],
    block_size: int,
) -> str | None:
    """Why a JPEG's coefficients cannot become regioncodec's planes with blocks of block_size; None if they can.

    Told from the frame's colour space ("L", "YCbCr", ...), each component's
    (h, v) sampling and quantisation table, as its headers give them.
    regioncodec stores greyscale, or YCbCr with 4:2:0 chroma, as 8-bit
    planes; each block must hold whole MCUs so that its coefficients are the
    source's; the chroma mosaic carries Cb and Cr in one stream, so under one
    table; and baseline streams need steps of at most 255.
    """
    if colour_space not in ("L", "YCbCr"):
        return f"a {colour_space} JPEG is converted to RGB: only greyscale and YCbCr JPEGs keep their coefficients"
    if colour_space == "YCbCr" and tuple(sampling) != SUBSAMPLING_420:
        name = _SAMPLING_NAMES.get(tuple(sampling), " ".join(f"{h}x{v}" for h, v in sampling))
        return f"its chroma is {name}, not 4:2:0 like regioncodec's"
    mcu = MCU_420 if colour_space == "YCbCr" else DCT
    if block_size % mcu:
        return f"{block_size}-pixel blocks do not hold whole {mcu}x{mcu} MCUs"
    if len(tables) == 3 and not np.array_equal(tables[1], tables[2]):
        return "Cb and Cr have different quantisation tables, and the chroma mosaic is one stream"
    if max(int(np.max(table)) for table in tables) > MAX_BASELINE_STEP:
        return "its 16-bit quantisation steps do not fit a baseline stream"
    return None


def grid_planes(source: Coefficients, block_size: int) -> GridPlanes:
    """source's coefficients laid on the block grid of block_size (regioncodec's padded planes).

    Blocks past the source's own (its MCU padding, and the grid's) are flat
    copies of the nearest edge block's DC: they lie outside the image, which
    a decoder crops away.
    """
    problem = layout_problem(source.colour_space, source.sampling, source.tables, block_size)
    if problem:
        raise InputError(problem)
    rows, cols = -(-source.height // block_size), -(-source.width // block_size)
    per = block_size // DCT
    luma = _pad_blocks(source.planes[0], rows * per, cols * per)
    if source.colour_space == "L":
        return GridPlanes(luma, None, source.tables[0], None)
    chroma = np.stack([_pad_blocks(p, rows * per // 2, cols * per // 2) for p in source.planes[1:3]])
    return GridPlanes(luma, chroma, source.tables[0], source.tables[1])


def requantise(coefficients: np.ndarray, source_table: np.ndarray, target_table: np.ndarray) -> np.ndarray:
    """Coefficients quantised with source_table re-expressed in target_table's steps, rounded as libjpeg rounds.

    Each value c becomes round(c * Qs / Qt), halves away from zero (libjpeg's
    (x + q/2) / q on magnitudes), exactly, and within the magnitudes baseline
    Huffman coding allows (COEFFICIENT_LIMIT). In single precision, for speed:
    c * Qs < 2^24 is exact, the quotient is correctly rounded, and within the
    limits its error (< 2^-24 of 2^11) is far below its distance from any
    half, at least 1/(2 Qt) >= 1/510.
    """
    scaled = coefficients.astype(np.float32)
    scaled *= source_table.astype(np.float32)
    scaled /= target_table.astype(np.float32)
    magnitude = np.abs(scaled)
    magnitude += 0.5
    np.floor(magnitude, out=magnitude)
    np.minimum(magnitude, COEFFICIENT_LIMIT, out=magnitude)
    np.copysign(magnitude, scaled, out=magnitude)
    return magnitude.astype(np.int16)


def pack_blocks(plane: np.ndarray, cells: np.ndarray, per_cell: int) -> np.ndarray:
    """The mosaic (spec §7.1) of a coefficient plane's cells where cells is True: (rows, cols, 8, 8).

    Each cell is per_cell x per_cell DCT blocks. Spare cells after the last
    are flat at the last block's DC: zero AC, which decodes to a flat block
    and costs a couple of bits per block.
    """
    grid_cols = cells.shape[1]
    blocks = cell_blocks(plane, cells, per_cell)
    count = len(blocks)
    if not count:
        raise InputError("a region with no blocks has no mosaic")
    rows, cols = mosaic_shape(count, grid_cols)
    spare = rows * cols - count
    if spare:
        flat = np.zeros((spare, per_cell, per_cell, DCT, DCT), plane.dtype)
        flat[..., 0, 0] = blocks[-1, -1, -1, 0, 0]
        blocks = np.concatenate([blocks, flat])
    tiled = blocks.reshape(rows, cols, per_cell, per_cell, DCT, DCT).transpose(0, 2, 1, 3, 4, 5)
    return np.ascontiguousarray(tiled.reshape(rows * per_cell, cols * per_cell, DCT, DCT))


def unpack_blocks(mosaic: np.ndarray, cells: np.ndarray, per_cell: int, plane: np.ndarray) -> None:
    """Scatter a mosaic made by pack_blocks back into plane where cells is True."""
    tiles = _cell_view(mosaic, per_cell).reshape(-1, per_cell, per_cell, DCT, DCT)
    _cell_view(plane, per_cell)[cells] = tiles[: int(cells.sum())]


def cell_blocks(plane: np.ndarray, cells: np.ndarray, per_cell: int) -> np.ndarray:
    """The DCT blocks of plane's cells where cells is True, in raster order: (N, per_cell, per_cell, 8, 8)."""
    return _cell_view(plane, per_cell)[cells]


def _cell_view(plane: np.ndarray, per_cell: int) -> np.ndarray:
    """A (rows, cols, per_cell, per_cell, 8, 8) view of a coefficient plane cut into cells of per_cell blocks."""
    rows, cols = plane.shape[0] // per_cell, plane.shape[1] // per_cell
    return plane.reshape(rows, per_cell, cols, per_cell, DCT, DCT).swapaxes(1, 2)


def region_stream(
    planes: Sequence[np.ndarray],
    table: np.ndarray,
    cells: np.ndarray,
    per_cell: int,
    choose: Callable[[np.ndarray], Sequence[int]] | None,
) -> bytes:
    """One stream of a region's layer from coefficients: the mosaic of planes' cells (several planes one above
    the other: Cb over Cr), per_cell x per_cell DCT blocks per cell.

    With choose None, the coefficients and table are kept exactly (a
    lossless layer). Otherwise they are requantised to the table choose
    picks for the mosaic's samples (decoded by samples_of), as the pixel
    coder picks one for its plane: its fidelity and size, without a second
    rounding to pixels.
    """
    blocks = np.concatenate([pack_blocks(plane, cells, per_cell) for plane in planes])
    if choose is None:
        return write_greyscale(blocks, table)
    target = np.array(choose(samples_of(sampled_blocks(blocks), table)), np.uint16).reshape(DCT, DCT)
    return write_greyscale(requantise(blocks, table, target), target)


def sampled_blocks(blocks: np.ndarray) -> np.ndarray:
    """The blocks (rows, cols, 8, 8) on the regular grid quantise.matched_table measures a plane's on.

    matched_table looks at about SAMPLE_BLOCKS blocks, every step-th row and
    column of them: only those need decoding to choose a table (a twelfth of
    a 12-megapixel background's).
    """
    rows, cols = blocks.shape[:2]
    step = max(1, int(np.ceil(np.sqrt(rows * cols / quantise.SAMPLE_BLOCKS))))
    return blocks[::step, ::step]


def samples_of(blocks: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The 8-bit plane (rows * 8, cols * 8) that coefficient blocks (rows, cols, 8, 8) quantised with table decode to.

    An exact inverse DCT in floating point, rounded and clipped: within a
    level of libjpeg's integer one, and far cheaper than writing a JPEG to
    decode it (it only guides the choice of a table).
    """
    values = blocks.astype(np.float64) * table.astype(np.float64)
    samples = _IDCT @ values @ _IDCT.T + 128.0  # each block: M Y M^T
    rows, cols = blocks.shape[:2]
    plane = np.clip(np.rint(samples), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(plane.transpose(0, 2, 1, 3).reshape(rows * DCT, cols * DCT))


def _idct_matrix() -> np.ndarray:
    """The 8x8 matrix M with samples = M @ coefficients @ M.T for the orthonormal 2-D DCT of T.81 A.3.3."""
    index = np.arange(DCT, dtype=np.float64)
    scale = np.full(DCT, np.sqrt(2 / DCT))
    scale[0] = np.sqrt(1 / DCT)
    return np.cos(np.outer(2 * index + 1, index) * np.pi / (2 * DCT)) * scale  # [x, u]


_IDCT = _idct_matrix()


def available() -> bool:
    """Whether jpeglib (the extra regioncodec[jpeg]) can be imported."""
    import importlib.util

    return importlib.util.find_spec("jpeglib") is not None


def write_greyscale(blocks: np.ndarray, table: np.ndarray) -> bytes:
    """A greyscale baseline JPEG of coefficient blocks (rows, cols, 8, 8) quantised with table, a layer's stream
    (without metadata segments, as every stream)."""
    return without_metadata(_write([blocks], [table], None))


def write_colour(planes: GridPlanes, width: int, height: int) -> bytes:
    """A baseline JPEG of planes' coefficients (4:2:0 colour, or greyscale), width x height pixels.

    The planes may reach past the image (a block grid): only the blocks of
    the image's own MCUs are written, and the frame header is given the
    exact size, so every decoder crops as the .rgc decoder does.
    """
    if planes.chroma is None:
        rows, cols = -(-height // DCT), -(-width // DCT)
        return _write([planes.luma[:rows, :cols]], [planes.luma_table], (width, height))
    if planes.chroma_table is None:
        raise InputError("colour planes need a chroma table")
    rows, cols = -(-height // MCU_420), -(-width // MCU_420)
    components = [planes.luma[: 2 * rows, : 2 * cols], planes.chroma[0, :rows, :cols], planes.chroma[1, :rows, :cols]]
    return _write(components, [planes.luma_table, planes.chroma_table], (width, height))


def read_greyscale(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The coefficient blocks (rows, cols, 8, 8) and table of a greyscale JPEG stream."""
    source = read_coefficients(data)
    if len(source.planes) != 1:
        raise InputError(f"a mosaic stream has one component, not {len(source.planes)}")
    return source.planes[0], source.tables[0]


def export_jpeg(
    rgc: bytes,
    /,
    *,
    strip: bool = False,
    max_pixels: int | None = None,
    redone: list[tuple[int, str]] | None = None,
    unwritten: list[str] | None = None,
) -> bytes:
    """One standard baseline JPEG (4:2:0 colour, or greyscale) of a .rgc file, from its DCT coefficients.

    The highest-quality region that has blocks (the foreground) keeps its
    coefficients and tables exactly; every other region's coefficients are
    requantised to those tables (c' = round(c * Q_region / Q_fg)), so each
    decodes as in the .rgc to within half a foreground step. EXIF, the ICC
    profile and XMP are carried over unless strip.

    Regions that hold no JPEG coefficients of the image's blocks (WebP and
    AVIF canvases, layers at 1/2 or 1/4 resolution: _pixel_regions) take the
    pixel step instead: the decoded image's blocks, transformed and quantised
    with the same tables, as a JPEG encoder would; not lossless there. A file
    of canvases only gets libjpeg's tables at its top quality. A file with
    alpha is refused (InputError): JPEG has none. FormatError and LimitError
    as for decode; MissingDependency without jpeglib. redone, if given, gets
    each region that took the pixel step and why (_pixel_regions); unwritten
    the metadata items no JPEG can hold (jpeg_unfit), which are left out.
    """
    from . import container, decoder  # the reader is only needed here

    parsed = container.read(rgc) if max_pixels is None else container.read(rgc, max_pixels=max_pixels)
    header = parsed.header
    decoder.check_streams(header, parsed.block_map, parsed.layers)  # before libjpeg allocates what a stream says
    if header.mode in ("LA", "RGBA"):
        raise InputError(
            "cannot export a file with alpha as one JPEG, which has none "
            "(rcodec decode IN.rgc OUT.jpg flattens it onto a background colour)"
        )
    coded = [layer for layer in parsed.layers if layer.streams]
    pixel_step = _pixel_regions(parsed)
    if redone is not None:
        redone.extend(pixel_step)
    stepped = dict(pixel_step)
    per = header.block_size // DCT
    rows, cols = header.grid_shape
    colour = header.colour == "RGB"
    luma = np.zeros((rows * per, cols * per, DCT, DCT), np.int16)
    chroma = np.zeros((2, rows * per // 2, cols * per // 2, DCT, DCT), np.int16) if colour else None
    top = coded[-1]  # layers come in region order, rising in quality
    chroma_table: np.ndarray | None
    if top.region in stepped:
        luma_table, chroma_table = standard_tables(top.quality)
    else:
        luma_table, chroma_table = read_greyscale(top.streams[0])[1], None
        if colour:
            chroma_table = read_greyscale(top.streams[1])[1]
    chroma_table = chroma_table if colour else None
    for layer in coded:
        if layer.region in stepped:
            continue
        cells = parsed.block_map == layer.region
        mosaic_rows, mosaic_cols = _mosaic_blocks(int(cells.sum()), cols, per)
        blocks, table = read_greyscale(layer.streams[0])
        _check_blocks(blocks, (mosaic_rows, mosaic_cols), layer.region)
        unpack_blocks(requantise(blocks, table, luma_table), cells, per, luma)
        if chroma is not None and chroma_table is not None:
            stack, table = read_greyscale(layer.streams[1])
            _check_blocks(stack, (mosaic_rows, mosaic_cols // 2), layer.region)  # Cb over Cr: as many rows
            stack = requantise(stack, table, chroma_table)
            for index, part in enumerate(np.split(stack, 2)):
                unpack_blocks(part, cells, per // 2, chroma[index])
    if stepped:
        _pixel_step(parsed, np.isin(parsed.block_map, list(stepped)), luma, chroma, luma_table, chroma_table)
    data = write_colour(GridPlanes(luma, chroma, luma_table, chroma_table), header.width, header.height)
    if strip:
        return data
    unfit = jpeg_unfit(parsed.metadata)
    if unwritten is not None:
        unwritten.extend(unfit)
    kept = {name: None if name in unfit else value for name, value in parsed.metadata.as_dict().items()}
    return with_metadata(data, kept.get("exif"), kept.get("icc_profile"), kept.get("xmp"))


def jpeg_unfit(metadata: Metadata) -> tuple[str, ...]:
    """The metadata items no JPEG can hold: EXIF or XMP past one segment, an ICC profile past 255 of them."""
    return _unfit(_metadata_segments(metadata.exif, metadata.icc_profile, metadata.xmp))


def _unfit(segments: list[tuple[str, int, bytes]]) -> tuple[str, ...]:
    """The items of _metadata_segments' segments that no JPEG can hold, in the order exif, icc_profile, xmp."""
    unfit = {name for name, _, payload in segments if len(payload) > SEGMENT_MAX}
    if sum(name == "icc_profile" for name, _, _ in segments) > ICC_MAX_SEGMENTS:
        unfit.add("icc_profile")
    return tuple(name for name in ("exif", "icc_profile", "xmp") if name in unfit)


def _pixel_regions(parsed: Container) -> list[tuple[int, str]]:
    """(region, why) for each region of a parsed .rgc file that export_jpeg codes from decoded pixels, not from
    its coefficients."""
    found = []
    for layer in parsed.layers:
        if layer.streams and layer.codec != "jpeg":
            found.append((layer.region, f"a {layer.codec} canvas"))
        elif layer.streams and layer.scale != 1:
            found.append((layer.region, f"at 1/{layer.scale} resolution"))
    return found


def _pixel_step(
    parsed: object,
    cells: np.ndarray,
    luma: np.ndarray,
    chroma: np.ndarray | None,
    luma_table: np.ndarray,
    chroma_table: np.ndarray | None,
) -> None:
    """Fill the blocks of cells in luma (and chroma) with the decoded image's, transformed and quantised."""
    from . import decoder, planes
    from .container import Container

    assert isinstance(parsed, Container)
    header = parsed.header
    padded = planes.pad_to_blocks(decoder.decode_container(parsed), header.block_size)
    per = header.block_size // DCT
    if chroma is None:
        layout_planes = [(padded, luma, luma_table, per)]
    else:
        y, cbcr = planes.rgb_to_planes(padded)
        assert chroma_table is not None
        layout_planes = [(y, luma, luma_table, per), (cbcr[0], chroma[0], chroma_table, per // 2)]
        layout_planes.append((cbcr[1], chroma[1], chroma_table, per // 2))
    for plane, target, table, per_cell in layout_planes:
        blocks = quantised_blocks(plane, table)
        _cell_view(target, per_cell)[cells] = _cell_view(blocks, per_cell)[cells]


def quantised_blocks(plane: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The quantised DCT blocks (rows, cols, 8, 8) of an 8-bit plane whose sides are multiples of 8, as a JPEG
    encoder makes them (T.81 A.3.3, samples less 128; rounded to the nearest step, halves away from zero)."""
    rows, cols = plane.shape[0] // DCT, plane.shape[1] // DCT
    samples = plane.reshape(rows, DCT, cols, DCT).transpose(0, 2, 1, 3).astype(np.float64) - 128.0
    coefficients = _IDCT.T @ samples @ _IDCT
    steps = table.astype(np.float64)
    return (np.sign(coefficients) * np.floor(np.abs(coefficients) / steps + 0.5)).astype(np.int16)


def _mosaic_blocks(count: int, grid_cols: int, per: int) -> tuple[int, int]:
    """Rows and columns of 8x8 blocks in the luma mosaic of count cells (spec §7.1)."""
    rows, cols = mosaic_shape(count, grid_cols)
    return rows * per, cols * per


def _check_blocks(blocks: np.ndarray, shape: tuple[int, int], region: int) -> None:
    """FormatError unless a stream holds exactly shape (rows, cols) 8x8 blocks (the container checked the size)."""
    from .errors import FormatError

    if blocks.shape[:2] != shape:
        raise FormatError(f"region {region}'s stream has {blocks.shape[:2]} blocks, its mosaic {shape}")


def with_metadata(data: bytes, exif: bytes | None, icc_profile: bytes | None, xmp: bytes | None) -> bytes:
    """A JPEG's bytes with segments for EXIF (TIFF data, with or without Pillow's Exif prefix), ICC profile and XMP.

    They go after SOI and the JFIF APP0 segment (which must come first) if
    there is one.

    EXIF and XMP must each fit one segment (InputError otherwise); an ICC
    profile is cut into as many APP2 segments as it needs.
    """
    segments = _metadata_segments(exif, icc_profile, xmp)
    unfit = _unfit(segments)
    if unfit:
        raise InputError(f"metadata that does not fit a JPEG's segments: {', '.join(unfit)}")
    packed = b"".join(b"\xff" + bytes((marker,)) + (len(p) + 2).to_bytes(2, "big") + p for _, marker, p in segments)
    at = 2
    if data[2:4] == b"\xff\xe0":  # JFIF APP0: keep it first
        at = 4 + int.from_bytes(data[4:6], "big")
    return data[:at] + packed + data[at:]


def _metadata_segments(
    exif: bytes | None, icc_profile: bytes | None, xmp: bytes | None
) -> list[tuple[str, int, bytes]]:
    """(item, marker, payload) of the JPEG segments that carry EXIF (one, the Exif prefix added if missing), the
    ICC profile (as many APP2 segments as it needs, numbered) and XMP (one), their sizes unchecked."""
    segments = []
    if exif:
        segments.append(("exif", APP1, exif if exif.startswith(EXIF_PREFIX) else EXIF_PREFIX + exif))
    if icc_profile:
        pieces = [icc_profile[i : i + ICC_CHUNK] for i in range(0, len(icc_profile), ICC_CHUNK)]
        count = len(pieces) % 256  # past ICC_MAX_SEGMENTS numbers wrap, and callers refuse such a profile
        numbered = [ICC_PREFIX + bytes(((n + 1) % 256, count)) + piece for n, piece in enumerate(pieces)]
        segments += [("icc_profile", APP2, payload) for payload in numbered]
    if xmp:
        segments.append(("xmp", APP1, XMP_PREFIX + xmp))
    return segments


def _pad_blocks(plane: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """plane (r, c, 8, 8) grown to (rows, cols, 8, 8); new blocks are flat at the DC of the nearest edge block."""
    have_rows, have_cols = plane.shape[:2]
    out = np.zeros((rows, cols, DCT, DCT), np.int16)
    out[:have_rows, :have_cols] = plane[:rows, :cols]
    out[:have_rows, have_cols:, 0, 0] = plane[:rows, -1:, 0, 0]
    out[have_rows:, :, 0, 0] = out[have_rows - 1 : have_rows, :, 0, 0]
    return out


def _write(components: list[np.ndarray], tables: list[np.ndarray], size: tuple[int, int] | None) -> bytes:
    """A baseline JPEG of one (grey) or three (4:2:0 YCbCr) components; size, if given, goes in its frame header."""
    jpeglib = _jpeglib()
    if any(int(t.max()) > MAX_BASELINE_STEP or int(t.min()) < 1 for t in tables):
        raise InputError("baseline quantisation steps are 1..255")
    grey = len(components) == 1
    qt = np.stack([np.asarray(t, np.uint16).reshape(DCT, DCT) for t in tables])
    arrays = [np.ascontiguousarray(c, np.int16) for c in components]
    image = jpeglib.from_dct(Y=arrays[0], qt=qt) if grey else jpeglib.from_dct(*arrays, qt=qt, quant_tbl_no=[0, 1, 1])
    with _scratch() as path:
        try:
            image.write_dct(path, flags=OPTIMIZE)
        except OSError:
            raise
        except Exception as exc:  # libjpeg's errors come out of jpeglib as assorted exception types
            raise WriteError(f"libjpeg could not write a JPEG into a temporary file: {exc}") from None
        with open(path, "rb") as file:
            data = file.read()
    return data if size is None else _with_size(data, *size)


@contextlib.contextmanager
def _scratch() -> Iterator[str]:
    """The path of a temporary file for jpeglib, which reads and writes named files only; WriteError if the system
    refuses it.

    On Linux an anonymous file in memory (memfd), named through /proc; elsewhere
    a file in a temporary folder. jpeglib itself copies what it reads or
    writes into a file of its own in the system's temporary folder, which it
    removes unless libjpeg fails (export checks its streams' headers first,
    and a JPEG input has been decoded by Pillow first, so that takes a damaged
    file whose headers pass, or memory running out).
    """
    try:
        if hasattr(os, "memfd_create") and os.path.isdir(PROC_FDS):
            descriptor = os.memfd_create("rgc-dct", os.MFD_CLOEXEC)
            try:
                yield f"{PROC_FDS}/{descriptor}"
            finally:
                os.close(descriptor)
        else:
            with tempfile.TemporaryDirectory(prefix="rgc-dct-") as folder:
                yield os.path.join(folder, "scratch.jpg")
    except OSError as exc:  # a full disk or a file size limit: as for any other output, not a bug
        raise WriteError(f"cannot write a temporary file for libjpeg: {exc.strerror or exc}") from None


def _with_size(data: bytes, width: int, height: int) -> bytes:
    """data with its baseline frame header's size set to width x height (the MCU count must not change)."""
    for marker, offset, _ in segments(data, "libjpeg's output", range(0x100), "where libjpeg put it"):
        if marker == SOF0:
            at = offset + SOF_SIZE_OFFSET
            return data[:at] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + data[at + 4 :]
    raise RuntimeError("libjpeg wrote no baseline frame header")


def _jpeglib():  # type: ignore[no-untyped-def]
    """The jpeglib module, or MissingDependency with the way to get it."""
    try:
        import jpeglib
    except ImportError:
        raise MissingDependency("DCT-domain JPEG needs jpeglib: pip install 'regioncodec[jpeg]'") from None
    return jpeglib
