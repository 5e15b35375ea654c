"""Planning: which blocks go to which region, and at what quality.

Regions are numbered by rising quality; region 0 is the background. A plan
is a block map (one region index per block) and one quality per region.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import cv2
import numpy as np

from .errors import InputError
from .settings import MAX_LEVELS

RING_KERNEL = np.ones((3, 3), np.uint8)  # the transition ring: blocks touching the foreground, corners too

Coded = TypeVar("Coded")


def level_map(foreground: np.ndarray, detail: np.ndarray, levels: int) -> np.ndarray:
    """Block map of levels (> 2) regions: the foreground on top, the rest split by detail rank into equal shares.

    The background's most detailed blocks (often those next to the
    foreground) get the intermediate levels, so quality steps down gradually.
    """
    block_map = np.zeros(foreground.shape, np.uint8)
    block_map[foreground] = levels - 1
    rest = ~foreground
    if rest.any():
        rank = np.empty(int(rest.sum()), np.intp)
        rank[np.argsort(detail[rest], kind="stable")] = np.arange(len(rank))  # ties in raster order
        block_map[rest] = rank * (levels - 1) // len(rank)
    return block_map


def with_transition(block_map: np.ndarray, qualities: list[int]) -> tuple[np.ndarray, list[int]]:
    """Add a one-block ring around the foreground (the top region) as a region of intermediate quality.

    The ring steps quality down gradually where the foreground meets the rest,
    so no hard seam shows there; it takes the ring's blocks from whatever
    lower region they were in.
    """
    top = len(qualities) - 1
    foreground = (block_map == top).astype(np.uint8)
    ring = cv2.dilate(foreground, RING_KERNEL).astype(bool) & ~foreground.astype(bool)
    shifted = block_map.copy()
    shifted[block_map == top] = top + 1
    shifted[ring] = top
    middle = (qualities[top] + qualities[top - 1] + 1) // 2
    return shifted, [*qualities[:top], middle, qualities[top]]


def with_subjects(block_map: np.ndarray, qualities: list[int], subjects: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Lift the subject blocks (segmentation.subject_grid) out of the levels below the middle quality.

    The middle quality is halfway from the lowest to the foreground's, halves
    up. With two levels it becomes a region of its own between them (when
    there are subject blocks); with more, subjects rise to the level whose
    quality is closest to it. The foreground is never lowered.
    """
    top = len(qualities) - 1
    lift = subjects & (block_map < top)
    middle = (qualities[0] + qualities[top] + 1) // 2
    if top == 1:
        if not lift.any():
            return block_map, qualities
        lifted = (block_map * 2).astype(np.uint8)
        lifted[lift] = 1
        return lifted, [qualities[0], middle, qualities[1]]
    level = min(range(1, top), key=lambda region: abs(qualities[region] - middle))
    lifted = block_map.copy()
    lifted[lift & (block_map < level)] = level
    return lifted, qualities


def level_qualities(bg_quality: int, fg_quality: int, levels: int) -> list[int]:
    """levels qualities spaced evenly from bg_quality up to fg_quality."""
    return [int(round(q)) for q in np.linspace(bg_quality, fg_quality, levels)]


def quality_map_plan(block_grey: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Block map and qualities from each block's grey level (0 -> quality 1, 255 -> quality 100).

    At most MAX_LEVELS distinct qualities are kept: beyond that, qualities
    are rounded to MAX_LEVELS evenly spaced values over the map's range.
    """
    quality = 1 + np.rint(block_grey.astype(np.float64) * 99 / 255)
    distinct = np.unique(quality)
    if len(distinct) > MAX_LEVELS:
        steps = np.linspace(distinct[0], distinct[-1], MAX_LEVELS)
        quality = steps[np.abs(quality[..., None] - steps).argmin(axis=-1)]
        distinct = np.unique(quality)
    block_map = np.searchsorted(distinct, quality).astype(np.uint8)
    return block_map, [int(q) for q in distinct]


def lowest_quality(code: Callable[[int], Coded], good_enough: Callable[[Coded], bool]) -> Coded | None:
    """code(q) for the lowest quality q in 1..100 whose result is good enough, by bisection; None if none is.

    Good enough must hold from some quality up (as an error bound does, give or take a codec's noise).
    """
    low, high, found = 1, 100, None
    while low <= high:
        middle = (low + high) // 2
        result = code(middle)
        if good_enough(result):
            found, high = result, middle - 1
        else:
            low = middle + 1
    return found


def last_fitting(low: int, high: int, fits: Callable[[int], bool]) -> int:
    """The t in low..high - 1 where fits turns false, by bisection: fits(low) is known true, fits(high) false.

    Each fits(t) is a measurement (a file coded at t); sizes are not quite
    monotonic in quality, so the t found fits but a larger one might too.
    """
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return low


def fit_to_size(target: int, qualities: list[int], size_of: Callable[[list[int]], int]) -> list[int]:
    """Qualities whose file is as large as possible but at most target bytes.

    All qualities move together first (keeping their differences, clamped to
    1..100), by bisection; then single regions, best first, step up while the
    file still fits. size_of gives the file size of a list of qualities.
    File size is not always monotonic in quality: every answer is measured,
    never predicted, so the target is never exceeded.
    """
    smallest = size_of([1] * len(qualities))
    if smallest > target:
        raise InputError(f"target size {target} bytes is out of reach: the smallest file is {smallest} bytes")

    def shifted(offset: int) -> list[int]:
        return [min(100, max(1, q + offset)) for q in qualities]

    best = shifted(last_fitting(-100, 100, lambda offset: size_of(shifted(offset)) <= target))  # -100 fits
    for region in sorted(range(len(best)), key=lambda r: -best[r]):
        while best[region] < 100:
            trial = best[:region] + [best[region] + 1] + best[region + 1 :]
            if size_of(trial) > target:
                break
            best = trial
    return best
