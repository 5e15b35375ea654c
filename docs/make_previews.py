"""Write the README's mask previews: each sample under each segmentation method, as small PNG files, and the
levels the default encode codes before and after subjects (skin, holes) were lifted out of the lowest.

    python docs/make_previews.py [OUT_DIR]      (default docs/masks; `make previews`)

Each mask is found on the full-size sample, as rcodec mask would find it,
then drawn on a quarter-size copy (rcodec's preview: background dimmed,
foreground outlined) and stored with a 64-colour palette, so the previews
stay a few hundred kilobytes in all. The levels are those of the files
encode writes (read back from them), for LEVEL_IMAGES from the Kodak set
(../shared/images/kodak; those of samples/ where it is not there).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

import regioncodec

ROOT = Path(__file__).resolve().parent.parent
KODAK = Path(os.environ.get("KODAK", ROOT.parent / "shared" / "images" / "kodak"))
LEVEL_IMAGES = ("kodim12", "kodim04", "kodim07")  # a couple on a beach, a portrait, flowers under a window
MIDDLE_DIM = 0.7  # the middle level keeps 70% of its brightness: between the background's 35% and the foreground
MIDDLE_OUTLINE = (0, 200, 255)  # cyan beside the foreground's amber
METHODS = ("edges", "threshold", "kmeans", "saliency", "faces", "faces+edges")
SHRINK = 4  # previews are a quarter of the samples' size: 192x128
COLOURS = 64  # palette size: the previews are for recognising regions, not for judging pixels


def thumbnail(image: np.ndarray, mask: np.ndarray) -> Image.Image:
    """A small palette PNG-ready preview of mask over image."""
    size = (image.shape[1] // SHRINK, image.shape[0] // SHRINK)
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    return Image.fromarray(regioncodec.preview(small, small_mask)).quantize(COLOURS, dither=Image.Dither.NONE)


def levels_thumbnail(image: np.ndarray, data: bytes) -> Image.Image:
    """A small preview of the levels of an encoded file: background dimmed, the middle level half-dimmed and
    outlined in cyan, the foreground outlined in amber."""
    parsed = regioncodec.container.read(data)
    h = parsed.header
    size = (image.shape[1] // SHRINK, image.shape[0] // SHRINK)
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    block = h.block_size // SHRINK
    levels = np.repeat(np.repeat(parsed.block_map, block, 0), block, 1)[: size[1], : size[0]]
    top = h.regions - 1
    out = regioncodec.preview(small, levels == top)  # the background dimmed, the foreground outlined
    middle = (levels > 0) & (levels < top)
    if middle.any():
        inner = cv2.erode(middle.astype(np.uint8), np.ones((3, 3), np.uint8), borderValue=1).astype(bool)
        out[middle] = (small[middle] * MIDDLE_DIM).astype(np.uint8)
        out[middle & ~inner] = MIDDLE_OUTLINE
    return Image.fromarray(out).quantize(COLOURS, dither=Image.Dither.NONE)


def level_previews(out: Path) -> None:
    """Before (foreground and background) and after (subjects at a middle level) for LEVEL_IMAGES."""
    for name in LEVEL_IMAGES:
        path = KODAK / f"{name}.png" if (KODAK / f"{name}.png").exists() else ROOT / "samples" / f"{name}.jpg"
        if not path.exists():
            print(f"{name}: not found, no level preview")
            continue
        image = np.asarray(Image.open(path).convert("RGB"))
        for when, subjects in (("before", False), ("after", True)):
            data = regioncodec.encode(image, subjects=subjects)
            target = out / f"levels-{name}-{when}.png"
            levels_thumbnail(image, data).save(target, optimize=True)
            shares = [f"{r.fraction:.0%} at q{r.quality}" for r in regioncodec.read_info(data).regions]
            print(f"{target.relative_to(ROOT)}: " + ", ".join(shares))


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    level_previews(out)
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
