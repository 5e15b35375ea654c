"""Write the README's mask previews: each sample under each segmentation method, as small PNG files.

    python docs/make_previews.py [OUT_DIR]      (default docs/masks; `make previews`)

Each mask is found on the full-size sample, as rcodec mask would find it,
then drawn on a quarter-size copy (rcodec's preview: background dimmed,
foreground outlined) and stored with a 64-colour palette, so the previews
stay a few hundred kilobytes in all.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

import regioncodec

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("edges", "threshold", "kmeans", "saliency", "faces", "faces+edges")
SHRINK = 4  # previews are a quarter of the samples' size: 192x128
COLOURS = 64  # palette size: the previews are for recognising regions, not for judging pixels


def thumbnail(image: np.ndarray, mask: np.ndarray) -> Image.Image:
    """A small palette PNG-ready preview of mask over image."""
    size = (image.shape[1] // SHRINK, image.shape[0] // SHRINK)
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    return Image.fromarray(regioncodec.preview(small, small_mask)).quantize(COLOURS, dither=Image.Dither.NONE)


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for sample in sorted((ROOT / "samples").glob("*.jpg")):
        image = np.asarray(Image.open(sample).convert("RGB"))
        for method in METHODS:
            mask = regioncodec.segment(image, method)
            path = out / f"{sample.stem}-{method.replace('+', '-')}.png"
            thumbnail(image, mask).save(path, optimize=True)
            print(f"{path.relative_to(ROOT)}: foreground {mask.mean():.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "masks"))
