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

from . import container, decoder, encoder, layout, overlay, pixels, reduced, sources
from .errors import InputError
from .info import Info, RegionInfo, read_info, read_mask, read_metadata
from .pixels import ImageLike, as_pixels
from .segmentation import SegmentOptions, block_grid, subject_grid
from .settings import DEFAULT_BLOCK_SIZE, DEFAULT_METHOD, EncodeSettings

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
    image: ImageLike | bytes,
    /,
    settings: EncodeSettings | None = None,
    *,
    mask: np.ndarray | ImageLike | None = None,
    quality_map: ImageLike | None = None,
    exif: Any = None,
    icc_profile: bytes | None = None,
    xmp: bytes | str | None = None,
    source: bytes | None = None,
    notes: list[str] | None = None,
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

    JPEG inputs. image may be the bytes of an image file (a JPEG straight
    from a camera), or source the bytes of the JPEG file that image was
    decoded from. Then, unless settings.force_quality: no region is coded
    above the quality estimated from the JPEG's quantisation tables (as
    ImageMagick's identify %Q), and if the .rgc file would be larger than the
    JPEG, the qualities are lowered (the foreground first) until it is not. A
    region at the JPEG's quality keeps its DCT coefficients exactly (no second
    generation of loss) and lower JPEG regions are requantised from them,
    when jpeglib is installed (pip install 'regioncodec[jpeg]') and the JPEG's
    layout allows (greyscale or 4:2:0 colour; else it is coded from pixels).
    A PIL image opened from a JPEG, given without source, gets the cap only.
    The cap also bounds levels, the transition ring and a target size's
    search; a target size above the JPEG's size is lowered to it. notes, if
    given, gets a line for each thing a JPEG input changed (a cap,
    coefficients kept or not, the guard).
    """
    chosen = EncodeSettings.build(settings, **options)
    if isinstance(image, (bytes, bytearray, memoryview)):
        if source is not None:
            raise InputError("image is already a file's bytes: give source only with a decoded image")
        source = bytes(image)
        image, jpeg = sources.of_bytes(source)
    else:
        jpeg = None if source is None else sources.of_bytes(bytes(source), load=False)[1]
        if source is not None and jpeg is None:
            raise InputError("source must be the bytes of a JPEG file")
        jpeg = jpeg or sources.of_image(image)
    stored = as_pixels(image)
    metadata = pixels.metadata(image, chosen.strip, stored, notes, exif=exif, icc_profile=icc_profile, xmp=xmp)
    return encoder.encode(
        stored, chosen, mask=mask, quality_map=quality_map, metadata=metadata, source=jpeg, notes=notes
    )


def decode(data: bytes, /, *, max_pixels: int = container.DEFAULT_MAX_PIXELS, reduce: int = 1) -> np.ndarray:
    """The image stored in .rgc data: uint8 H x W, H x W x 2 (LA), H x W x 3 (RGB) or H x W x 4 (RGBA).

    reduce (1, 2, 4 or 8) decodes a preview at 1/reduce of the size,
    ceil(H/reduce) x ceil(W/reduce), for a fraction of the time: JPEG layers
    through libjpeg's scaled IDCT. It approximates the exact decode shrunk by
    averaging reduce x reduce squares (spec §11.10); reduce=1 is the exact
    decode. Raises FormatError for data that breaks the spec, LimitError for
    images of more than max_pixels pixels (a guard against decompression
    bombs; it counts the full size) and OptionError for another reduce.
    """
    if reduced.check_factor(reduce) == 1:
        return decoder.decode(data, max_pixels=max_pixels)
    return reduced.decode(data, reduce, max_pixels=max_pixels)


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
