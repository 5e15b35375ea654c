"""Checks regioncodec.perceptual.ssimulacra2 against the PyPI package ``ssimulacra2`` (the reference) and times both.

    python benchmarks/check_perceptual.py [--images DIR] [--repeat N]

Cases, on every image (default ../shared/images/kodak, else samples/): Pillow
JPEG at qualities 20, 50 and 90, WebP at 30 and 80, a Gaussian blur, crops of
the JPEG-50 pair to odd sizes, and the greyscale pair. Prints max |difference|
per case type and over all, wall and CPU seconds per pair for both (768x512
on Kodak) and for ours at 12 MP; exits 1 if any difference exceeds 1e-3 or
ours takes over 0.3 s of CPU per pair. Without the PyPI package it says so
and exits 0.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import image_paths, load_rgb, parse_args, print_verdicts, tile  # noqa: E402

from regioncodec.perceptual import ssimulacra2  # noqa: E402

TOLERANCE = 1e-3  # the agreement asked for: equal to 3 decimals
JPEG_QUALITIES = (20, 50, 90)
WEBP_QUALITIES = (30, 80)
BLUR_SIGMA = 1.2  # px: a visible but not ruinous blur
CROPS = ((333, 211), (17, 9), (9, 8), (8, 17), (7, 30))  # (width, height): odd, at and under the 8 px rule
TIME_TARGET = 0.3  # s per 768x512 pair: fast enough to score every point of a rate-distortion sweep
BIG = (3000, 4000)  # (height, width): 12 MP, a phone photo


def compressed(image: np.ndarray, fmt: str, quality: int) -> np.ndarray:
    """Image after a round trip through Pillow's fmt at quality."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, fmt, quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert(Image.fromarray(image).mode))


def cases(rgb: np.ndarray) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(case type, reference, distorted) for one image."""
    for q in JPEG_QUALITIES:
        yield f"jpeg q{q}", rgb, compressed(rgb, "JPEG", q)
    for q in WEBP_QUALITIES:
        yield f"webp q{q}", rgb, compressed(rgb, "WEBP", q)
    yield f"blur sigma {BLUR_SIGMA}", rgb, cv2.GaussianBlur(rgb, (0, 0), BLUR_SIGMA)
    jpeg = compressed(rgb, "JPEG", 50)
    for w, h in CROPS:
        y, x = (rgb.shape[0] - h) // 3, (rgb.shape[1] - w) // 3
        yield f"crop {w}x{h}", rgb[y : y + h, x : x + w].copy(), jpeg[y : y + h, x : x + w].copy()
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    yield "grey jpeg q50", grey, compressed(grey, "JPEG", 50)


def reference_score(reference_fn: Callable[[str, str], float], folder: Path, a: np.ndarray, b: np.ndarray) -> float:
    """The PyPI package's score of the pair, through lossless PNG files (it reads only files)."""
    Image.fromarray(a).save(folder / "a.png")
    Image.fromarray(b).save(folder / "b.png")
    return float(reference_fn(str(folder / "a.png"), str(folder / "b.png")))


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of repeat calls of fn (CPU time is the fairer figure on a shared machine)."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(wall)), float(np.median(cpu))


def main() -> int:
    """Compare over every image and case; print the figures; 1 if a figure missed."""
    args = parse_args(__doc__, repeat=5)
    try:
        from ssimulacra2 import compute_ssimulacra2
    except ImportError:
        print("check_perceptual: the PyPI package ssimulacra2 is not installed (pip install ssimulacra2); skipped")
        return 0
    worst: dict[str, float] = {}
    images = [load_rgb(path) for path in image_paths(args.images)]
    with tempfile.TemporaryDirectory() as tmp:
        for rgb in images:
            for kind, a, b in cases(rgb):
                diff = abs(ssimulacra2(a, b) - reference_score(compute_ssimulacra2, Path(tmp), a, b))
                worst[kind] = max(worst.get(kind, 0.0), diff)
        a, b = images[0], compressed(images[0], "JPEG", 50)
        pypi = timed(lambda: reference_score(compute_ssimulacra2, Path(tmp), a, b), 3)
    ours = timed(lambda: ssimulacra2(a, b), args.repeat)
    big_a = tile(images, *BIG)
    big_b = compressed(big_a, "JPEG", 50)
    big = timed(lambda: ssimulacra2(big_a, big_b), 1)
    print(f"{len(images)} images; max |ours - PyPI ssimulacra2| by case:")
    for kind, diff in worst.items():
        print(f"  {kind:<16}{diff:.2e}")
    print(f"  {'all':<16}{max(worst.values()):.2e}")
    size = f"{a.shape[1]}x{a.shape[0]}"
    print(f"s per pair, wall / CPU: {size} ours {ours[0]:.3f} / {ours[1]:.3f}, PyPI {pypi[0]:.3f} / {pypi[1]:.3f}")
    print(f"  (PyPI's include writing two PNG files); 12 MP ours {big[0]:.2f} / {big[1]:.2f}")
    checks = [
        ("max |ours - PyPI|", max(worst.values()), TOLERANCE, False),
        (f"CPU s per {size} pair", ours[1], TIME_TARGET, False),
    ]
    return 1 if print_verdicts(checks) else 0


if __name__ == "__main__":
    raise SystemExit(main())
