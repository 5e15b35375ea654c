"""Coding the layers: an image and its block map become one layer per region (spec §7).

JPEG layers hold only their own region's blocks, packed into a mosaic
(§7.1), so no bytes go to blocks another region codes. Planes are coded
separately (luma, then Cb over Cr at half size), each with a quantisation
table at least as faithful as the one a colour JPEG of the region's quality
would use for it, so a block decodes at least as faithfully as in a JPEG of
its quality. The foreground (the top region) takes the flatter table that
makes no more squared error for fewer bytes (quantise.py). The regions below
it take the standard table itself, with its DC step no coarser than at
quality DC_CAP_QUALITY: the flat tables' coarse low frequencies, and the
standard table's own DC step at low qualities, draw smooth gradients (a sky)
as staircases of flat blocks, which the eye sees at once and squared error
barely counts; the decoder's deblocking (spec §11.8) then smooths what steps
remain, with a strength read from these tables.

WebP and AVIF layers are canvases (§7.5): the region's bounding box, with
everything outside the region replaced by a smooth extrapolation of the
region's own colours (cheap to code, and no false edge for the codec's
filters to smear inward).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import NamedTuple, cast

import cv2
import numpy as np

from . import jpegdct, layout, metrics, planes, threads
from .codecs import MOSAIC, CanvasCodec, MosaicCodec, find
from .codecs.jpeg import CHROMA_TABLE, LUMA_TABLE, quant_table
from .container import Layer
from .plan import lowest_quality
from .quantise import matched_table
from .sources import KeptSource

FILL_SIGMA = 12.0  # px: how far the extrapolated colours are smoothed; wide enough to hide the region's texture
# A stream's cost, to start the costliest first, is taken as STREAM_EFFORT + pixels x (QUALITY_EFFORT + quality):
QUALITY_EFFORT = 10  # libjpeg's time per pixel grows with quality: 3-4x from q30 to q90 on Kodak (2.5x here)
STREAM_EFFORT = 2_500_000  # matched_table's ~0.35 ms per stream, as much as ~25,000 pixels at q90
CANVAS_EFFORT = 6  # a canvas codes all three colours, and WebP's and AVIF's encoders are slower than libjpeg
MATCHED_CODECS = ("webp",)  # canvases coded to a uniform picture's error, not its quality number (matched_quality)
DC_CAP_QUALITY = 70  # layers below the foreground: DC steps at most quality 70's (10 for luma and for chroma)
# A canvas under JPEG layers (bg_codec) is coded this much above the asked quality (README, "A WebP or AVIF
# background"): what makes its picture hold up beside JPEG layers of the asked quality.
UNDER_JPEG = {"avif": 25, "webp": 30}

Planes = tuple[np.ndarray, np.ndarray | None]  # luma, and chroma (2, H/2, W/2) for RGB


class LayerCoder:
    """Codes the layers of one image, preparing its planes once and coding each layer once (searches ask again)."""

    def __init__(
        self,
        image: np.ndarray,
        block_map: np.ndarray,
        block_size: int,
        codecs: list[str],
        planes_at_1: Planes | None = None,
        *,
        source: KeptSource | None = None,
        ceiling: int | None = None,
    ) -> None:
        """source: a JPEG input's coefficients, which JPEG layers at scale 1 and at most its quality are made
        from (sources.py); ceiling: a quality no layer is coded above (a layer asked above it is coded at it)."""
        self.image = image
        self.block_map = block_map
        self.block_size = block_size
        self.codecs = codecs  # one per region
        self._layers: dict[tuple[int, int, int], Layer] = {}
        self._planes: dict[int, Planes] = {} if planes_at_1 is None else {1: planes_at_1}  # made already, or once
        self._rgb: np.ndarray | None = None
        self._uniform: dict[tuple[str, int], _UniformErrors] = {}  # _uniform_errors', by codec and quality
        self._lock = threading.Lock()  # guards _uniform: layers are coded on several threads
        self.source = source
        self.ceiling = ceiling
        self._under_jpeg = any(find(name).layout == MOSAIC for name in codecs)  # canvases beside JPEG layers

    def layer(self, region: int, quality: int, scale: int) -> Layer:
        """The layer of region at quality, its pixels reduced by scale."""
        return self.layers([(region, quality, scale)])[0]

    def layers(self, keys: Sequence[tuple[int, int, int]]) -> tuple[Layer, ...]:
        """The layers of (region, quality, scale) keys, the streams of those not coded yet coded as parallel jobs.

        A quality above the ceiling is coded at the ceiling (and says so in its layer).
        """
        if self.ceiling is not None:
            keys = [(region, min(quality, self.ceiling), scale) for region, quality, scale in keys]
        missing = [key for key in dict.fromkeys(keys) if key not in self._layers]
        jobs = [(key, job) for key in missing for job in self._stream_jobs(*key)]
        pixels = self.image.shape[0] * self.image.shape[1]
        coded = threads.run([job.code for _, job in jobs], pixels, [job.cost for _, job in jobs])
        streams: dict[tuple[int, int, int], list[tuple[int, bytes]]] = {key: [] for key in missing}
        for (key, job), data in zip(jobs, coded, strict=True):
            streams[key].append((job.position, data))
        for key in missing:
            region, quality, scale = key
            ordered = tuple(data for _, data in sorted(streams[key]))
            self._layers[key] = Layer(region, find(self.codecs[region]).name, quality, scale, ordered)
        return tuple(self._layers[key] for key in keys)

    def _stream_jobs(self, region: int, quality: int, scale: int) -> list[StreamJob]:
        """The jobs coding each stream of a layer: none for an empty region."""
        cells = self.block_map == region
        count = int(np.count_nonzero(cells))
        if not count:
            return []
        codec = find(self.codecs[region])
        effort = count * (self.block_size // scale) ** 2 * (QUALITY_EFFORT + quality)  # luma pixels, weighted
        if codec.layout != MOSAIC:
            if self._rgb is None:
                self._rgb = planes.to_rgb(self.image)
            code = partial(self._canvas_stream, cast(CanvasCodec, codec), region, quality, scale)
            return [StreamJob(0, STREAM_EFFORT + CANVAS_EFFORT * effort, code)]
        matched = region == len(self.codecs) - 1  # the foreground; the regions below take capped standard tables
        if self.source is not None and scale == 1 and quality <= self.source.quality:
            return self._source_jobs(cells, quality, matched, effort)
        luma, chroma = self._scaled_planes(scale)
        cell = self.block_size // scale
        code = partial(_luma_stream, cast(MosaicCodec, codec), luma, cells, cell, quality, matched)
        jobs = [StreamJob(0, STREAM_EFFORT + effort, code)]
        if chroma is not None:
            code = partial(_chroma_stream, cast(MosaicCodec, codec), chroma, cells, cell // 2, quality, matched)
            jobs.append(StreamJob(1, STREAM_EFFORT + effort // 2, code))  # Cb and Cr: half as many pixels
        return jobs

    def _source_jobs(self, cells: np.ndarray, quality: int, matched: bool, effort: int) -> list[StreamJob]:
        """The jobs making a JPEG layer at scale 1 from the source's coefficients: kept exactly at the source's
        quality, requantised below it to the table the pixel path would choose (jpegdct.region_stream)."""
        assert self.source is not None
        grid, keep = self.source.grid, quality >= self.source.quality
        per = self.block_size // jpegdct.DCT
        choose = None if keep else partial(layer_table, base=LUMA_TABLE, quality=quality, matched=matched)
        jobs = [
            StreamJob(
                0,
                STREAM_EFFORT + effort,
                partial(jpegdct.region_stream, [grid.luma], grid.luma_table, cells, per, choose),
            )
        ]
        if grid.chroma is not None and grid.chroma_table is not None:
            choose = None if keep else partial(layer_table, base=CHROMA_TABLE, quality=quality, matched=matched)
            code = partial(jpegdct.region_stream, list(grid.chroma), grid.chroma_table, cells, per // 2, choose)
            jobs.append(StreamJob(1, STREAM_EFFORT + effort // 2, code))
        return jobs

    def _scaled_planes(self, scale: int) -> Planes:
        """The padded image's planes at 1/scale, made once."""
        if 1 not in self._planes:
            self._planes[1] = image_planes(planes.pad_to_blocks(self.image, self.block_size))
        if scale not in self._planes:
            self._planes[scale] = planes.reduce_planes(*self._planes[1], scale)
        return self._planes[scale]

    def _canvas_stream(self, codec: CanvasCodec, region: int, quality: int, scale: int) -> bytes:
        """The region's bounding box with the outside filled, reduced by scale."""
        assert self._rgb is not None  # made by _stream_jobs, before the jobs run
        box, keep = self._region_box(region)
        original = self._rgb[box]
        picture = fill_outside(original, keep)
        if scale > 1:
            rows, cols = layout.reduced_shape(keep.shape, scale)
            picture = cv2.resize(picture, (cols, rows), interpolation=cv2.INTER_AREA)
        if self._under_jpeg:
            return codec.encode(picture, canvas_quality(codec.name, quality))
        if codec.name not in MATCHED_CODECS:
            return codec.encode(picture, quality)

        def error(data: bytes, shape: tuple[int, ...] = picture.shape) -> float:
            decoded = codec.decode(data, (shape[0], shape[1]), "canvas")
            if decoded.shape != original.shape:
                decoded = cv2.resize(decoded, (keep.shape[1], keep.shape[0]), interpolation=cv2.INTER_LINEAR)
            return metrics.mse(original, decoded, keep)

        target = self._uniform_errors(codec, quality)[region]
        return matched_quality(lambda q: codec.encode(picture, q), error, target)

    def _uniform_errors(self, codec: CanvasCodec, quality: int) -> dict[int, float]:
        """The error a uniform picture of the whole image, by codec at quality, makes on each region of that codec:
        what the region's canvas is held to. Worked out once per codec and quality (other threads asking for the
        same wait for it), for every such region at once, and only these numbers are kept, not the picture."""
        with self._lock:
            entry = self._uniform.setdefault((codec.name, quality), _UniformErrors(threading.Lock(), {}))
        with entry.lock:
            if not entry.errors:
                assert self._rgb is not None
                uniform = codec.decode(codec.encode(self._rgb, quality), self._rgb.shape[:2], "uniform picture")
                for region, name in enumerate(self.codecs):
                    if find(name).name == codec.name and (self.block_map == region).any():
                        box, keep = self._region_box(region)
                        entry.errors[region] = metrics.mse(self._rgb[box], uniform[box], keep)
        return entry.errors

    def _region_box(self, region: int) -> tuple[layout.Box, np.ndarray]:
        """The pixel box of a region's blocks (§7.5) and which of its pixels are the region's."""
        assert self._rgb is not None
        cells = self.block_map == region
        box = layout.region_box(cells, self.block_size, self._rgb.shape[:2])
        return box, layout.box_mask(cells, box, self.block_size)


class _UniformErrors(NamedTuple):
    """A uniform picture's error on each region (filled once, under lock), for one codec and quality."""

    lock: threading.Lock
    errors: dict[int, float]


def canvas_quality(codec: str, quality: int) -> int:
    """The quality a canvas under JPEG layers is coded at, for an asked quality (UNDER_JPEG)."""
    return min(100, quality + UNDER_JPEG[codec])


class StreamJob(NamedTuple):
    """One stream of a layer to code: its place in the layer, a rough cost (to start the longest first), the work."""

    position: int
    cost: int
    code: Callable[[], bytes]


def image_planes(padded: np.ndarray) -> Planes:
    """The planes layers are coded from: the padded image itself (L), or its luma and chroma (RGB)."""
    return (padded, None) if padded.ndim == 2 else planes.rgb_to_planes(padded)


def _luma_stream(
    codec: MosaicCodec, luma: np.ndarray, cells: np.ndarray, cell: int, quality: int, matched: bool
) -> bytes:
    """The luma mosaic of a region's blocks, coded with the table layer_table chooses."""
    mosaic = layout.pack(luma, cells, cell)
    return codec.encode(mosaic, layer_table(mosaic, LUMA_TABLE, quality, matched))


def _chroma_stream(
    codec: MosaicCodec, chroma: np.ndarray, cells: np.ndarray, cell: int, quality: int, matched: bool
) -> bytes:
    """The Cb mosaic above the Cr mosaic of a region's blocks (§7.1), coded like luma with the chroma table."""
    rows, cols = layout.mosaic_shape(int(np.count_nonzero(cells)), cells.shape[1])
    stack = np.empty((2 * rows * cell, cols * cell), np.uint8)
    layout.pack(chroma[0], cells, cell, out=stack[: rows * cell])
    layout.pack(chroma[1], cells, cell, out=stack[rows * cell :])
    return codec.encode(stack, layer_table(stack, CHROMA_TABLE, quality, matched))


def layer_table(mosaic: np.ndarray, base: tuple[int, ...], quality: int, matched: bool) -> Sequence[int]:
    """The table a mosaic is coded with: matched to the standard table's error (the foreground), or the standard
    table with its DC step capped at DC_CAP_QUALITY's (the regions below it). Both are at least as faithful as the
    standard table of the quality, which a uniform JPEG would use."""
    standard = quant_table(base, quality)
    if matched:
        return matched_table(mosaic, standard)
    standard[0] = min(standard[0], quant_table(base, DC_CAP_QUALITY)[0])
    return standard


def fill_outside(image: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """image with pixels outside keep replaced by a normalised-convolution blur of the pixels inside."""
    weight = keep.astype(np.float32)
    spread = cv2.GaussianBlur(image.astype(np.float32) * weight[..., None], (0, 0), FILL_SIGMA)
    reach = cv2.GaussianBlur(weight, (0, 0), FILL_SIGMA)[..., None]
    filled = np.clip(np.rint(spread / np.maximum(reach, 1e-6)), 0, 255).astype(np.uint8)
    return np.where(keep[..., None], image, filled)


def matched_quality(encode: Callable[[int], bytes], error: Callable[[bytes], float], target: float) -> bytes:
    """The smallest canvas whose region error is at most target (quality 100's if none is).

    libwebp spreads its quantisers over segments by how busy each is: once a
    region's surroundings are filled smooth, the region is the busiest part
    of its canvas and gets coarser quantisers than in a uniform picture of
    the same quality (measured on Kodak: background PSNR 1.7 dB below uniform
    WebP's). So a WebP canvas is held to the error a uniform WebP of the
    whole image at the asked quality makes on the region, by measuring, not
    by the number. (A WebP of the region's box alone was the yardstick
    before: its segments differ from the whole image's, and a foreground
    came out up to 0.43 dB below a uniform WebP's.)
    """
    found = lowest_quality(encode, lambda data: error(data) <= target)
    return found if found is not None else encode(100)
