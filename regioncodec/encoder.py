"""The encoder: pixels and settings become a .rgc file, in one direction.

image -> block map and qualities (plan, segmentation) -> layers (layers.py)
-> container bytes. The searches (a target size, an automatic background
scale) code and measure real layers (search.py); nothing is predicted.
"""

from __future__ import annotations

import numpy as np

from . import container, plan, planes, search, segmentation
from .codecs import MOSAIC, find
from .codecs.jpeg import OPENCV_MAX_PIXELS
from .codecs.picture import PictureCodec
from .container import Container, Header, Metadata
from .errors import InputError
from .layers import LayerCoder
from .pixels import CHANNEL_MODES, pixel_map, pixel_mask, split_alpha
from .settings import AUTO, EncodeSettings


def encode(
    pixels: np.ndarray,
    settings: EncodeSettings,
    *,
    mask: object = None,
    quality_map: object = None,
    metadata: Metadata | None = None,
) -> bytes:
    """The .rgc bytes of uint8 pixels (H x W, or H x W x 2, 3 or 4) coded as settings say.

    mask (H x W, non-zero = foreground) or quality_map (H x W grey: 0 is
    quality 1, 255 quality 100) replaces the segmentation.
    """
    settings.check_guides(mask=mask is not None, quality_map=quality_map is not None)
    colour, alpha = split_alpha(pixels)
    _check_fits(colour, settings)
    block_map, qualities = _plan(colour, settings, mask, quality_map)
    if settings.transition:  # settings keep levels below MAX_LEVELS with it, and refuse it with a quality map
        block_map, qualities = plan.with_transition(block_map, qualities)
    coder = LayerCoder(colour, block_map, settings.block_size, [settings.codec] * len(qualities))
    mode = "L" if pixels.ndim == 2 else CHANNEL_MODES[pixels.shape[2]]
    header = Header(pixels.shape[1], pixels.shape[0], mode, settings.block_size, len(qualities))
    alpha_data = None if alpha is None else container.alpha_data(alpha)
    bg_scale = settings.bg_scale
    if bg_scale == AUTO:
        bg_scale, qualities[0] = search.auto_background(coder, header, qualities)
    scales = [int(bg_scale)] + [1] * (len(qualities) - 1)
    target = _target_size(settings, header)
    if target is not None:
        qualities = search.fit(coder, header, qualities, scales, target, alpha=alpha_data, metadata=metadata)
    layers = tuple(coder.layer(region, q, s) for region, (q, s) in enumerate(zip(qualities, scales, strict=True)))
    return container.write(Container(header, block_map, layers, alpha_data, metadata or Metadata()))


def _plan(
    colour: np.ndarray, settings: EncodeSettings, mask: object, quality_map: object
) -> tuple[np.ndarray, list[int]]:
    """The block map and per-region qualities: from the quality map, or the foreground (mask or segmentation)."""
    block_size = settings.block_size
    if quality_map is not None:
        grey = pixel_map(quality_map, colour.shape[:2])
        return plan.quality_map_plan(planes.block_max(grey, block_size))
    if mask is None:
        method, options = settings.segment_with
        foreground = segmentation.block_grid(colour, method, block_size, options)
    else:
        foreground = planes.block_max(pixel_mask(mask, colour.shape[:2]).view(np.uint8), block_size) > 0
    low, high = settings.qualities
    levels = settings.level_count
    if levels == 2:
        return foreground.astype(np.uint8), [low, high]
    detail = segmentation.edge_density(colour, block_size)
    return plan.level_map(foreground, detail, levels), plan.level_qualities(low, high, levels)


def check_block_size(colour: np.ndarray, block_size: int) -> None:
    """InputError if blocks of block_size cannot code these L or RGB pixels (spec §5)."""
    if colour.ndim == 3 and block_size < container.MIN_COLOUR_BLOCK:
        raise InputError(
            f"block_size {block_size} is for greyscale images; colour needs {container.MIN_COLOUR_BLOCK} "
            "or more (a 4:2:0 MCU)"
        )


def _check_fits(colour: np.ndarray, settings: EncodeSettings) -> None:
    """InputError if the image cannot be coded with these settings: block size for colour, codec's size limits."""
    height, width = colour.shape[:2]
    check_block_size(colour, settings.block_size)
    codec = find(settings.codec)
    block = settings.block_size
    if codec.layout == MOSAIC:  # a mosaic may be as wide as the padded image (spec §12)
        largest = codec.max_side // block * block
        if max(width, height) > largest:
            raise InputError(
                f"image is {width}x{height}; with {block}-pixel blocks each side must be at most "
                f"{largest}, so that it pads to whole blocks within JPEG's limit of {codec.max_side}"
            )
        padded = -(-width // block) * block * -(-height // block) * block  # a region's mosaic may be this large
        if padded > OPENCV_MAX_PIXELS:
            raise InputError(
                f"image is {width}x{height}; a JPEG stream of it could be {padded} pixels, more than the "
                f"{OPENCV_MAX_PIXELS} the decoder (OpenCV) reads in one stream"
            )
    elif isinstance(codec, PictureCodec):  # a canvas at scale 1 may span the image (spec §12)
        if max(width, height) > codec.max_side or width * height > codec.max_pixels:
            raise InputError(
                f"image is {width}x{height}; {codec.name} pictures are at most {codec.max_side} pixels a side "
                f"and {codec.max_pixels} in all (the limits its decoder keeps); use jpeg"
            )


def _target_size(settings: EncodeSettings, header: Header) -> int | None:
    """The file size to fit, in bytes: target_size, or target_bpp times the image's pixels."""
    if settings.target_bpp is not None:
        return max(1, int(settings.target_bpp * header.width * header.height / 8))
    return settings.target_size
