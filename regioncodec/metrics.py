"""Measures for judging a codec: PSNR and SSIM over a region, and the importance mask used to measure.

The benchmarks, the tests and `rcodec` reports all measure with these, so a
figure means the same wherever it is printed.
"""

from __future__ import annotations

import cv2
import numpy as np

from .layout import expand
from .planes import to_grey


def psnr(reference: np.ndarray, test: np.ndarray, where: np.ndarray | None = None) -> float:
    """PSNR in dB of test against reference (uint8), over the pixels where is True (all by default)."""
    error = mse(reference, test, where)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def mse(reference: np.ndarray, test: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean squared error of test against reference (uint8, same shape) over the pixels where is True (all by
    default), 0 over none.

    Exact, and fast: OpenCV sums the squared integer differences (in integers,
    then doubles) under the mask, with no copy of the selected pixels.
    """
    pixels = reference.shape[0] * reference.shape[1] if where is None else int(np.count_nonzero(where))
    if not pixels:
        return 0.0
    channels = 1 if reference.ndim == 2 else reference.shape[2]
    mask = None if where is None else np.asarray(where, bool).view(np.uint8)  # no copy of a boolean mask
    return float(cv2.norm(reference, test, cv2.NORM_L2SQR, mask=mask)) / (pixels * channels)


IMPORTANCE_BLOCK = 16  # px: the issues measure with 16x16 blocks, one 4:2:0 MCU


def importance_mask(image: np.ndarray, share: float = 0.35) -> np.ndarray:
    """Pixel mask of the top share of 16x16 blocks by mean gradient magnitude of the grey image.

    This is the fixed, segmentation-independent mask the project's figures are
    measured with (see the issues): it marks where a JPEG spends its bytes.
    """
    grey = to_grey(image).astype(np.float32)
    magnitude = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    height, width = grey.shape
    rows, cols = -(-height // IMPORTANCE_BLOCK), -(-width // IMPORTANCE_BLOCK)
    padded = np.zeros((rows * IMPORTANCE_BLOCK, cols * IMPORTANCE_BLOCK), np.float32)
    padded[:height, :width] = magnitude
    means = padded.reshape(rows, IMPORTANCE_BLOCK, cols, IMPORTANCE_BLOCK).mean(axis=(1, 3))
    keep = int(round(share * means.size))
    grid = np.zeros(means.size, bool)
    grid[np.argsort(-means, axis=None, kind="stable")[:keep]] = True
    return expand(grid.reshape(rows, cols), (height, width), IMPORTANCE_BLOCK)


def ssim(reference: np.ndarray, test: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean SSIM (Wang et al. 2004: Gaussian window, sigma 1.5, K1 0.01, K2 0.03) of the grey images.

    RGB images are compared on their luma; the SSIM map is averaged over the
    pixels where is True (all by default).
    """
    a, b = (to_grey(image).astype(np.float64) for image in (reference, test))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    values = index if where is None else index[where]
    return float(values.mean()) if values.size else 1.0


def boundary_band(mask: np.ndarray, radius: int = 8) -> np.ndarray:
    """Pixels within radius of the border between mask and the rest, on either side."""
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    outside = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)
    return ((inside > 0) & (inside <= radius)) | ((outside > 0) & (outside <= radius))


def seam_step(reference: np.ndarray, test: np.ndarray, mask: np.ndarray) -> float:
    """Mean squared error of the step between neighbouring pixels that straddle the mask's border.

    A seam is a jump across the border that the reference does not have; this
    measures it directly, where PSNR in a band would average it away.
    """
    errors = []
    for axis in (0, 1):
        truth = np.diff(reference.astype(np.float32), axis=axis)
        coded = np.diff(test.astype(np.float32), axis=axis)
        straddles = np.diff(mask.astype(np.int8), axis=axis) != 0
        errors.append(np.square(coded - truth)[straddles])
    values = np.concatenate(errors)
    return float(values.mean()) if values.size else 0.0
