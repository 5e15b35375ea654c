"""The encoder: pixels and settings become a .rgc file, in one direction.

image -> block map and qualities (plan, segmentation) -> layers (layers.py)
-> container bytes. The searches (a target size, an automatic background
scale) code and measure real layers (search.py); nothing is predicted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import cast

import numpy as np

from . import container, plan, planes, search, segmentation, sources, threads
from .codecs import MOSAIC, find
from .codecs.jpeg import OPENCV_MAX_PIXELS
from .codecs.picture import PictureCodec
from .container import Container, Deblock, Header, Metadata
from .errors import InputError
from .layers import LayerCoder, Planes
from .pixels import CHANNEL_MODES, pixel_map, pixel_mask, split_alpha
from .settings import AUTO, EncodeSettings
from .sources import JpegSource, KeptSource


def encode(
    pixels: np.ndarray,
    settings: EncodeSettings,
    *,
    mask: object = None,
    quality_map: object = None,
    metadata: Metadata | None = None,
    source: JpegSource | None = None,
    notes: list[str] | None = None,
) -> bytes:
    """The .rgc bytes of uint8 pixels (H x W, or H x W x 2, 3 or 4) coded as settings say.

    mask (H x W, non-zero = foreground) or quality_map (H x W grey: 0 is
    quality 1, 255 quality 100) replaces the segmentation. source is the JPEG
    file the pixels were decoded from, if they were (sources.py: a quality
    cap, its coefficients kept, a file never larger than it, unless
    settings.force_quality); notes, if given, gets a line for each thing done
    because of it.
    """
    settings.check_guides(mask=mask is not None, quality_map=quality_map is not None)
    colour, alpha = split_alpha(pixels)
    _check_fits(colour, settings)
    if source is not None:
        sources.check_matches(source, colour if alpha is None else pixels)
    ceiling = sources.ceiling(source, settings.force_quality)
    planned = _capped(settings, ceiling)  # levels step evenly between the qualities coded, not those asked
    prepared, alpha_data, planes_at_1, (kept, why_not) = _prepare(colour, alpha, planned, mask, quality_map, source)
    block_map, qualities = prepared
    if settings.transition:  # settings keep levels below MAX_LEVELS with it, and refuse it with a quality map
        block_map, qualities = plan.with_transition(block_map, qualities)
    if ceiling is not None:
        qualities = [min(q, ceiling) for q in qualities]
    background, rest = settings.codecs
    codecs = [background] + [rest] * (len(qualities) - 1)
    coder = LayerCoder(colour, block_map, settings.block_size, codecs, planes_at_1, source=kept, ceiling=ceiling)
    mode = "L" if pixels.ndim == 2 else CHANNEL_MODES[pixels.shape[2]]
    header = Header(pixels.shape[1], pixels.shape[0], mode, settings.block_size, len(qualities))
    deblock = Deblock() if settings.deblock and find(rest).layout == MOSAIC else None  # spec §7.8: JPEG layers only
    bg_scale = settings.bg_scale
    if bg_scale == AUTO:
        bg_scale, qualities[0] = search.auto_background(coder, header, qualities, deblock)
    scales = [int(bg_scale)] + [1] * (len(qualities) - 1)
    target = _target_size(settings, header)
    most = sources.limit(source, settings.force_quality)
    if target is not None or most is not None:
        size = search.file_size(coder, header, scales, alpha=alpha_data, metadata=metadata, deblock=deblock)
    if target is not None:
        qualities = plan.fit_to_size(target if most is None else min(target, most), qualities, size)
    qualities = [min(q, ceiling) for q in qualities] if ceiling is not None else qualities
    layers = coder.layers(list(zip(range(len(qualities)), qualities, scales, strict=True)))
    data = container.write(Container(header, block_map, layers, alpha_data, metadata or Metadata(), deblock))
    if most is not None and len(data) > most:
        lowered = sources.step_down(size, qualities, most)
        if notes is not None:
            notes.append(_guard_note(qualities, lowered))
        if lowered is not None:
            qualities = lowered
            layers = coder.layers(list(zip(range(len(lowered)), lowered, scales, strict=True)))
            data = container.write(Container(header, block_map, layers, alpha_data, metadata or Metadata(), deblock))
    if notes is not None and source is not None:
        coded = [layer.quality for layer in layers if layer.streams]
        notes[:0] = _source_notes(source, settings, ceiling, kept, why_not, coded)
    return data


def _guard_note(asked: list[int], lowered: list[int] | None) -> str:
    """What the never-larger guard did."""
    if lowered is None:
        return "even at quality 1 the .rgc file is larger than the source JPEG"
    return (
        f"qualities lowered from {'/'.join(map(str, asked))} to {'/'.join(map(str, lowered))} so that the file is "
        "not larger than the source JPEG (--force-quality keeps them)"
    )


def _source_notes(
    source: JpegSource,
    settings: EncodeSettings,
    ceiling: int | None,
    kept: KeptSource | None,
    why_not: str | None,
    coded: list[int],
) -> list[str]:
    """What coding a JPEG input changed: the cap, and whether its coefficients were kept (and why not), for the
    regions coded at the qualities coded."""
    said = []
    if not source.trusted:
        said.append("the source JPEG's quantisation tables match no JPEG quality: no quality cap")
    elif ceiling is not None and max(settings.qualities) > ceiling:
        said.append(
            f"the source is a quality-{ceiling} JPEG (estimated from its tables): no region is coded above "
            f"{ceiling}, as more spends bytes on its artefacts (--force-quality codes at the qualities asked)"
        )
    at_source = ceiling is not None and max(coded, default=0) >= ceiling
    if kept is not None and at_source:
        said.append(f"regions at quality {kept.quality} keep the source's DCT coefficients (no second generation)")
    elif kept is None and why_not is not None and at_source:
        said.append(f"the source's DCT coefficients cannot be kept ({why_not}): coded from its pixels")
    return said


def _prepare(
    colour: np.ndarray,
    alpha: np.ndarray | None,
    settings: EncodeSettings,
    mask: object,
    quality_map: object,
    source: JpegSource | None,
) -> tuple[tuple[np.ndarray, list[int]], bytes | None, Planes | None, tuple[KeptSource | None, str | None]]:
    """The plan, the ALPH data, (for mosaics) the planes and a JPEG source's coefficients, made at once: they
    depend on nothing but the input.

    The planes are made in bands (planes.planes_jobs), each band a job of its own beside the others.
    """
    jobs: list[Callable[[], object]] = [partial(_plan, colour, settings, mask, quality_map)]
    if alpha is not None:
        jobs.append(partial(container.alpha_data, alpha))
    mosaic = find(settings.codec).layout == MOSAIC
    if source is not None and mosaic:  # canvases (WebP, AVIF) cannot hold coefficients: the cap and the guard do
        jobs.append(partial(sources.kept, source, settings.block_size))
    planes_at_1, band_jobs = _planes_at_1(colour, settings)
    made = threads.run([*jobs, *band_jobs], colour.shape[0] * colour.shape[1])
    alpha_data = cast(bytes, made[1]) if alpha is not None else None
    kept: tuple[KeptSource | None, str | None] = (None, f"{settings.codec} layers are canvases of pixels")
    if source is not None and mosaic:
        kept = cast(tuple[KeptSource | None, str | None], made[len(jobs) - 1])
    return cast(tuple[np.ndarray, list[int]], made[0]), alpha_data, planes_at_1, kept


def _capped(settings: EncodeSettings, ceiling: int | None) -> EncodeSettings:
    """settings with both qualities at most ceiling (a JPEG source's quality), so that the levels between them (a
    middle level, levels > 2, a transition ring) are planned between the qualities that will be coded."""
    if ceiling is None:  # with a quality map the qualities are its own, capped after planning
        return settings
    low, high = settings.qualities
    return replace(settings, quality=None, fg_quality=min(high, ceiling), bg_quality=min(low, ceiling))


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
