"""The WebP and AVIF payload codecs: a region's bounding box as one picture (spec §7.5), through Pillow.

WebP and AVIF predict each block from its neighbours and filter across block
edges, so a mosaic of unrelated blocks would code badly: a canvas keeps the
region where it is. A canvas is one still RGB picture (an AVIF may be monochrome,
read as R = G = B); alpha and frames are refused (alpha lives in ALPH, §8).
"""

from __future__ import annotations

import contextlib
import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from ..errors import FormatError, InputError, LimitError
from . import native

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
BOX_HEADER = struct.Struct(">I4s")  # ISO/IEC 14496-12 §4.2: a box's 32-bit size, then its type
MOVIE_BOX = b"moov"  # ISO/IEC 14496-12 §8.2.1: the tracks of an image sequence (avis); a still AVIF has none
FULL_BOX_FIELDS = 4  # ISO/IEC 14496-12 §4.2: a full box (meta) starts with its version and flags
# ISO/IEC 23008-12 §6.5.10-12: rotation, mirroring and clean aperture, which some readers apply and some do not
TRANSFORMS = (b"irot", b"imir", b"clap")


class Rows(Protocol):
    """A decoded picture whose RGB rows are read a band at a time."""

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop, H x W x 3 uint8."""


@dataclass(frozen=True)
class WholePicture:
    """A picture decoded whole into one array."""

    picture: np.ndarray

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop: a view."""
        return self.picture[start:stop]


@dataclass(frozen=True)
class PictureCodec:
    """A lossy RGB picture format that Pillow reads and writes."""

    name: str
    code: int  # §7
    max_side: int
    max_pixels: int  # pictures with more pixels are refused by the codec's decoder
    grey_subsampling: str | None = None  # Pillow's subsampling for a grey picture (R = G = B), if it has one
    layout: Literal["canvas"] = "canvas"

    @property
    def modes(self) -> tuple[str, ...]:
        """Pillow's modes of a canvas this codec reads: RGB, and L (monochrome, read as R = G = B) if it has one."""
        return ("RGB", "L") if self.grey_subsampling else ("RGB",)

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
        """An RGB picture as a lossy picture at quality, with Pillow's default effort; monochrome if it is grey.

        A grey picture coded monochrome (AVIF 4:0:0) decodes to the same R = G = B
        with a third fewer samples in the decoder's memory (§7.5).
        """
        from PIL import Image

        if not self.available():
            raise InputError(f"this Pillow cannot write {self.format}; install a Pillow built with it or use jpeg")
        height, width = picture.shape[:2]
        if max(height, width) > self.max_side:
            raise InputError(f"{self.format} pictures are limited to {self.max_side} pixels a side; use jpeg")
        grey = self.grey_subsampling is not None and is_grey(picture)
        options = {"subsampling": self.grey_subsampling} if grey else {}
        out = io.BytesIO()
        Image.fromarray(picture, "RGB").save(out, self.format, quality=quality, **options)
        return out.getvalue()

    def check(self, data: bytes, shape: tuple[int, int], what: str) -> None:
        """FormatError unless data's header is that of one picture in one of modes, of exactly shape (rows, cols)."""
        with self._opened(data, shape, what):
            pass

    def decode(self, data: bytes, shape: tuple[int, int], what: str) -> np.ndarray:
        """The RGB pixels of data, which must be one picture in one of modes, of exactly shape (rows, cols)."""
        with self.opened(data, shape, what) as picture:
            return picture.rows(0, shape[0])

    @contextlib.contextmanager
    def opened(self, data: bytes, shape: tuple[int, int], what: str, *, parts: int = 1) -> Iterator[Rows]:
        """A picture, checked as check() does, whose RGB rows are read on demand.

        Pillow checks the header. libwebp then decodes straight into the one
        array of the picture (or, with parts > 1, into one part at a time),
        and libavif keeps its YUV planes and converts rows as they are asked
        for (native.py; with parts > 1, on one thread, whose decoder state is
        smaller); without those libraries, OpenCV (built with the same libwebp
        and libavif) decodes the picture.
        """
        self.check(data, shape, what)
        if self.name == "avif" and native.avif_available():
            with native.avif_picture(data, shape, what, threads=1 if parts > 1 else None) as picture:
                yield picture
        elif self.name == "webp" and native.webp_available() and parts > 1:
            yield native.WebpPicture(data, shape, what, parts)
        elif self.name == "webp" and native.webp_available():
            yield WholePicture(native.decode_webp(data, shape, what))
        else:
            yield WholePicture(self._decode_opencv(data, shape, what))

    def _decode_opencv(self, data: bytes, shape: tuple[int, int], what: str) -> np.ndarray:
        """The RGB picture of data, decoded by OpenCV; FormatError unless it is exactly shape (rows, cols)."""
        import cv2

        flags = cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION  # samples as stored, as for JPEG streams (§7.2)
        try:
            picture = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
        except cv2.error as exc:  # OpenCV's own input checks, whose limits the environment can lower
            raise FormatError(f"{what} was refused by OpenCV: {exc.err}") from None
        if picture is None or picture.shape != (*shape, 3):
            raise FormatError(f"{what} is not a readable {self.format} picture")
        return picture

    @contextlib.contextmanager
    def _opened(self, data: bytes, shape: tuple[int, int], what: str) -> Iterator[Image.Image]:
        """data opened as one picture of modes whose header says shape (rows, cols); Pillow's errors: FormatError.

        Opening reads the header only: nothing is decoded until the caller loads the picture.
        """
        from PIL import Image

        if max(shape) > self.max_side or shape[0] * shape[1] > self.max_pixels:
            raise FormatError(
                f"{what} must be {shape[1]}x{shape[0]}, past the {self.max_side}-pixel side or the "
                f"{self.max_pixels} pixels of {self.format} (§12)"
            )
        if not self.available():
            raise FormatError(f"{what} is {self.format}, which this Pillow cannot read; install a Pillow built with it")
        if self.name == "avif" and _has_box(data, MOVIE_BOX):
            raise FormatError(f"{what} is an AVIF image sequence ({MOVIE_BOX.decode()} box); a canvas is one picture")
        transforms = sorted(_item_properties(data) & set(TRANSFORMS)) if self.name == "avif" else []
        if transforms:
            names = ", ".join(kind.decode() for kind in transforms)
            raise FormatError(f"{what} has {names} properties; a canvas is its samples as stored, untransformed")
        try:
            with self._header_read(data) as image:
                if (image.height, image.width) != shape:
                    raise FormatError(
                        f"{what} is a {image.width}x{image.height} picture; the container needs {shape[1]}x{shape[0]}"
                    )
                if getattr(image, "n_frames", 1) != 1:
                    raise FormatError(f"{what} has {image.n_frames} frames; a canvas is one picture")
                if image.mode not in self.modes:
                    raise FormatError(f"{what} is {image.mode}; a canvas is RGB (or grey), without alpha")
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


def is_grey(picture: np.ndarray) -> bool:
    """Whether every pixel of an RGB picture (or band of one) has R = G = B."""
    return bool(np.array_equal(picture[..., 0], picture[..., 1]) and np.array_equal(picture[..., 1], picture[..., 2]))


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, end) of each ISO BMFF box (ISO/IEC 14496-12 §4.2) in data[start:end], leniently: a
    box whose size is damaged is the last one (cut at the end), and what it hid is left to libavif to refuse."""
    end = len(data) if end is None else min(end, len(data))
    offset = start
    while offset + BOX_HEADER.size <= end:
        size, kind = BOX_HEADER.unpack_from(data, offset)
        payload = offset + BOX_HEADER.size
        if size == 1 and payload + 8 <= end:  # a 64-bit size follows the type
            size, payload = int.from_bytes(data[payload : payload + 8], "big"), payload + 8
        if size == 0:  # the box runs to the end
            size = end - offset
        damaged = size < payload - offset or offset + size > end
        yield kind, payload, end if damaged else offset + size
        if damaged:
            return
        offset += size


def _has_box(data: bytes, kind: bytes) -> bool:
    """Whether the ISO BMFF file data (AVIF) has a top-level box of type kind."""
    return any(found == kind for found, _, _ in _boxes(data))


def _item_properties(data: bytes) -> set[bytes]:
    """The types of the item properties an AVIF file declares (meta > iprp > ipco, ISO/IEC 23008-12 §9.3)."""
    spans: list[tuple[int, int | None]] = [(0, None)]  # the payloads of the boxes on the path so far
    for kind, fields in ((b"meta", FULL_BOX_FIELDS), (b"iprp", 0), (b"ipco", 0)):  # meta is a full box
        spans = [(start + fields, end) for span in spans for found, start, end in _boxes(data, *span) if found == kind]
    return {kind for span in spans for kind, _, _ in _boxes(data, *span)}


WEBP = PictureCodec("webp", 2, max_side=16_383, max_pixels=16_383**2)  # libwebp's own limit, on either side
# libavif's default imageDimensionLimit and imageSizeLimit (16384 x 16384), which Pillow's reader keeps
AVIF = PictureCodec("avif", 3, max_side=32_768, max_pixels=16_384**2, grey_subsampling="4:0:0")
