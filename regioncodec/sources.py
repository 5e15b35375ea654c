"""What an input JPEG already is, and what that allows the encoder: a quality cap, its DCT coefficients, a guard.

A photo that arrives as a JPEG has been quantised once already. Coding it
again above its own quality spends bytes on its artefacts; coding it again
at all adds a second generation of loss. So, for a JPEG input:

- the **cap**: no region is coded above the quality estimated from the
  source's quantisation tables (jpegdct.estimate_quality, as ImageMagick's
  ``identify -format %Q``), when the estimate can be trusted (tables that
  match no libjpeg quality give 0: no cap);
- the **coefficients**: where the chroma layout allows it (greyscale, or
  YCbCr 4:2:0 with one chroma table, blocks of whole MCUs) and jpeglib is
  installed (``pip install 'regioncodec[jpeg]'``), JPEG layers at scale 1 are
  made from the source's quantised DCT coefficients, not from pixels: a
  region at the source's quality keeps them and their tables exactly (a
  lossless foreground), a region below it has them requantised in the DCT
  domain (layers.py asks jpegdct.region_stream). Anything else (4:4:4, 4:2:2,
  CMYK, WebP or AVIF layers, a reduced background) is coded from pixels, as
  for any other input, under the same cap;
- the **guard**: if the .rgc file would be larger than the JPEG it came from,
  the qualities are stepped down until it is not (step_down), the
  foreground first.

EncodeSettings.force_quality turns the cap and the guard off: every region
is then coded at the quality asked (regions at or below the source's quality
still come from its coefficients).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from PIL import Image

from . import jpegdct, pixels
from .errors import InputError, RegionCodecError
from .plan import last_fitting

JPEG_FORMATS = ("JPEG", "MPO")  # Pillow's names for a JPEG file (MPO: a camera's JPEG with its previews after it)
MODES = {"L": "L", "RGB": "YCbCr"}  # Pillow mode of a JPEG -> the colour space whose coefficients can be kept


@dataclass(frozen=True)
class JpegSource:
    """A JPEG input as Pillow describes it (no pixels decoded), and its bytes when known."""

    width: int
    height: int
    mode: str  # Pillow's: L, RGB or CMYK
    tables: tuple[tuple[int, ...], ...]  # quantisation tables in natural order, by table number
    sampling: tuple[tuple[int, int], ...]  # per component: (horizontal, vertical) sampling factors
    table_numbers: tuple[int, ...]  # per component: its quantisation table's number
    quality: int  # estimate_quality of the tables: 1..100, or 0 when they match no libjpeg quality
    data: bytes | None  # the file's bytes: needed for the coefficients and for the guard

    @property
    def trusted(self) -> bool:
        """Whether the quality estimate is one to cap at (the tables are close to libjpeg's at some quality)."""
        return self.quality > 0

    def layout_problem(self, block_size: int) -> str | None:
        """Why this source's coefficients cannot become regioncodec's planes with blocks of block_size, or None.

        Told from the file's headers alone; jpegdct.grid_planes checks the
        layout again on the coefficients libjpeg reads.
        """
        if self.data is None:
            return "only the image was given, not the JPEG file's bytes"
        if not self.trusted:
            return "its quantisation tables match no JPEG quality, so no region is known to be at the source's"
        tables = [self.tables[number] for number in self.table_numbers]
        problem = jpegdct.layout_problem(MODES.get(self.mode, self.mode), self.sampling, tables, block_size)
        if problem is not None:
            return problem
        if not jpegdct.available():
            return "jpeglib is not installed (pip install 'regioncodec[jpeg]')"
        return None


class KeptSource(NamedTuple):
    """A source's coefficients on the encoder's block grid, and the quality at and above which they are kept."""

    grid: jpegdct.GridPlanes
    quality: int


def of_image(image: object, data: bytes | None = None) -> JpegSource | None:
    """The JpegSource of a PIL image opened from a JPEG file (data: that file's bytes), else None."""
    if not isinstance(image, Image.Image) or image.format not in JPEG_FORMATS:
        return None
    quantization = getattr(image, "quantization", None)
    layer = getattr(image, "layer", None)
    if not quantization or not layer:
        return None
    tables = tuple(tuple(int(v) for v in quantization[n]) for n in sorted(quantization))
    numbers = tuple(sorted(quantization))
    try:
        table_numbers = tuple(numbers.index(int(component[3])) for component in layer)
    except ValueError:  # a component names a table the file does not define: libjpeg refuses such a file
        return None
    return JpegSource(
        width=image.width,
        height=image.height,
        mode=image.mode,
        tables=tables,
        sampling=tuple((int(component[1]), int(component[2])) for component in layer),
        table_numbers=table_numbers,
        quality=jpegdct.estimate_quality(list(tables)),
        data=data,
    )


def of_bytes(data: bytes, *, load: bool = True) -> tuple[Image.Image, JpegSource | None]:
    """An image file's bytes opened (and with load, decoded) by Pillow, and its JpegSource if it is a JPEG.

    InputError if Pillow cannot read it, a truncated JPEG too (which libjpeg's
    coefficient reader would take as grey blocks), or if it holds several
    pictures (an animation: .rgc holds one).
    """
    image = pixels.open_picture(io.BytesIO(data), load=load)
    return image, of_image(image, data)


def kept(source: JpegSource, block_size: int) -> tuple[KeptSource | None, str | None]:
    """source's coefficients on the grid of block_size, or None and why they cannot be kept."""
    problem = source.layout_problem(block_size)
    if problem is not None or source.data is None:
        return None, problem
    try:
        coefficients = jpegdct.read_coefficients(source.data)
        return KeptSource(jpegdct.grid_planes(coefficients, block_size), source.quality), None
    except RegionCodecError as exc:  # libjpeg read the pixels but not the coefficients: code from pixels
        return None, str(exc)


def check_matches(source: JpegSource, pixels: np.ndarray) -> None:
    """InputError unless pixels (L or RGB: a JPEG has no alpha) can be the decoded picture of source."""
    height, width = pixels.shape[:2]
    if (source.width, source.height) != (width, height):
        raise InputError(f"the source JPEG is {source.width}x{source.height} but the image is {width}x{height}")
    mode = "L" if pixels.ndim == 2 else {2: "LA", 3: "RGB", 4: "RGBA"}.get(pixels.shape[2], "?")
    if mode != ("L" if source.mode == "L" else "RGB"):
        raise InputError(f"the source JPEG is {source.mode} but the image is {mode}")


def ceiling(source: JpegSource | None, force_quality: bool) -> int | None:
    """The highest quality to code any region at: the source's trusted quality, or None (no cap)."""
    if source is None or force_quality or not source.trusted:
        return None
    return source.quality


def limit(source: JpegSource | None, force_quality: bool) -> int | None:
    """The largest .rgc file allowed (the source JPEG's size), or None (no guard)."""
    if source is None or force_quality or source.data is None:
        return None
    return len(source.data)


def step_down(size_of: Callable[[list[int]], int], qualities: list[int], most: int) -> list[int] | None:
    """qualities capped at the highest t whose file is at most most bytes; None if not even t = 1 fits.

    Capping at t lowers the regions above t only: the foreground first, the
    background once t is below it. Sizes are measured (size_of codes the
    layers), never predicted, by bisection on t; the answer always fits.
    """

    def capped(top: int) -> list[int]:
        return [min(q, top) for q in qualities]

    if size_of(capped(1)) > most:
        return None
    # capped(1) fits; capped(max), the qualities themselves, does not
    return capped(last_fitting(1, max(qualities), lambda top: size_of(capped(top)) <= most))
