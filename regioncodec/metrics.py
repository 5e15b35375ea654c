"""Measures for judging a codec: PSNR over a region, and the importance mask used to measure.

The benchmarks, the tests and `rcodec` reports all measure with these, so a
figure means the same wherever it is printed.
"""

from __future__ import annotations

import cv2
import numpy as np

from .planes import expand


def psnr(reference: np.ndarray, test: np.ndarray, where: np.ndarray | None = None) -> float:
    """PSNR in dB of test against reference (uint8), over the pixels where is True (all by default)."""
    err = (reference.astype(np.float64) - test.astype(np.float64)) ** 2
    if where is not None:
        err = err[where]
    mse = float(err.mean()) if err.size else 0.0
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def importance_mask(image: np.ndarray, share: float = 0.35, block_size: int = 16) -> np.ndarray:
    """Pixel mask of the top share of blocks by mean gradient magnitude of the grey image.

    This is the fixed, segmentation-independent mask the project's figures are
    measured with (see the issues): it marks where a JPEG spends its bytes.
    """
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    grey = grey.astype(np.float32)
    magnitude = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    height, width = grey.shape
    rows, cols = -(-height // block_size), -(-width // block_size)
    padded = np.zeros((rows * block_size, cols * block_size), np.float32)
    padded[:height, :width] = magnitude
    means = padded.reshape(rows, block_size, cols, block_size).mean(axis=(1, 3))
    keep = int(round(share * means.size))
    grid = np.zeros(means.size, bool)
    grid[np.argsort(-means, axis=None, kind="stable")[:keep]] = True
    return expand(grid.reshape(rows, cols), (height, width), block_size)
