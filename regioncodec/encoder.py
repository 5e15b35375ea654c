"""The encoder: pixels and settings become a .rgc file, in one direction.

image -> block map and qualities (plan, segmentation) -> layers (layers.py)
-> container bytes. The searches (a target size, an automatic background
scale) code and measure real layers (search.py); nothing is predicted.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import cast

import numpy as np

from . import container, plan, planes, search, segmentation, threads
from .codecs import MOSAIC, find
from .container import Container, Deblock, Header, Metadata
from .errors import InputError
from .layers import LayerCoder, Planes
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
    (block_map, qualities), alpha_data, planes_at_1 = _prepare(colour, alpha, settings, mask, quality_map)
    if settings.transition:  # settings keep levels below MAX_LEVELS with it, and refuse it with a quality map
        block_map, qualities = plan.with_transition(block_map, qualities)
    background, rest = settings.codecs
    codecs = [background] + [rest] * (len(qualities) - 1)
    coder = LayerCoder(colour, block_map, settings.block_size, codecs, planes_at_1)
    mode = "L" if pixels.ndim == 2 else CHANNEL_MODES[pixels.shape[2]]
    header = Header(pixels.shape[1], pixels.shape[0], mode, settings.block_size, len(qualities))
    deblock = Deblock() if settings.deblock and find(rest).layout == MOSAIC else None  # spec §7.8: JPEG layers only
    bg_scale = settings.bg_scale
    if bg_scale == AUTO:
        bg_scale, qualities[0] = search.auto_background(coder, header, qualities, deblock)
    scales = [int(bg_scale)] + [1] * (len(qualities) - 1)
    target = _target_size(settings, header)
    if target is not None:
        qualities = search.fit(
            coder, header, qualities, scales, target, alpha=alpha_data, metadata=metadata, deblock=deblock
        )
    layers = coder.layers(list(zip(range(len(qualities)), qualities, scales, strict=True)))
    return container.write(Container(header, block_map, layers, alpha_data, metadata or Metadata(), deblock))


def _prepare(
    colour: np.ndarray, alpha: np.ndarray | None, settings: EncodeSettings, mask: object, quality_map: object
) -> tuple[tuple[np.ndarray, list[int]], bytes | None, Planes | None]:
    """The plan, the ALPH data and (for mosaics) the planes, made at once: they depend on nothing but the pixels.

    The planes are made in bands (planes.planes_jobs), each band a job of its own beside the others.
    """
    jobs: list[Callable[[], object]] = [partial(_plan, colour, settings, mask, quality_map)]
    if alpha is not None:
        jobs.append(partial(container.alpha_data, alpha))
    planes_at_1, band_jobs = _planes_at_1(colour, settings)
    made = threads.run([*jobs, *band_jobs], colour.shape[0] * colour.shape[1])
    alpha_data = cast(bytes, made[1]) if alpha is not None else None
    return cast(tuple[np.ndarray, list[int]], made[0]), alpha_data, planes_at_1


def _planes_at_1(colour: np.ndarray, settings: EncodeSettings) -> tuple[Planes | None, list[Callable[[], None]]]:
    """The padded image's planes (allocated) and the jobs that fill them; none for canvas codecs, which use RGB."""
    if all(find(codec).layout != MOSAIC for codec in settings.codecs):
        return None, []
    padded = planes.pad_to_blocks(colour, settings.block_size)
    if padded.ndim == 2:
        return (padded, None), []
    luma, chroma, band_jobs = planes.planes_jobs(padded)
    return (luma, chroma), band_jobs


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
        block_map, qualities = foreground.astype(np.uint8), [low, high]
    else:
        detail = segmentation.edge_density(colour, block_size)
        block_map, qualities = plan.level_map(foreground, detail, levels), plan.level_qualities(low, high, levels)
    if mask is None and settings.subjects:  # a mask is used as it is
        block_map, qualities = plan.with_subjects(
            block_map, qualities, segmentation.subject_grid(colour, foreground, block_size)
        )
    return block_map, qualities


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
    if codec.layout == MOSAIC:  # a mosaic may be as wide as the padded image (spec §12)
        largest = codec.max_side // settings.block_size * settings.block_size
        if max(width, height) > largest:
            raise InputError(
                f"image is {width}x{height}; with {settings.block_size}-pixel blocks each side must be at most "
                f"{largest}, so that it pads to whole blocks within JPEG's limit of {codec.max_side}"
            )


def _target_size(settings: EncodeSettings, header: Header) -> int | None:
    """The file size to fit, in bytes: target_size, or target_bpp times the image's pixels."""
    if settings.target_bpp is not None:
        return max(1, int(settings.target_bpp * header.width * header.height / 8))
    return settings.target_size
