"""What the benchmarks share: where the images are, a large test image, verdicts (baselines and timing: report)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
KODAK = ROOT.parent / "shared" / "images" / "kodak"


def parse_args(doc: str | None, repeat: int) -> argparse.Namespace:
    """The options every benchmark takes: --images DIR and --repeat N (default repeat)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, help="folder of images (default: ../shared/images/kodak, else samples/)")
    parser.add_argument("--repeat", type=int, default=repeat, help="timing repeats; the median ratio is reported")
    return parser.parse_args()


def image_paths(folder: Path | None) -> list[Path]:
    """The benchmark images: folder, else the shared Kodak set, else samples/."""
    for candidate in (folder, KODAK, ROOT / "samples"):
        if candidate is not None and candidate.is_dir():
            paths = sorted(p for p in candidate.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".tif"})
            if paths:
                return paths
    raise SystemExit("no benchmark images found")


def load_rgb(path: Path) -> np.ndarray:
    """An image file as an RGB uint8 array."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def tile(images: list[np.ndarray], height: int, width: int) -> np.ndarray:
    """A height x width mosaic of the images (cropped to a common size), as a large real-content image."""
    h = min(image.shape[0] for image in images)
    w = min(image.shape[1] for image in images)
    rows = []
    for r in range(-(-height // h)):
        row = [images[(r * 7 + c) % len(images)][:h, :w] for c in range(-(-width // w))]
        rows.append(np.hstack(row))
    return np.ascontiguousarray(np.vstack(rows)[:height, :width])


def verdict(value: float, target: float, higher_is_better: bool) -> str:
    """'ok' when value meets target, else 'MISSED'."""
    met = value >= target if higher_is_better else value <= target
    return "ok" if met else "MISSED"


def print_verdicts(checks: list[tuple[str, float, float, bool]]) -> int:
    """Print (label, value, target, higher is better) rows with verdicts; return how many missed."""
    width = max(len(label) for label, *_ in checks) + 2
    print(f"\n{'figure':<{width}}{'value':>9}{'target':>9}  verdict")
    missed = 0
    for label, value, target, higher in checks:
        result = verdict(value, target, higher)
        missed += result != "ok"
        print(f"{label:<{width}}{value:>9.3f}{target:>9.3f}  {result}")
    return missed
