"""Issue 2 figures: rate-distortion against uniform JPEG, and speed ratios, in one run.

    python benchmarks/bench_core.py [--images DIR] [--repeat N]

Importance mask: the top 35% of 16x16 blocks by mean gradient magnitude, given
to encode(mask=...); fg 90 / bg 30; baseline Pillow JPEG with optimize=True.
Speed is measured on every image as it is (768x512) and resized to 12 MP
(4096x3072): for each, paired runs (ours timed right after one Pillow JPEG
encode or decode of the same image) repeat until their interquartile range is
within 10% of their median, or --repeat pairs (a quarter of that at 12 MP) are
spent; the median over the images is judged, the worst image shown beside it,
with the load average before and after. Exits 1 if a figure misses its target.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    Settled,
    image_paths,
    load_average,
    load_rgb,
    parse_args,
    print_verdicts,
    resized,
    settled_ratio,
    two_thread_gain,
)

import regioncodec  # noqa: E402
from regioncodec.metrics import importance_mask, psnr  # noqa: E402
from regioncodec.report import at_most, peer_encode, pillow_decode  # noqa: E402

FG, BG = 90, 30
LARGE = (4096, 3072)  # 12 MP: each image resized to this (portrait ones kept portrait)
FIRST_LARGE_PAIRS = 7  # at 12 MP a pair takes about half a second: --repeat / 4 pairs at most, but never under 7
SPEEDS = (  # what is timed, its label, and its target ratio at 768x512 and at 12 MP (issue: speed)
    ("encode_mask", "encode (mask given) / Pillow encode", 1.3, 0.7),
    ("encode", "encode (segmenting) / Pillow encode", 1.4, 0.7),
    ("decode", "decode / Pillow decode", 1.0, 0.5),
)


def pillow_jpeg_bytes(image: np.ndarray, quality: int) -> bytes:
    """The baseline: a uniform JPEG of image with Pillow (libjpeg-turbo), optimize=True."""
    return peer_encode(image, "jpeg", quality)


def rate_distortion(paths: list[Path]) -> list[dict[str, float]]:
    """Per image: sizes, fidelity against uniform JPEG, and the fg gain at equal bytes."""
    rows = []
    columns = ("ours B", "J90 B", "saving", "fg-J90", "bg-J30", "eq q", "eq gain", "ovh B")
    print(f"{'image':<10}" + "".join(f"{c:>9}" for c in columns))
    for path in paths:
        image = load_rgb(path)
        mask = importance_mask(image)
        data = regioncodec.encode(image, mask=mask, fg_quality=FG, bg_quality=BG)
        out = regioncodec.decode(data)
        j90, j30 = pillow_jpeg_bytes(image, FG), pillow_jpeg_bytes(image, BG)
        eq_q, eq = at_most(len(data), partial(pillow_jpeg_bytes, image)) or (1, pillow_jpeg_bytes(image, 1))
        row = {
            "bytes": len(data),
            "j90": len(j90),
            "saving": 1 - len(data) / len(j90),
            "fg_vs_j90": psnr(image, out, mask) - psnr(image, pillow_decode(j90), mask),
            "bg_vs_j30": psnr(image, out, ~mask) - psnr(image, pillow_decode(j30), ~mask),
            "eq_q": eq_q,
            "eq_gain": psnr(image, out, mask) - psnr(image, pillow_decode(eq), mask),
            "overhead": regioncodec.read_info(data).overhead_bytes,
        }
        rows.append(row)
        cells = (
            f"{row['bytes']:>9}{row['j90']:>9}{row['saving']:>9.1%}{row['fg_vs_j90']:>+9.3f}{row['bg_vs_j30']:>+9.3f}"
            f"{row['eq_q']:>9}{row['eq_gain']:>+9.2f}{row['overhead']:>9}"
        )
        print(f"{path.stem:<10}{cells}")
    return rows


def speed(images: list[np.ndarray], most: int) -> dict[str, list[Settled]]:
    """Per image, settled ratios of our encode (mask given, segmenting) and decode to one Pillow encode and decode."""
    results: dict[str, list[Settled]] = {key: [] for key, *_ in SPEEDS}
    for image in images:
        mask = importance_mask(image)
        jpeg = pillow_jpeg_bytes(image, FG)
        ours = regioncodec.encode(image, fg_quality=FG, bg_quality=BG)

        def pillow_encode(image: np.ndarray = image) -> bytes:
            return pillow_jpeg_bytes(image, FG)

        runs = {
            "encode_mask": (pillow_encode, partial(regioncodec.encode, image, mask=mask, fg_quality=FG, bg_quality=BG)),
            "encode": (pillow_encode, partial(regioncodec.encode, image, fg_quality=FG, bg_quality=BG)),
            "decode": (partial(pillow_decode, jpeg), partial(regioncodec.decode, ours)),
        }
        for key, (baseline, run) in runs.items():
            results[key].append(settled_ratio(baseline, run, most))
    return results


def print_speed(sizes: dict[str, tuple[list[str], dict[str, list[Settled]]]]) -> None:
    """The median and worst image of each speed ratio at each size, and how many figures settled."""
    print(f"\n{'speed ratio: median over images (worst)':<40}" + "".join(f"{size:>26}" for size in sizes))
    for key, label, *_ in SPEEDS:
        cells = []
        for names, results in sizes.values():
            ratios = [r.ratio for r in results[key]]
            worst = int(np.argmax(ratios))
            cells.append(f"{np.median(ratios):.2f} ({ratios[worst]:.2f} {names[worst]})")
        print(f"{label:<40}" + "".join(f"{cell:>26}" for cell in cells))
    print("CPU time of all threads instead (what one core would give):")
    for key, label, *_ in SPEEDS:
        cells = [f"{np.median([r.cpu for r in results[key]]):.2f}" for _, results in sizes.values()]
        print(f"{'  ' + label:<40}" + "".join(f"{cell:>26}" for cell in cells))
    for size, (_, results) in sizes.items():
        settled = [r for figures in results.values() for r in figures]
        agreed = sum(r.agreed for r in settled)
        pairs = [r.pairs for r in settled]
        spreads = [r.spread for r in settled]
        print(
            f"{size}: {agreed}/{len(settled)} image figures settled (IQR within 10% of the median; "
            f"{min(pairs)}-{max(pairs)} pairs each; IQR/median up to {max(spreads):.0%})"
        )
        if agreed < len(settled):
            print(f"{size}: the others could not settle in the pairs allowed; their medians are reported as they are")


def main() -> int:
    args = parse_args(__doc__, repeat=41)
    paths = image_paths(args.images)
    print(f"regioncodec {regioncodec.__version__}: {len(paths)} images from {paths[0].parent}\n")
    rows = rate_distortion(paths)
    mean = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
    worst_fg = min(r["fg_vs_j90"] for r in rows)
    worst_bg = min(r["bg_vs_j30"] for r in rows)
    images = [load_rgb(p) for p in paths]
    print(f"\nload average before timing: {load_average()}; two threads gain {two_thread_gain(images[0]):.2f}x now")
    names = [p.stem for p in paths]
    small = speed(images, args.repeat)
    large = speed([resized(image, *LARGE) for image in images], max(FIRST_LARGE_PAIRS, args.repeat // 4))
    after = f"{load_average()}; two threads gain {two_thread_gain(images[0]):.2f}x now"
    checks = [
        ("foreground PSNR vs uniform J90, worst image (dB)", worst_fg, -0.05, True),
        ("background PSNR vs uniform J30, worst image (dB)", worst_bg, -0.5, True),
        ("mean byte saving vs uniform J90", mean["saving"], 0.30, True),
        ("mean foreground PSNR gain at equal bytes (dB)", mean["eq_gain"], 2.8, True),
    ]
    for key, label, small_target, large_target in SPEEDS:
        checks.append(
            (f"{label}, 768x512, median", float(np.median([r.ratio for r in small[key]])), small_target, False)
        )
        checks.append((f"{label}, 12 MP, median", float(np.median([r.ratio for r in large[key]])), large_target, False))
    print(f"\nmean overhead {mean['overhead']:.0f} bytes per file ({mean['overhead'] / mean['bytes']:.2%} of the file)")
    print_speed({"768x512": (names, small), "4096x3072": (names, large)})
    print(f"load average after timing: {after}")
    missed = print_verdicts(checks)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
