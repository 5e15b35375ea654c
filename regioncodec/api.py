"""The public functions: encode, decode, segment, preview, and the readers read_info, read_mask, read_metadata.

Images go in and come out as numpy uint8 arrays in the channel order Pillow
and imageio use: H x W greyscale, H x W x 2 greyscale and alpha, H x W x 3 RGB,
H x W x 4 RGBA. PIL images are accepted on the way in, with their metadata.
Each function here checks its arguments and hands over to the stage that
does the work: pixels, encoder, decoder, segmentation, info.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import container, decoder, encoder, layout, overlay, pixels
from .info import Info, RegionInfo, read_info, read_mask, read_metadata
from .pixels import ImageLike, as_pixels
from .segmentation import block_grid, subject_grid
from .settings import DEFAULT_BLOCK_SIZE, DEFAULT_METHOD, EncodeSettings, SegmentOptions

__all__ = [
    "Info",
    "RegionInfo",
    "as_pixels",
    "decode",
    "encode",
    "preview",
    "read_info",
    "read_mask",
    "read_metadata",
    "segment",
]


def encode(
    image: ImageLike,
    /,
    settings: EncodeSettings | None = None,
    *,
    mask: np.ndarray | ImageLike | None = None,
    quality_map: ImageLike | None = None,
    exif: Any = None,
    icc_profile: bytes | None = None,
    xmp: bytes | str | None = None,
    **options: Any,
) -> bytes:
    """Code image as .rgc: foreground blocks at fg_quality, the rest at bg_quality.

    settings (EncodeSettings) says how; options are its fields, given one by
    one (fg_quality=90, codec="webp", ...), and change settings where given.
    The foreground is mask (H x W, True or non-zero = foreground) when given,
    used as it is; else what segment() finds with settings' method. A block
    with any foreground pixel is coded as foreground. quality_map (H x W
    grey, 0 -> quality 1, 255 -> quality 100, a block takes its brightest
    pixel) replaces mask, method and the qualities. Alpha, if any, is kept
    losslessly. Metadata (EXIF, ICC profile, XMP) is what a PIL image carries
    in its info, unless settings.strip; exif, icc_profile and xmp, when given,
    take the place of the image's own (b"" stores none).
    """
    chosen = EncodeSettings.build(settings, **options)
    metadata = pixels.metadata(image, chosen.strip, exif=exif, icc_profile=icc_profile, xmp=xmp)
    return encoder.encode(as_pixels(image), chosen, mask=mask, quality_map=quality_map, metadata=metadata)


def decode(data: bytes, /, *, max_pixels: int = container.DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The image stored in .rgc data: uint8 H x W, H x W x 2 (LA), H x W x 3 (RGB) or H x W x 4 (RGBA).

    Raises FormatError for data that breaks the spec and LimitError for images
    of more than max_pixels pixels (a guard against decompression bombs).
    """
    return decoder.decode(data, max_pixels=max_pixels)


def segment(
    image: ImageLike,
    /,
    method: str = DEFAULT_METHOD,
    *,
    block_size: int = DEFAULT_BLOCK_SIZE,
    segmentation: SegmentOptions | None = None,
    subjects: bool = False,
) -> np.ndarray:
    """The boolean H x W foreground mask encode would use for image, block-aligned.

    method is one of METHODS or several joined with "+" (their union);
    segmentation (SegmentOptions) holds the controls shared by every method.
    With subjects, the mask also holds the skin and the holes inside the
    foreground's outline, which encode codes at a middle quality: all that
    encode codes above the lowest quality (read_mask's mask).
    """
    colour, _ = pixels.split_alpha(as_pixels(image))
    chosen = EncodeSettings(method=method, block_size=block_size, segmentation=segmentation, subjects=subjects)
    encoder.check_block_size(colour, block_size)
    method_name, options = chosen.segment_with
    grid = block_grid(colour, method_name, block_size, options)
    if chosen.subjects:
        grid = grid | subject_grid(colour, grid, block_size)
    return layout.expand(grid, colour.shape[:2], block_size)


def preview(image: ImageLike, mask: np.ndarray, /) -> np.ndarray:
    """An RGB picture of what mask picks in image: background dimmed, foreground outlined (alpha left out)."""
    colour, _ = pixels.split_alpha(as_pixels(image))
    return overlay.preview(colour, pixels.pixel_mask(mask, colour.shape[:2]))
