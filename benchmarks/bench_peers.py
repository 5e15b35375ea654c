"""Issue 4 figures: regioncodec against uniform JPEG, jpegli, WebP and AVIF at equal bytes, in one run.

    python benchmarks/bench_peers.py [--images DIR] [--out DIR]

Importance mask (top 35% of 16x16 blocks by gradient) given as mask=; fg 90 /
bg 30; peers are Pillow with default effort (WebP method 4, AVIF speed 6) and
jpegli when pyjpegli is installed, each at the highest quality whose file is
no larger than ours. Writes CONFIG.csv and CONFIG.md per configuration to
--out (default bench-out/peers) and exits 1 if a figure misses its target.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import image_paths, load_rgb, print_verdicts  # noqa: E402

import regioncodec  # noqa: E402
from regioncodec import EncodeSettings, report  # noqa: E402
from regioncodec.metrics import importance_mask, psnr  # noqa: E402

FG, BG = 90, 30
CONFIGS = {
    "jpeg": {},
    "jpeg+transition": {"transition": True},
    "webp": {"codec": "webp"},
    "avif": {"codec": "avif"},
}
TARGET_BPP = (0.5, 1.0, 2.0)


def run_config(
    name: str, options: dict[str, object], images: list[tuple[str, np.ndarray]]
) -> tuple[list[report.Row], dict[str, float], float, float, float]:
    """Compare one configuration with every peer available on every image and print the figures.

    Returns the rows, the mean fg gain per peer, the worst background guard, the mean band gain and mean step ratio.
    """
    peers = [p for p in report.PEERS if report.peer_available(p)]
    rows: list[report.Row] = []
    guard = []
    codec = str(options.get("codec", "jpeg"))
    for stem, image in images:
        mask = importance_mask(image)
        settings = EncodeSettings(fg_quality=FG, bg_quality=BG, **options)  # type: ignore[arg-type]
        found = report.compare(stem, image, mask, settings, peers, repeat=1)
        rows += found
        uniform_bg = report.pillow_decode(report.peer_encode(image, codec, BG))
        guard.append(found[0].psnr_bg - psnr(image, uniform_bg, ~mask))
    gains = {peer: float(np.mean([g[0] for g in values])) for peer, values in report.fg_gains(rows).items()}
    ours = [r for r in rows if r.coder == "regioncodec"]
    jpeg = {r.image: r for r in rows if r.coder == "jpeg"}
    band = [r.psnr_band - jpeg[r.image].psnr_band for r in ours if r.image in jpeg]
    step = [r.seam_step / jpeg[r.image].seam_step for r in ours if r.image in jpeg]
    print(f"\n== {name}: {len(images)} images, mean {np.mean([r.bpp for r in ours]):.3f} bpp")
    print("mean fg PSNR gain at equal bytes: " + ", ".join(f"{p} {g:+.2f} dB" for p, g in gains.items()))
    print(f"background PSNR vs uniform {codec} q{BG}: worst {min(guard):+.2f} dB, mean {np.mean(guard):+.2f} dB")
    print(f"8 px band PSNR vs uniform JPEG at equal bytes: mean {np.mean(band):+.2f} dB, worst {min(band):+.2f} dB")
    print(f"seam step error / uniform JPEG's: mean {np.mean(step):.2f}, worst {max(step):.2f}")
    return rows, gains, min(guard), float(np.mean(band)), float(np.mean(step))


def target_sizes(images: list[tuple[str, np.ndarray]]) -> list[float]:
    """File size / target for targets of TARGET_BPP bits per pixel on every image."""
    ratios = []
    for _, image in images:
        for bpp in TARGET_BPP:
            target = int(bpp * image.shape[0] * image.shape[1] / 8)
            ratios.append(len(regioncodec.encode(image, mask=importance_mask(image), target_size=target)) / target)
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, help="folder of images (default: ../shared/images/kodak, else samples/)")
    parser.add_argument("--out", type=Path, default=Path("bench-out/peers"), help="where to write CSV and markdown")
    args = parser.parse_args()
    paths = image_paths(args.images)
    images = [(p.stem, load_rgb(p)) for p in paths]
    print(f"regioncodec {regioncodec.__version__}: {len(paths)} images from {paths[0].parent}")
    print("peers available: " + ", ".join(p for p in report.PEERS if report.peer_available(p)))
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name, options in CONFIGS.items():
        rows, gains, guard, band, step = run_config(name, options, images)
        results[name] = (gains, guard, band, step)
        (args.out / f"{name}.csv").write_text(report.csv_text(rows))
        (args.out / f"{name}.md").write_text(report.markdown(rows))
    landed = target_sizes(images)
    print(f"\ntarget_size at {TARGET_BPP} bpp: size/target from {min(landed):.3f} to {max(landed):.3f}")
    checks = [(f"{name}: background vs uniform {name.split('+')[0]} q{BG}, worst (dB)", r[1], -0.5, True)
              for name, r in results.items()]  # fmt: skip
    checks += [
        ("jpeg: fg gain over uniform WebP (dB)", results["jpeg"][0]["webp"], 1.0, True),
        ("jpeg: fg gain over uniform AVIF (dB)", results["jpeg"][0]["avif"], 0.5, True),
        ("avif: fg gain over uniform AVIF (dB)", results["avif"][0]["avif"], 2.0, True),
        ("target_size: smallest size/target", min(landed), 0.95, True),
        ("target_size: largest size/target", max(landed), 1.0, False),
        ("jpeg: band PSNR - uniform JPEG's (dB)", results["jpeg"][2], 0.0, True),
        ("jpeg+transition: band PSNR - uniform JPEG's (dB)", results["jpeg+transition"][2], 0.0, True),
        ("jpeg+transition: seam step / uniform JPEG's", results["jpeg+transition"][3], 1.0, False),
    ]
    missed = print_verdicts(checks)
    print(f"\nper-image tables: {args.out}/*.md")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
