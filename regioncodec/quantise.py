"""Quantisation tables that keep a JPEG quality's fidelity for fewer bytes.

libjpeg's tables (T.81 Annex K) are shaped for the eye: fine at low
frequencies, very coarse at high ones. Squared error is indifferent to
frequency (the DCT is orthonormal), and for squared error a flatter table
buys the same fidelity with fewer bits. So for each plane we measure, on a
sample of its 8x8 blocks, the error the standard table at the requested
quality would make, and take the coarsest table of a flatter family whose
error is smaller by MARGIN_DB. Where that table would leave more coefficients
non-zero than the standard one (smooth planes, whose error is all in the low
frequencies the standard table already quantises finely), the standard table
is kept. Either way the plane is at least as faithful as in a standard JPEG
of that quality; a decoder needs nothing new, as the table is in the stream.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import cv2
import numpy as np

from .planes import pad_to_blocks

SAMPLE_BLOCKS = 512  # 8x8 blocks measured per plane, spread evenly: estimates error within the margin
MARGIN_DB = 0.2  # how much less error than the standard table to aim for, covering sampling error
SLOPE = 0.75  # the flat family's step grows linearly from s (DC) to (1 + SLOPE) s (highest frequency)
SEARCH_SPAN = 3.0  # s is searched within this factor either side of the high-rate estimate
SEARCH_STEPS = 6  # bisections of log(s): s within 3.5%, finer than rounding steps to integers

_U, _V = np.meshgrid(np.arange(8), np.arange(8))
_SHAPE = (1 + SLOPE * (_U + _V) / 14.0).ravel().astype(np.float32)


def matched_table(plane: np.ndarray, standard: Sequence[int]) -> Sequence[int]:
    """The table to code plane with: the flat family's match for standard's error, or standard itself."""
    coefficients = _sample_coefficients(plane)
    reference = np.array(standard, np.float32)
    target = _squared_error(coefficients, reference) * 10 ** (-MARGIN_DB / 10)
    guess = _equal_step(tuple(standard))
    low, high = guess / SEARCH_SPAN, guess * SEARCH_SPAN
    errors: dict[bytes, float] = {}  # neighbouring scales often round to the same table: measure each table once

    def error_at(scale: float) -> float:
        table = _flat(scale)
        key = table.tobytes()
        if key not in errors:
            errors[key] = _squared_error(coefficients, table)
        return errors[key]

    if error_at(low) > target:
        return standard
    for _ in range(SEARCH_STEPS):
        middle = float(np.sqrt(low * high))
        if error_at(middle) <= target:
            low = middle
        else:
            high = middle
    flat = _flat(low)
    if _nonzero(coefficients, flat) >= _nonzero(coefficients, reference):
        return standard
    return [int(step) for step in flat]


@functools.lru_cache(maxsize=512)  # a table per quality and plane kind: the same few come back every call
def _equal_step(standard: tuple[int, ...]) -> float:
    """The flat family's scale whose mean squared step equals standard's: where the search is centred."""
    reference = np.array(standard, np.float32)
    return float(np.sqrt(np.square(reference).sum() / np.square(_SHAPE).sum()))


def _sample_coefficients(plane: np.ndarray) -> np.ndarray:
    """DCT coefficients (n, 64) of about SAMPLE_BLOCKS blocks on a regular grid over plane (padded as JPEG pads)."""
    plane = pad_to_blocks(plane, 8)
    rows, cols = plane.shape[0] // 8, plane.shape[1] // 8
    step = max(1, int(np.ceil(np.sqrt(rows * cols / SAMPLE_BLOCKS))))
    sampled = plane.reshape(rows, 8, cols, 8)[::step, :, ::step, :].transpose(0, 2, 1, 3)
    blocks = np.empty(sampled.shape, np.float32)
    np.subtract(sampled, 128, out=blocks, dtype=np.float32)  # each block's rows, one conversion pass
    once = cv2.dct(blocks.reshape(-1, 8), flags=cv2.DCT_ROWS).reshape(-1, 8, 8).transpose(0, 2, 1)
    twice = cv2.dct(np.ascontiguousarray(once).reshape(-1, 8), flags=cv2.DCT_ROWS).reshape(-1, 8, 8)
    return np.ascontiguousarray(twice.transpose(0, 2, 1)).reshape(-1, 64)


def _flat(scale: float) -> np.ndarray:
    """The flat family's table at scale, as baseline JPEG allows (1..255)."""
    table = np.multiply(_SHAPE, np.float32(scale))
    np.rint(table, out=table)
    np.maximum(table, 1, out=table)
    return np.minimum(table, 255, out=table)


def _squared_error(coefficients: np.ndarray, table: np.ndarray) -> float:
    """Total squared error of quantising coefficients with table (rounding to nearest)."""
    error = coefficients / table
    np.rint(error, out=error)
    error *= table
    error -= coefficients
    flat = error.ravel()
    return float(np.einsum("i,i->", flat, flat))  # not a BLAS call: its threads stall on a busy machine


def _nonzero(coefficients: np.ndarray, table: np.ndarray) -> int:
    """How many coefficients quantise to non-zero values: what a JPEG pays for, roughly."""
    return int(np.count_nonzero(np.abs(coefficients) >= table / 2))
