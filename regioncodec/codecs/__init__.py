"""Payload codecs: the stream formats a layer may use (spec §7), all behind one registry.

Every codec offers the same few things: its name and its LAYR codec byte, its
layout (a mosaic of single-plane streams, §7.1, or a canvas picture, §7.5),
the largest side it can code, whether this machine has it and which version,
how to encode, how to check a stream's header without decoding it, and how
to decode. The container reads codec bytes here and the decoder and encoder
look codecs up by name, so a new codec is one more entry in CODECS (and its
section of the spec).

Codec modules import their libraries (OpenCV, Pillow) when first used, so
that reading a file's header needs neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import numpy as np

from ..errors import OptionError
from .jpeg import JPEG
from .picture import AVIF, WEBP

Layout = Literal["mosaic", "canvas"]
MOSAIC: Layout = "mosaic"  # §7.1: one greyscale stream per plane of the region's packed blocks
CANVAS: Layout = "canvas"  # §7.5: one picture (RGB, or monochrome AVIF) of the region's bounding box


class PayloadCodec(Protocol):
    """What every payload codec offers."""

    @property
    def name(self) -> str:
        """As the API and the command line spell it."""

    @property
    def code(self) -> int:
        """The LAYR codec byte (§7)."""

    @property
    def layout(self) -> Layout:
        """Mosaic or canvas."""

    @property
    def max_side(self) -> int:
        """The longest side, in pixels, of a stream it can code."""

    def available(self) -> bool:
        """Whether this machine can encode and decode it."""

    def version(self) -> str:
        """The version of the library that codes it."""

    def check(self, data: bytes, shape: tuple[int, int], what: str) -> None:
        """FormatError unless data's header says a picture of exactly shape (rows, cols); decodes nothing."""

    def decode(self, data: bytes, shape: tuple[int, int], what: str) -> np.ndarray:
        """The pixels of data, which must be exactly shape (rows, cols): grey for mosaics, RGB for canvases."""


class MosaicCodec(PayloadCodec, Protocol):
    """A codec of single planes with their own quantisation tables (JPEG)."""

    def encode(self, plane: np.ndarray, table: Sequence[int]) -> bytes:
        """A stream of a uint8 plane quantised with table (64 steps in natural order)."""

    def decode(self, data: bytes, shape: tuple[int, int], what: str, *, checked: bool = False) -> np.ndarray:
        """The grey plane of data, which must be exactly shape (rows, cols); with checked, the caller has run check
        on data already (the decoder checks every stream before it decodes any, §11.1 step 5)."""


class CanvasCodec(PayloadCodec, Protocol):
    """A codec of RGB pictures at a quality (WebP, AVIF)."""

    def encode(self, picture: np.ndarray, quality: int) -> bytes:
        """A stream of an RGB picture at quality 1..100."""


CODECS: dict[str, MosaicCodec | CanvasCodec] = {codec.name: codec for codec in (JPEG, WEBP, AVIF)}
BY_CODE = {codec.code: codec for codec in CODECS.values()}


def find(name: object) -> MosaicCodec | CanvasCodec:
    """The codec called name, or OptionError listing those there are."""
    if not isinstance(name, str) or name not in CODECS:
        raise OptionError(f"unknown codec {name!r}; choose from {', '.join(CODECS)}")
    return CODECS[name]
