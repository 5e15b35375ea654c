"""Checks regioncodec.perceptual.ssimulacra2 against the published implementations and times it.

    python benchmarks/check_perceptual.py [--images DIR] [--repeat N] [--libjxl PATH]

Cases, on every image (default ../shared/images/kodak, else samples/): Pillow
JPEG at qualities 20, 50 and 90, WebP at 30 and 80, a Gaussian blur, crops of
the JPEG-50 pair to odd sizes, and the greyscale pair. Compares
variant="pypi" with the PyPI package ``ssimulacra2`` and, given --libjxl (a
binary of libjxl's tools/ssimulacra2, which Debian does not ship),
variant="libjxl" with it. Prints max |difference| per case type and over all,
wall and CPU seconds per pair (768x512 on Kodak) and for ours at 12 MP; exits
1 if a figure misses its target. Without the PyPI package it says so and
exits 0.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import image_paths, load_rgb, print_verdicts, tile  # noqa: E402

from regioncodec.perceptual import MIN_SIDE, ssimulacra2  # noqa: E402

TOLERANCE = 1e-3  # against the PyPI package: equal to 3 decimals
# Against libjxl's tool: its float32 recursive blur moves its own score by up to 0.23 when a pair is mirrored.
LIBJXL_TOLERANCE = 0.6
JPEG_QUALITIES = (20, 50, 90)
WEBP_QUALITIES = (30, 80)
BLUR_SIGMA = 1.2  # px: a visible but not ruinous blur
CROPS = ((333, 211), (17, 9), (9, 8), (8, 17), (7, 30))  # (width, height): odd, at and under the 8 px rule
TIME_TARGET = 0.3  # CPU s per 768x512 pair: fast enough to score every point of a rate-distortion sweep
BIG = (3000, 4000)  # (height, width): 12 MP, a phone photo

Scorer = Callable[[np.ndarray, np.ndarray], float]


def parse_args() -> argparse.Namespace:
    """--images DIR, --repeat N, --libjxl PATH."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, help="folder of images (default: ../shared/images/kodak, else samples/)")
    parser.add_argument("--repeat", type=int, default=5, help="timing repeats; the median is reported")
    parser.add_argument("--libjxl", type=Path, help="libjxl's ssimulacra2 binary, to check variant='libjxl' against")
    return parser.parse_args()


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


def through_files(score_files: Callable[[str, str], float], folder: Path) -> Scorer:
    """A scorer of array pairs from a scorer of file names: each pair goes through lossless PNG files in folder."""

    def score(a: np.ndarray, b: np.ndarray) -> float:
        """The score of the pair's PNG files."""
        Image.fromarray(a).save(folder / "a.png")
        Image.fromarray(b).save(folder / "b.png")
        return float(score_files(str(folder / "a.png"), str(folder / "b.png")))

    return score


def libjxl_tool(binary: Path) -> Callable[[str, str], float]:
    """libjxl's ssimulacra2 command as a function of two file names."""

    def score(a: str, b: str) -> float:
        """The score the command prints."""
        run = subprocess.run([str(binary), a, b], capture_output=True, text=True, check=True)
        return float(run.stdout.split()[0])

    return score


def worst_differences(images: list[np.ndarray], ours: Scorer, theirs: Scorer, min_side: int) -> dict[str, float]:
    """Max |ours - theirs| per case type, over pairs at least min_side both ways."""
    worst: dict[str, float] = {}
    for rgb in images:
        for kind, a, b in cases(rgb):
            if min(a.shape[:2]) >= min_side:
                worst[kind] = max(worst.get(kind, 0.0), abs(ours(a, b) - theirs(a, b)))
    return worst


def print_worst(title: str, worst: dict[str, float]) -> None:
    """One line per case type, then the maximum over all."""
    print(title)
    for kind, diff in worst.items():
        print(f"  {kind:<16}{diff:.2e}")
    print(f"  {'all':<16}{max(worst.values()):.2e}")


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
    args = parse_args()
    try:
        from ssimulacra2 import compute_ssimulacra2
    except ImportError:
        print("check_perceptual: the PyPI package ssimulacra2 is not installed (pip install ssimulacra2); skipped")
        return 0
    images = [load_rgb(path) for path in image_paths(args.images)]
    a, b = images[0], compressed(images[0], "JPEG", 50)
    size = f"{a.shape[1]}x{a.shape[0]}"
    checks = []
    with tempfile.TemporaryDirectory() as tmp:
        pypi = through_files(compute_ssimulacra2, Path(tmp))
        worst = worst_differences(images, ssimulacra2, pypi, 1)
        print_worst(f"{len(images)} images; max |ours - PyPI ssimulacra2| by case:", worst)
        checks.append(("max |ours - PyPI|", max(worst.values()), TOLERANCE, False))
        if args.libjxl:
            libjxl = through_files(libjxl_tool(args.libjxl), Path(tmp))
            ours_libjxl: Scorer = lambda x, y: ssimulacra2(x, y, variant="libjxl")  # noqa: E731
            worst = worst_differences(images, ours_libjxl, libjxl, MIN_SIDE)  # the tool refuses under 8 px
            print_worst(f"max |ours (variant='libjxl') - {args.libjxl}| by case:", worst)
            checks.append(("max |ours - libjxl|", max(worst.values()), LIBJXL_TOLERANCE, False))
        pypi_time = timed(lambda: pypi(a, b), 3)
    ours = timed(lambda: ssimulacra2(a, b), args.repeat)
    big_a = tile(images, *BIG)
    big_b = compressed(big_a, "JPEG", 50)
    big = timed(lambda: ssimulacra2(big_a, big_b), 1)
    print(f"s per pair, wall / CPU: {size} ours {ours[0]:.3f} / {ours[1]:.3f}, ", end="")
    print(f"PyPI {pypi_time[0]:.3f} / {pypi_time[1]:.3f} (with two PNG writes); 12 MP ours {big[0]:.2f} / {big[1]:.2f}")
    checks.append((f"CPU s per {size} pair", ours[1], TIME_TARGET, False))
    return 1 if print_verdicts(checks) else 0


if __name__ == "__main__":
    raise SystemExit(main())
