"""Shared fixtures: real photographs from samples/ and synthetic scenes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "samples").glob("*.jpg"))
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A real 768x512 photograph (Kodak kodim04, a portrait) as RGB."""
    return np.asarray(Image.open(ROOT / "samples" / "kodim04.jpg").convert("RGB"))


@pytest.fixture(scope="session")
def textured_scene() -> tuple[np.ndarray, np.ndarray]:
    """A 256x192 RGB scene: a noisy textured rectangle on a smooth gradient, and its true mask."""
    rng = np.random.default_rng(7)
    h, w = 192, 256
    ramp = np.linspace(40, 200, w, dtype=np.float32)[None, :, None]
    image = np.broadcast_to(ramp, (h, w, 3)).copy()
    truth = np.zeros((h, w), bool)
    truth[48:144, 64:192] = True
    image[truth] = rng.uniform(0, 255, (int(truth.sum()), 3))
    return image.astype(np.uint8), truth
