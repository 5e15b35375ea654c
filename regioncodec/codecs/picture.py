"""The WebP and AVIF payload codecs: a region's bounding box as one RGB picture (spec §7.5), through Pillow.

WebP and AVIF predict each block from its neighbours and filter across block
edges, so a mosaic of unrelated blocks would code badly: a canvas keeps the
region where it is. A canvas is one still RGB picture; alpha and frames are
refused (alpha lives in ALPH, §8).
"""

from __future__ import annotations

import contextlib
import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import FormatError, InputError, LimitError

if TYPE_CHECKING:
    from PIL import Image

# What Pillow's plugins raise on a damaged picture: RuntimeError from libavif's parser, EOFError from the WebP
# frame reader, ZeroDivisionError from an AVIF sequence whose timescale is 0; IndexError, TypeError and
# struct.error are what Image.open turns into "cannot identify" for its plugins.
PILLOW_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    RuntimeError,
    IndexError,
    TypeError,
    ZeroDivisionError,
    struct.error,
)


@dataclass(frozen=True)
class PictureCodec:
    """A lossy RGB picture format that Pillow reads and writes."""

    name: str
    code: int  # §7
    max_side: int
    layout: Literal["canvas"] = "canvas"

    @property
    def format(self) -> str:
        """Pillow's name for the format."""
        return self.name.upper()

    def available(self) -> bool:
        """Whether this Pillow was built with the format."""
        from PIL import features

        return bool(features.check(self.name))

    def version(self) -> str:
        """The version of the library Pillow codes the format with."""
        from PIL import features

        return str(features.version(self.name))

    def encode(self, picture: np.ndarray, quality: int) -> bytes:
        """An RGB picture as a lossy picture at quality, with Pillow's default effort."""
        from PIL import Image

        if not self.available():
            raise InputError(f"this Pillow cannot write {self.format}; install a Pillow built with it or use jpeg")
        height, width = picture.shape[:2]
        if max(height, width) > self.max_side:
            raise InputError(f"{self.format} pictures are limited to {self.max_side} pixels a side; use jpeg")
        out = io.BytesIO()
        Image.fromarray(picture, "RGB").save(out, self.format, quality=quality)
        return out.getvalue()

    def check(self, data: bytes, shape: tuple[int, int], what: str) -> None:
        """FormatError unless data's header is that of one RGB picture of exactly shape (rows, cols)."""
        with self._opened(data, shape, what):
            pass

    def decode(self, data: bytes, shape: tuple[int, int], what: str) -> np.ndarray:
        """Decode a picture that must be one RGB picture of exactly shape (rows, cols)."""
        with self._opened(data, shape, what) as image:
            image.load()
            return np.asarray(image)

    @contextlib.contextmanager
    def _opened(self, data: bytes, shape: tuple[int, int], what: str) -> Iterator[Image.Image]:
        """data opened as one RGB picture whose header says shape (rows, cols); Pillow's errors become FormatError.

        Opening reads the header only: nothing is decoded until the caller loads the picture.
        """
        from PIL import Image

        if max(shape) > self.max_side:
            raise FormatError(
                f"{what} must be {shape[1]}x{shape[0]}, past the {self.max_side}-pixel side of {self.format} (§12)"
            )
        if not self.available():
            raise FormatError(f"{what} is {self.format}, which this Pillow cannot read; install a Pillow built with it")
        try:
            with self._header_read(data) as image:
                if (image.height, image.width) != shape:
                    raise FormatError(
                        f"{what} is a {image.width}x{image.height} picture; the container needs {shape[1]}x{shape[0]}"
                    )
                if getattr(image, "n_frames", 1) != 1:
                    raise FormatError(f"{what} has {image.n_frames} frames; a canvas is one picture")
                if image.mode != "RGB":
                    raise FormatError(f"{what} is {image.mode}; a canvas is RGB, without alpha")
                yield image
        except FormatError:
            raise
        except Image.DecompressionBombError as exc:  # Pillow's WebP reader, past 2 x MAX_IMAGE_PIXELS
            raise LimitError(f"{what} was refused by Pillow: {exc}") from None
        except PILLOW_ERRORS as exc:
            raise FormatError(f"{what} is not a readable {self.format} picture: {exc}") from None

    def _header_read(self, data: bytes) -> Image.Image:
        """data opened by Pillow's plugin, as Image.open would, without Image.open's decompression-bomb check.

        That check warns past 89 megapixels whatever decode's max_pixels says (an
        exception under -W error); here the container's header has already passed
        max_pixels, and the caller refuses a picture of any other size.
        """
        from PIL import Image

        Image.init()
        factory, accept = Image.OPEN[self.format]
        accepted = accept is None or accept(data[:16])  # False, or a str saying why not
        if not accepted or isinstance(accepted, str):
            raise SyntaxError(accepted or f"its first bytes are not a {self.format} signature")
        return factory(io.BytesIO(data), "")


WEBP = PictureCodec("webp", 2, max_side=16_383)  # libwebp's own limit
AVIF = PictureCodec("avif", 3, max_side=32_768)  # libavif's default imageDimensionLimit, which Pillow's reader keeps
