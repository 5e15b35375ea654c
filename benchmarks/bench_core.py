"""Issue 2 figures: rate-distortion against uniform JPEG, and speed ratios, in one run.

    python benchmarks/bench_core.py [--images DIR] [--repeat N]

Importance mask: the top 35% of 16x16 blocks by mean gradient magnitude, given
to encode(mask=...); fg 90 / bg 30; baseline Pillow JPEG with optimize=True.
Exits 1 if a figure misses its target.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import image_paths, load_rgb, parse_args, print_verdicts, tile  # noqa: E402

import regioncodec  # noqa: E402
from regioncodec.metrics import importance_mask, psnr  # noqa: E402
from regioncodec.report import at_most, paired_ratios, peer_encode, pillow_decode  # noqa: E402

FG, BG = 90, 30


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


def speed(image: np.ndarray, repeat: int) -> dict[str, float]:
    """Encode and decode time as ratios to one Pillow JPEG encode (q90, optimize) and one decode."""
    mask = importance_mask(image)
    jpeg = pillow_jpeg_bytes(image, FG)
    ours = regioncodec.encode(image, fg_quality=FG, bg_quality=BG)
    encode_ratios = paired_ratios(
        lambda: pillow_jpeg_bytes(image, FG),
        {
            "encode": lambda: regioncodec.encode(image, fg_quality=FG, bg_quality=BG),
            "encode_mask": lambda: regioncodec.encode(image, mask=mask, fg_quality=FG, bg_quality=BG),
            "segment": lambda: regioncodec.segment(image),
        },
        repeat,
    )
    decode_ratios = paired_ratios(lambda: pillow_decode(jpeg), {"decode": lambda: regioncodec.decode(ours)}, repeat)
    return {**encode_ratios, **decode_ratios, "segment_share": encode_ratios["segment"] / encode_ratios["encode"]}


def main() -> int:
    args = parse_args(__doc__, repeat=41)
    paths = image_paths(args.images)
    print(f"regioncodec {regioncodec.__version__}: {len(paths)} images from {paths[0].parent}\n")
    rows = rate_distortion(paths)
    mean = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
    worst_fg = min(r["fg_vs_j90"] for r in rows)
    worst_bg = min(r["bg_vs_j30"] for r in rows)
    images = [load_rgb(p) for p in paths]
    small = speed(images[0], args.repeat)
    large = speed(tile(images, 3072, 4096), max(3, args.repeat // 5))
    checks = [
        ("foreground PSNR vs uniform J90, worst image (dB)", worst_fg, -0.05, True),
        ("background PSNR vs uniform J30, worst image (dB)", worst_bg, -0.5, True),
        ("mean byte saving vs uniform J90", mean["saving"], 0.30, True),
        ("mean foreground PSNR gain at equal bytes (dB)", mean["eq_gain"], 2.8, True),
        ("encode / Pillow encode, 768x512", small["encode"], 2.5, False),
        ("decode / Pillow decode, 768x512", small["decode"], 2.0, False),
    ]
    print(f"\nmean overhead {mean['overhead']:.0f} bytes per file ({mean['overhead'] / mean['bytes']:.2%} of the file)")
    print(f"\n{'speed ratio (median of paired runs)':<34}{'768x512':>10}{'4096x3072':>11}")
    for key, label in (
        ("encode", "encode (segmenting) / Pillow enc"),
        ("encode_mask", "encode (mask given) / Pillow enc"),
        ("decode", "decode / Pillow dec"),
        ("segment_share", "segmentation share of encode"),
    ):
        print(f"{label:<34}{small[key]:>10.2f}{large[key]:>11.2f}")
    missed = print_verdicts(checks)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
