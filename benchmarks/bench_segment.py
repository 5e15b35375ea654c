"""Issue 3 figures: segmentation quality on scenes with a known object, and segmentation speed, in one run.

    python benchmarks/bench_segment.py [--images DIR] [--repeat N]

IoU of each method against the true object of its synthetic 512x384 scene
(tests/scenes.py, the scenes the tests check); the share of the frame that
faces marks on samples/kodim04.jpg; and the time each method takes as a share
of a whole regioncodec.encode of the same image (default method, fg 90 / bg
30), timed in pairs, on one Kodak image and on a 4096x3072 mosaic of them.
Exits 1 if a figure misses its target.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import ROOT, image_paths, load_rgb, parse_args, print_verdicts, tile  # noqa: E402

import regioncodec  # noqa: E402
from regioncodec.report import paired_ratios  # noqa: E402
from tests.scenes import SCENES, iou, odd_disc  # noqa: E402

FG, BG = 90, 30
EDGES_SHARE_TARGET = 0.30  # edges may take at most this share of encode's time on 12 megapixels
FACE_SHARE = (0.005, 0.40)  # faces must mark between 0.5% and 40% of kodim04


def scene_ious() -> list[tuple[str, float, float | None]]:
    """(method, IoU, target) on each method's scene; saliency on its odd-one-out scene, with no target."""
    rows: list[tuple[str, float, float | None]] = []
    for method, (scene, target) in SCENES.items():
        image, truth = scene()
        rows.append((method, iou(regioncodec.segment(image, method), truth), target))
    image, truth = odd_disc()
    rows.append(("saliency", iou(regioncodec.segment(image, "saliency"), truth), None))
    return rows


def time_shares(image: np.ndarray, repeat: int) -> dict[str, float]:
    """Each method's segmentation time over the time of one whole encode, median of paired runs."""
    runs = {m: (lambda m=m: regioncodec.segment(image, m)) for m in [*regioncodec.METHODS, "faces+edges"]}
    return paired_ratios(lambda: regioncodec.encode(image, fg_quality=FG, bg_quality=BG), runs, repeat)


def main() -> int:
    args = parse_args(__doc__, repeat=21)
    paths = image_paths(args.images)
    images = [load_rgb(p) for p in paths]
    print(f"regioncodec {regioncodec.__version__}: timing on {len(paths)} images from {paths[0].parent}\n")

    ious = scene_ious()
    print(f"{'IoU against the true object (512x384 scenes)':<46}{'IoU':>7}{'target':>8}")
    for method, value, target in ious:
        print(f"{method:<46}{value:>7.3f}{'-' if target is None else f'{target:.2f}':>8}")
    face_share = float(regioncodec.segment(load_rgb(ROOT / "samples" / "kodim04.jpg"), "faces").mean())
    print(f"\nfaces on kodim04: {face_share:.1%} of the frame (target {FACE_SHARE[0]:.1%} to {FACE_SHARE[1]:.0%})")

    small = time_shares(images[0], args.repeat)
    large = time_shares(tile(images, 3072, 4096), max(3, args.repeat // 3))
    print(f"\n{'segmentation time / encode time (paired medians)':<50}{'768x512':>9}{'4096x3072':>11}")
    for method in small:
        print(f"{method:<50}{small[method]:>9.3f}{large[method]:>11.3f}")

    checks = [(f"IoU {method}", value, target, True) for method, value, target in ious if target is not None]
    checks += [
        ("faces share of kodim04, at least", face_share, FACE_SHARE[0], True),
        ("faces share of kodim04, at most", face_share, FACE_SHARE[1], False),
        ("edges time / encode time, 4096x3072", large["edges"], EDGES_SHARE_TARGET, False),
    ]
    return 1 if print_verdicts(checks) else 0


if __name__ == "__main__":
    raise SystemExit(main())
