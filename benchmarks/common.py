"""What the benchmarks share: where the images are, uniform baselines, timing, verdicts."""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
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


def pillow_jpeg_bytes(image: np.ndarray, quality: int) -> bytes:
    """A uniform JPEG of image with Pillow (libjpeg-turbo), optimize=True: the baseline."""
    out = io.BytesIO()
    Image.fromarray(image).save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def pillow_decode(data: bytes) -> np.ndarray:
    """Decode any image Pillow reads to an array."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


def best_quality_within(size: int, encode: Callable[[int], bytes], low: int = 1, high: int = 100) -> tuple[int, bytes]:
    """The highest quality whose output is at most size bytes (scanning down, as size is not monotonic)."""
    for quality in range(high, low - 1, -1):
        data = encode(quality)
        if len(data) <= size:
            return quality, data
    return low, encode(low)


def paired_ratios(
    baseline: Callable[[], object], runs: dict[str, Callable[[], object]], repeat: int
) -> dict[str, float]:
    """Median over repeats of (time of each run / time of baseline measured just before it).

    Timing each run right next to its own baseline cancels most of what a
    shared machine does to absolute times between one moment and the next.
    """
    ratios: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            baseline()
            middle = time.perf_counter()
            run()
            ratios[name].append((time.perf_counter() - middle) / (middle - start))
    return {name: statistics.median(values) for name, values in ratios.items()}


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
