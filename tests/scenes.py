"""Synthetic 512x384 scenes whose true object is known, for segmentation figures.

The tests check the issue's IoU figures on them and benchmarks/bench_segment.py
reports the same numbers, so both measure the same thing.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

WIDTH, HEIGHT = 512, 384


def iou(found: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1 when both are empty)."""
    union = int((found | truth).sum())
    return float((found & truth).sum()) / union if union else 1.0


def blob(seed: int) -> np.ndarray:
    """A smooth irregular object (an ellipse with a wobbly edge), about a fifth of the frame, away from the edges."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:HEIGHT, :WIDTH].astype(np.float32)
    cx, cy = WIDTH * rng.uniform(0.4, 0.6), HEIGHT * rng.uniform(0.4, 0.6)
    angle = np.arctan2(y - cy, x - cx)
    wobble = 1 + 0.12 * np.sin(3 * angle + rng.uniform(0, 6.3)) + 0.06 * np.sin(5 * angle + rng.uniform(0, 6.3))
    radius = np.hypot((x - cx) / (0.30 * WIDTH), (y - cy) / (0.28 * HEIGHT))
    return np.asarray(radius < wobble)


def textured_ellipse(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Fine texture (per-pixel noise over stripes) inside an ellipse, on a smooth colour gradient."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:HEIGHT, :WIDTH].astype(np.float32)
    background = np.dstack([40 + 160 * x / WIDTH, 60 + 120 * y / HEIGHT, 200 - 120 * x / WIDTH])
    truth = ((x - 256) / 170) ** 2 + ((y - 192) / 120) ** 2 < 1
    stripes = 40 * np.sin(x * 1.3 + y * 0.7)[..., None]
    texture = background + stripes + rng.normal(0, 30, background.shape)
    image = np.where(truth[..., None], texture, background)
    return _to_uint8(image), truth


def dark_object(seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """A dark irregular object on a bright page, both with scanner-like noise (sigma 12)."""
    rng = np.random.default_rng(seed)
    truth = blob(seed)
    page = np.where(truth, 55.0, 215.0)[..., None] + rng.normal(0, 12, (HEIGHT, WIDTH, 3))
    return _to_uint8(page), truth


def red_object(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A red object on a background shading from blue to green, all of the same luma (grey cannot split them)."""
    rng = np.random.default_rng(seed)
    truth = blob(seed)
    x = np.linspace(0, 1, WIDTH, dtype=np.float32)[None, :, None]
    blue, green, red = np.array([50, 110, 220.0]), np.array([30, 150, 60.0]), np.array([215, 60, 55.0])
    background = blue * (1 - x) + green * x
    image = np.where(truth[..., None], red, background) + rng.normal(0, 6, (HEIGHT, WIDTH, 3))
    return _to_uint8(image), truth


def odd_disc(seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A small orange disc (3% of the frame) on a bluish gradient with mild noise: the one thing that stands out."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:HEIGHT, :WIDTH].astype(np.float32)
    truth = np.hypot(x - 350, y - 250) < 45
    background = np.dstack([90 + 60 * x / WIDTH, 110 + 40 * y / HEIGHT, 150 - 30 * x / WIDTH])
    image = np.where(truth[..., None], np.array([200, 60, 40.0]), background) + rng.normal(0, 8, background.shape)
    return _to_uint8(image), truth


def blank_page(seed: int = 5) -> np.ndarray:
    """An empty scanned page: near-white with sensor noise and nothing on it."""
    rng = np.random.default_rng(seed)
    return _to_uint8(rng.normal(235, 4, (HEIGHT, WIDTH, 3)))


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """Round and clip to uint8."""
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma, as JPEG and cv2.COLOR_RGB2GRAY compute it."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


SCENES: dict[str, tuple[Callable[[], tuple[np.ndarray, np.ndarray]], float]] = {
    "edges": (textured_ellipse, 0.80),
    "threshold": (dark_object, 0.85),
    "kmeans": (red_object, 0.85),
}
"""Each method with a known-truth scene, and the IoU the issue asks of it on that scene."""
