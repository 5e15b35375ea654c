"""What the benchmarks share: where the images are, large test images, settled timings, verdicts (baselines: report)."""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image

from regioncodec import threads

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


def resized(image: np.ndarray, long_side: int, short_side: int) -> np.ndarray:
    """image resized (bicubic) to long_side x short_side, portrait images kept portrait: e.g. Kodak at 12 MP."""
    height, width = image.shape[:2]
    size = (long_side, short_side) if width >= height else (short_side, long_side)
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC))


SETTLED_SPREAD = 0.10  # the pairs agree when their interquartile range is within 10% of their median
FIRST_PAIRS = 7  # paired runs before the spread is first looked at: enough for quartiles to mean something
PAIRS_PER_ROUND = 4  # further pairs between looks


class Settled(NamedTuple):
    """Medians of paired ratios (wall time, CPU time of all threads), their spread, pairs, and whether they agreed."""

    ratio: float
    cpu: float  # what the ratio would be if every thread shared one core
    spread: float  # interquartile range / median of the wall ratios
    pairs: int
    agreed: bool


def settled_ratio(baseline: Callable[[], object], run: Callable[[], object], most: int) -> Settled:
    """Median of (run time / baseline time just before it), paired runs repeated until they agree or most are spent.

    Pairing cancels what a shared machine does to absolute times between one
    moment and the next (as report.paired_ratios); repeating until the
    interquartile range is within SETTLED_SPREAD of the median says how far
    the figure can be trusted, and a figure that did not settle says so.
    """
    ratios: list[float] = []
    cpu: list[float] = []
    while True:
        for _ in range(FIRST_PAIRS if not ratios else PAIRS_PER_ROUND):
            start, start_cpu = time.perf_counter(), time.process_time()
            baseline()
            middle, middle_cpu = time.perf_counter(), time.process_time()
            run()
            ratios.append((time.perf_counter() - middle) / (middle - start))
            cpu.append((time.process_time() - middle_cpu) / max(middle_cpu - start_cpu, 1e-9))
        quartiles = statistics.quantiles(ratios, n=4)
        median = statistics.median(ratios)
        spread = (quartiles[2] - quartiles[0]) / median
        if spread <= SETTLED_SPREAD or len(ratios) >= most:
            return Settled(median, statistics.median(cpu), spread, len(ratios), spread <= SETTLED_SPREAD)


def two_thread_gain(image: np.ndarray, repeat: int = 5) -> float:
    """Median over repeats of (two JPEG encodes of image on one thread) / (the two on two threads at once): what a
    second core gives now.

    The encodes are OpenCV's, which release the GIL: on an idle 2-core
    machine this is about 2.0; when other work holds the cores, less.
    (Pillow's encode into BytesIO and its decode hold the GIL, and measure
    about 1.0 on an idle machine: they would say nothing of the load.)
    """
    gains = []
    for _ in range(repeat):
        start = time.perf_counter()
        _opencv_jpeg(image)
        _opencv_jpeg(image)
        middle = time.perf_counter()
        helper = threading.Thread(target=_opencv_jpeg, args=(image,))
        helper.start()
        _opencv_jpeg(image)
        helper.join()
        gains.append((middle - start) / (time.perf_counter() - middle))
    return statistics.median(gains)


def _opencv_jpeg(image: np.ndarray) -> None:
    """One JPEG encode by OpenCV's libjpeg-turbo, with the GIL released."""
    cv2.imencode(".jpg", image)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, and the cores: how busy the machine was."""
    if not hasattr(os, "getloadavg"):
        return "unknown"
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {threads.cores()} cores"


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
