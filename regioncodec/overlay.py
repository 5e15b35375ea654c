"""Pictures of a mask for people: the image with the background dimmed and the foreground outlined."""

from __future__ import annotations

import cv2
import numpy as np

from .planes import to_rgb

DIM = 0.35  # background keeps 35% of its brightness: still recognisable, clearly not chosen
OUTLINE = (255, 200, 0)  # amber: stands out on dimmed and on bright pixels alike
OUTLINE_SHARE = 1 / 256  # outline width as a share of the shorter side (2 pixels at 512), at least 1 pixel


def preview(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """RGB image of the same size: pixels outside mask dimmed, a line just inside mask's border."""
    rgb = to_rgb(image)
    out = rgb.copy()
    out[~mask] = (rgb[~mask] * DIM).astype(np.uint8)
    width = max(1, round(min(mask.shape) * OUTLINE_SHARE))
    inner = cv2.erode(mask.astype(np.uint8), np.ones((2 * width + 1, 2 * width + 1), np.uint8), borderValue=1)
    out[mask & ~inner.astype(bool)] = OUTLINE
    return out
