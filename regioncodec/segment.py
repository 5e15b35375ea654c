"""Segmentation: which blocks of an image matter. Pure functions of the pixels.

A method maps a greyscale or RGB uint8 image and a block size to a boolean
grid with one cell per block (True = foreground). The encoder codes whole
blocks, so masks live on the block grid; `planes.expand` turns one into pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .errors import InputError
from .planes import pad_to_blocks

CANNY_LOW, CANNY_HIGH = 50, 150  # gradient thresholds for 8-bit images (Canny's 1:3 ratio)
CLEANUP_KERNEL = np.ones((3, 3), np.uint8)  # one block each way: fills pinholes, drops specks

Method = Callable[[np.ndarray, int], np.ndarray]


def block_grid(image: np.ndarray, method: str, block_size: int) -> np.ndarray:
    """The boolean block grid that method picks as foreground."""
    try:
        run = METHODS[method]
    except (KeyError, TypeError):
        raise InputError(f"unknown segmentation method {method!r}; choose from {', '.join(METHODS)}") from None
    return run(image, block_size)


def edges(image: np.ndarray, block_size: int) -> np.ndarray:
    """Blocks dense in Canny edges, split from the rest by Otsu, then cleaned up.

    Edge density (the share of edge pixels per block) is high where detail is,
    which is where JPEG spends its bytes and where eyes look; Otsu picks the
    split between the two populations of blocks; a morphological close then
    open fills one-block holes and removes one-block specks.
    """
    density = edge_density(image, block_size)
    level, _ = cv2.threshold(density, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    grid = (density > level).astype(np.uint8)
    closed = cv2.morphologyEx(grid, cv2.MORPH_CLOSE, CLEANUP_KERNEL)
    return cv2.morphologyEx(closed, cv2.MORPH_OPEN, CLEANUP_KERNEL).astype(bool)


def edge_density(image: np.ndarray, block_size: int) -> np.ndarray:
    """Share of Canny edge pixels in each block, 0..255 (uint8): how detailed each block is."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return _block_means(cv2.Canny(grey, CANNY_LOW, CANNY_HIGH, L2gradient=True), block_size)


def _block_means(plane: np.ndarray, block_size: int) -> np.ndarray:
    """Mean of each block of a uint8 plane, edge blocks padded by repetition as JPEG pads them."""
    padded = pad_to_blocks(plane, block_size)
    rows, cols = padded.shape[0] // block_size, padded.shape[1] // block_size
    return cv2.resize(padded, (cols, rows), interpolation=cv2.INTER_AREA)


METHODS: dict[str, Method] = {"edges": edges}
