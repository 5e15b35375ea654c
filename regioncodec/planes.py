"""The encoder's pixel planes: RGB to JPEG's YCbCr 4:2:0 planes, padding, grey, and block maxima.

Region coding works on raw planes rather than RGB so that every block is coded
from the same samples as in a uniform JPEG (and at least as faithfully), and
so that the decoder upsamples chroma once, after the regions are put back
together, across true neighbours (spec §11.5). How the encoder makes its
planes is its own choice (§7.3); the decoder does not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import cv2
import numpy as np

from . import threads

BAND_ROWS = 128  # image rows converted per job: bands stay in cache, and a 12 MP image makes 24 jobs

# JFIF's full-range BT.601 conversion (ITU-T T.871) as an affine matrix: RGB -> (Cb, Cr).
_RGB_TO_CHROMA = np.array(
    [
        [-0.168735892, -0.331264108, 0.5, 128.0],
        [0.5, -0.418687589, -0.081312411, 128.0],
    ],
    dtype=np.float32,
)


def to_grey(image: np.ndarray) -> np.ndarray:
    """The grey (luma) plane of an RGB image; a greyscale image as it is."""
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """An RGB version of a greyscale image (grey in all three channels); an RGB image as it is."""
    return image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)


def pad_to_blocks(image: np.ndarray, block: int) -> np.ndarray:
    """Repeat the last row and column until both sides are multiples of block, as JPEG does."""
    height, width = image.shape[:2]
    bottom, right = -height % block, -width % block
    if not bottom and not right:
        return image
    return cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_REPLICATE)


def rgb_to_planes(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split even-sized RGB into a full-size luma plane and a chroma stack (2, H/2, W/2).

    Chroma is that of each 2x2 square's mean colour: the mean of the squares'
    chroma, as libjpeg's box downsampling takes, since the conversion is linear.
    """
    luma, chroma, jobs = planes_jobs(rgb)
    threads.run(jobs, luma.size)
    return luma, chroma


def planes_jobs(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[Callable[[], None]]]:
    """rgb_to_planes' luma and chroma, allocated, and the jobs that fill them (bands of BAND_ROWS rows).

    Every step is per pixel or per 2x2 square, so bands of an even number of
    rows give exactly what converting the whole image at once gives.
    """
    height, width = rgb.shape[:2]
    luma = np.empty((height, width), np.uint8)
    chroma = np.empty((2, height // 2, width // 2), np.uint8)
    bands = range(0, height, BAND_ROWS)
    return luma, chroma, [partial(_convert_band, rgb, top, min(top + BAND_ROWS, height), luma, chroma) for top in bands]


def _convert_band(rgb: np.ndarray, top: int, bottom: int, luma: np.ndarray, chroma: np.ndarray) -> None:
    """Rows top..bottom (even) of rgb into their rows of the luma plane and of the chroma stack."""
    band = rgb[top:bottom]
    cv2.cvtColor(band, cv2.COLOR_RGB2GRAY, dst=luma[top:bottom])  # Y = 0.299 R + 0.587 G + 0.114 B, rounded
    means = cv2.resize(band, (band.shape[1] // 2, band.shape[0] // 2), interpolation=cv2.INTER_AREA)
    halves = slice(top // 2, bottom // 2)
    cv2.split(cv2.transform(means, _RGB_TO_CHROMA), [chroma[0, halves], chroma[1, halves]])  # means rounded, twice


def block_max(plane: np.ndarray, cell: int) -> np.ndarray:
    """Largest value in each cell x cell block of a uint8 plane (edge blocks padded with zeros).

    Two reductions, each over whole rows first: down each block's rows (an
    elementwise maximum of contiguous rows), then across the 1/cell as many
    values left; a single reduction over both axes of a 4-D view is ~10x slower.
    """
    height, width = plane.shape
    rows, cols = -(-height // cell), -(-width // cell)
    if height % cell or width % cell:
        padded = np.zeros((rows * cell, cols * cell), np.uint8)
        padded[:height, :width] = plane
        plane = padded
    down = np.maximum.reduce(plane.reshape(rows, cell, cols * cell), axis=1)
    return np.asarray(np.maximum.reduce(down.reshape(rows, cols, cell), axis=2))


def reduce_planes(luma: np.ndarray, chroma: np.ndarray | None, scale: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Planes reduced by scale, each sample the mean of a scale x scale square (the encoder's choice, §7.6)."""

    def reduce(plane: np.ndarray) -> np.ndarray:
        return cv2.resize(plane, (plane.shape[1] // scale, plane.shape[0] // scale), interpolation=cv2.INTER_AREA)

    return reduce(luma), None if chroma is None else np.stack([reduce(c) for c in chroma])
