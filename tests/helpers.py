"""Helpers the tests share: uniform JPEG baselines and synthetic test images."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from regioncodec.metrics import importance_mask, psnr

__all__ = ["importance_mask", "pillow_jpeg", "psnr", "random_image"]


def pillow_jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """image after a uniform Pillow JPEG round trip at quality (optimize=True)."""
    out = io.BytesIO()
    Image.fromarray(image).save(out, "JPEG", quality=quality, optimize=True)
    return np.asarray(Image.open(out))


def random_image(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Smooth random content (coarse noise, upsampled) of shape."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (shape[0] // 8 + 1, shape[1] // 8 + 1) + shape[2:], dtype=np.uint8)
    return cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR).reshape(shape)
