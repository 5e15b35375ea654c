"""Draw docs/seams.png: where the foreground meets the background, without and with transition=True.

    python docs/make_seams.py

Crops of samples/kodim04.jpg (the importance mask of the benchmarks, fg 90 /
bg 30), enlarged 3x with nearest neighbours so block edges stay visible:
original (foreground's border in red) | default | transition.
"""

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

import regioncodec
from regioncodec.metrics import importance_mask

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CROP = (slice(368, 448), slice(280, 392))  # eye and cheek: detail beside smooth skin
ZOOM = 3


def panel(image: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """A zoomed crop, with the mask's border in red if a mask is given."""
    piece = cv2.resize(image[CROP], None, fx=ZOOM, fy=ZOOM, interpolation=cv2.INTER_NEAREST)
    if mask is None:
        return piece
    border = cv2.resize(mask[CROP].astype(np.uint8), None, fx=ZOOM, fy=ZOOM, interpolation=cv2.INTER_NEAREST)
    edge = cv2.morphologyEx(border, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(bool)
    piece = piece.copy()
    piece[edge] = (255, 0, 0)
    return piece


def main() -> None:
    photo = np.asarray(Image.open(ROOT / "samples" / "kodim04.jpg").convert("RGB"))
    mask = importance_mask(photo)
    plain = regioncodec.decode(regioncodec.encode(photo, mask=mask, fg_quality=90, bg_quality=30))
    ringed = regioncodec.decode(regioncodec.encode(photo, mask=mask, transition=True, fg_quality=90, bg_quality=30))
    gap = np.full(((CROP[0].stop - CROP[0].start) * ZOOM, 8, 3), 255, np.uint8)
    row = np.hstack([panel(photo, mask), gap, panel(plain), gap, panel(ringed)])
    Image.fromarray(row).save(HERE / "seams.png", optimize=True)


if __name__ == "__main__":
    main()
