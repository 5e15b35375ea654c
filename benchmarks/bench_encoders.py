"""Which JPEG encoder for the layers: libjpeg-turbo's tables, jpegli, or our matched tables (issue 4).

    python benchmarks/bench_encoders.py [--images DIR]

Every image is coded whole (one region) and its RD curve compared with
libjpeg-turbo's standard tables (Pillow, optimize=True) at equal bytes, by
interpolating PSNR over log-bytes. jpegli needs pyjpegli (the [report]
extra). Progressive scans are measured on our layers for bytes and decode time.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import image_paths, load_rgb  # noqa: E402

import regioncodec  # noqa: E402
from regioncodec import container, report  # noqa: E402
from regioncodec.metrics import psnr  # noqa: E402

QUALITIES = (20, 30, 45, 60, 75, 85, 90, 95)
REPORTED = (30, 60, 90)


def curve(image: np.ndarray, coder: str) -> list[tuple[int, float]]:
    """(bytes, PSNR) of image coded whole by coder at each of QUALITIES."""
    points = []
    whole = np.ones(image.shape[:2], bool)
    for quality in QUALITIES:
        if coder == "regioncodec":
            data = regioncodec.encode(image, mask=whole, fg_quality=quality)
            decoded = regioncodec.decode(data)
        else:
            data = report.peer_encode(image, coder, quality)
            decoded = report.pillow_decode(data)
        points.append((len(data), psnr(image, decoded)))
    return points


def gain_at(points: list[tuple[int, float]], reference: list[tuple[int, float]], index: int) -> float:
    """PSNR of points at the bytes of reference's index-th point, minus reference's PSNR there."""
    size, quality = reference[index]
    ordered = sorted(points)
    return float(np.interp(np.log(size), np.log([p[0] for p in ordered]), [p[1] for p in ordered])) - quality


def progressive(image: np.ndarray) -> tuple[float, float]:
    """(bytes ratio, decode time ratio) of our q90 layers re-coded with progressive scans."""
    parsed = container.read(regioncodec.encode(image, mask=np.ones(image.shape[:2], bool)))
    ratios, times = [], []
    for stream in parsed.layers[1].streams:
        with Image.open(io.BytesIO(stream)) as plane:
            table, pixels = plane.quantization, plane.copy()
        out = io.BytesIO()
        pixels.save(out, "JPEG", qtables=table, optimize=True, progressive=True)
        ratios.append(len(out.getvalue()) / len(stream))
        timed = []
        for data in (stream, out.getvalue()):
            start = time.perf_counter()
            for _ in range(5):
                report.pillow_decode(data)
            timed.append(time.perf_counter() - start)
        times.append(timed[1] / timed[0])
    return float(np.mean(ratios)), float(np.mean(times))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, help="folder of images (default: ../shared/images/kodak, else samples/)")
    args = parser.parse_args()
    coders = ["regioncodec"] + [c for c in ("jpegli",) if report.peer_available(c)]
    gains: dict[str, list[list[float]]] = {c: [] for c in coders}
    prog = []
    for path in image_paths(args.images):
        image = load_rgb(path)
        reference = curve(image, "jpeg")
        for coder in coders:
            points = curve(image, coder)
            gains[coder].append([gain_at(points, reference, QUALITIES.index(q)) for q in REPORTED])
        prog.append(progressive(image))
        print(f"{path.stem}: " + ", ".join(f"{c} {np.round(gains[c][-1], 2).tolist()}" for c in coders), flush=True)
    print(f"\nPSNR gain over libjpeg-turbo's standard tables at equal bytes (dB), at the bytes of its q{REPORTED}:")
    for coder in coders:
        print(
            f"  {coder:<12}"
            + "  ".join(f"q{q}: {g:+.2f}" for q, g in zip(REPORTED, np.mean(gains[coder], 0), strict=True))
        )
    bytes_ratio, decode_ratio = np.mean(prog, axis=0)
    print(f"progressive scans on our q90 layers: bytes x{bytes_ratio:.3f}, Pillow decode time x{decode_ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
