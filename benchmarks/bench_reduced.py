"""Reduced-decoding figures: decode(reduce=N) against the full decode at 12 MP, and Pillow thumbnails against JPEG's.

    python benchmarks/bench_reduced.py [--images DIR] [--repeat N]

Speed at 12 MP: every image resized to 4096x3072 (portrait kept portrait) and
encoded with the defaults; for each reduction, paired runs (the reduced
decode timed right after a full decode of the same file) repeat until their
interquartile range is within 10% of their median, or --repeat / 4 pairs
(at least 7) are spent; the median over the images is judged, the worst
image shown beside it. Thumbnails: 100 Image.open(...).thumbnail((160, 160))
of the 768x512 images as .rgc files (defaults) against the same of JPEG
files of them (Pillow, q90), the files taken in turn; pairs repeat the same
way, up to --repeat. Quality (reported): PSNR of each reduced decode against
the full decode averaged down by the same box (reduced.box_reduce), against
Pillow's draft decode of the JPEG q90 file at the same reduction, and of
both against the original averaged down. Memory (reported): the peak RSS
increase of decoding one 12 MP file, full and at 1/8, each in a child
process (Linux). The load average is printed before and after; exits 1 if a
figure misses its target.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

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
from regioncodec import reduced  # noqa: E402
from regioncodec.metrics import psnr  # noqa: E402
from regioncodec.report import peer_encode  # noqa: E402

LARGE = (4096, 3072)  # 12 MP, as the figure
FIRST_LARGE_PAIRS = 7  # at 12 MP a pair takes a tenth of a second or more: --repeat / 4 pairs, never under 7
TARGETS = {2: None, 4: 0.25, 8: 0.15}  # reduced / full decode time at 12 MP (the issue's; 1/2 is reported)
THUMBNAILS = 100  # thumbnails a run makes, as the figure
THUMBNAIL_BOX = (160, 160)
THUMBNAIL_TARGET = 1.2  # 100 .rgc thumbnails / 100 JPEG thumbnails of the same 768x512 images
JPEG_QUALITY = 90  # the JPEG files the thumbnails are compared with
CHILD = """
import json, sys
import regioncodec

def kib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

data = open(sys.argv[1], "rb").read()
regioncodec.decode(regioncodec.encode(regioncodec.decode(data, reduce=8)[:64, :64]))  # libraries loaded
before = kib("VmRSS")
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # reset VmHWM to the current RSS
image = regioncodec.decode(data, reduce=int(sys.argv[2]))
print(json.dumps({"peak": (kib("VmHWM") - before) * 1024}))
"""


def jpeg_bytes(image: np.ndarray) -> bytes:
    """The image as a Pillow JPEG (q90, optimize=True), as the thumbnails' baseline."""
    return peer_encode(image, "jpeg", JPEG_QUALITY)


def jpeg_draft(data: bytes, factor: int) -> np.ndarray:
    """Pillow's reduced decode of a JPEG at 1/factor: draft() to exactly that scale, as thumbnail() would."""
    with Image.open(io.BytesIO(data)) as picture:
        width, height = picture.size
        picture.draft("RGB", (width // factor, height // factor))
        return np.asarray(picture.convert("RGB"))


def quality(images: list[np.ndarray]) -> dict[int, dict[str, list[float]]]:
    """Per reduction, per image: PSNR of ours to the full decode box-reduced, to JPEG's draft, and each to the original
    box-reduced."""
    rows: dict[int, dict[str, list[float]]] = {f: {"full": [], "jpeg": [], "ours": [], "draft": []} for f in TARGETS}
    for image in images:
        data, jpeg = regioncodec.encode(image), jpeg_bytes(image)
        full = regioncodec.decode(data)
        for factor, row in rows.items():
            ours, draft = regioncodec.decode(data, reduce=factor), jpeg_draft(jpeg, factor)
            original = reduced.box_reduce(image, factor)
            row["full"].append(psnr(reduced.box_reduce(full, factor), ours))
            row["jpeg"].append(psnr(draft, ours))
            row["ours"].append(psnr(original, ours))
            row["draft"].append(psnr(original, draft))
    return rows


def print_quality(rows: dict[int, dict[str, list[float]]]) -> None:
    """Median and worst image of each PSNR, per reduction."""
    labels = {
        "full": "ours vs full decode box-reduced",
        "jpeg": "ours vs Pillow JPEG q90 draft",
        "ours": "ours vs original box-reduced",
        "draft": "JPEG q90 draft vs original box-reduced",
    }
    print("\nquality at 768x512, PSNR dB: median over images (worst)")
    print(f"{'':<42}" + "".join(f"{f'1/{factor}':>16}" for factor in rows))
    for key, label in labels.items():
        cells = [f"{np.median(row[key]):.2f} ({min(row[key]):.2f})" for row in rows.values()]
        print(f"{label:<42}" + "".join(f"{cell:>16}" for cell in cells))


def thumbnail_quality(rgc_files: list[bytes], jpeg_files: list[bytes], images: list[np.ndarray]) -> None:
    """PSNR of the .rgc thumbnail (through draft) to the thumbnail of the exact decode, and the JPEG's to the
    original's: what the reduced decode costs a thumbnail, beside what JPEG's draft costs."""
    ours, jpegs = [], []
    for data, jpeg, image in zip(rgc_files, jpeg_files, images, strict=True):
        exact, original = Image.fromarray(regioncodec.decode(data)), Image.fromarray(image)
        for picture in (exact, original):
            picture.thumbnail(THUMBNAIL_BOX)
        with Image.open(io.BytesIO(data)) as rgc, Image.open(io.BytesIO(jpeg)) as baseline:
            rgc.thumbnail(THUMBNAIL_BOX)
            baseline.thumbnail(THUMBNAIL_BOX)
            ours.append(psnr(np.asarray(exact), np.asarray(rgc)))
            jpegs.append(psnr(np.asarray(original), np.asarray(baseline)))
    print(
        f"thumbnails {THUMBNAIL_BOX}, PSNR dB, median (worst): .rgc via draft vs exact decode's thumbnail "
        f"{np.median(ours):.2f} ({min(ours):.2f}); JPEG q{JPEG_QUALITY} vs original's {np.median(jpegs):.2f} "
        f"({min(jpegs):.2f})"
    )


def speed(datas: list[bytes], most: int) -> dict[int, list[Settled]]:
    """Per reduction, per file: the settled ratio of the reduced decode's time to the full decode's."""
    results: dict[int, list[Settled]] = {factor: [] for factor in TARGETS}
    for data in datas:
        for factor, settled in results.items():

            def full(data: bytes = data) -> np.ndarray:
                return regioncodec.decode(data)

            def preview(data: bytes = data, factor: int = factor) -> np.ndarray:
                return regioncodec.decode(data, reduce=factor)

            settled.append(settled_ratio(full, preview, most))
    return results


def thumbnails(files: list[bytes]) -> None:
    """THUMBNAILS Pillow thumbnails of the files, taken in turn."""
    for index in range(THUMBNAILS):
        with Image.open(io.BytesIO(files[index % len(files)])) as picture:
            picture.thumbnail(THUMBNAIL_BOX)


def peak_memory(data: bytes, factor: int) -> int:
    """The peak RSS increase of decoding data at 1/factor, in a child process."""
    with tempfile.NamedTemporaryFile(suffix=".rgc") as handle:
        handle.write(data)
        handle.flush()
        args = [sys.executable, "-c", CHILD, handle.name, str(factor)]
        done = subprocess.run(args, capture_output=True, text=True, check=True)
    return int(json.loads(done.stdout)["peak"])


def main() -> int:
    args = parse_args(__doc__, repeat=41)
    regioncodec.register_pillow()
    paths = image_paths(args.images)
    names = [path.stem for path in paths]
    images = [load_rgb(path) for path in paths]
    print(f"regioncodec {regioncodec.__version__}: {len(paths)} images from {paths[0].parent}")
    print_quality(quality(images))

    rgc_files = [regioncodec.encode(image) for image in images]
    jpeg_files = [jpeg_bytes(image) for image in images]
    thumbnail_quality(rgc_files, jpeg_files, images)
    large = [regioncodec.encode(resized(image, *LARGE)) for image in images]
    print(f"\nload average before timing: {load_average()}; two threads gain {two_thread_gain(images[0]):.2f}x now")
    thumbs = settled_ratio(lambda: thumbnails(jpeg_files), lambda: thumbnails(rgc_files), args.repeat)
    ratios = speed(large, max(FIRST_LARGE_PAIRS, args.repeat // 4))
    after = f"{load_average()}; two threads gain {two_thread_gain(images[0]):.2f}x now"

    print("\nreduced decode / full decode, 4096x3072: median over images (worst), CPU time of all threads")
    for factor, settled in ratios.items():
        wall = [r.ratio for r in settled]
        worst = int(np.argmax(wall))
        cpu = np.median([r.cpu for r in settled])
        agreed = sum(r.agreed for r in settled)
        print(
            f"  1/{factor}: {np.median(wall):.3f} ({wall[worst]:.3f} {names[worst]}), cpu {cpu:.3f}; "
            f"{agreed}/{len(settled)} settled, {min(r.pairs for r in settled)}-{max(r.pairs for r in settled)} pairs"
        )
    print(
        f"{THUMBNAILS} thumbnails {THUMBNAIL_BOX} of 768x512 .rgc / JPEG q{JPEG_QUALITY}: {thumbs.ratio:.3f} "
        f"(cpu {thumbs.cpu:.3f}; {thumbs.pairs} pairs, IQR/median {thumbs.spread:.0%}, "
        f"{'settled' if thumbs.agreed else 'did not settle'})"
    )
    full_peak, reduced_peak = (peak_memory(large[0], factor) / 2**20 for factor in (1, 8))
    print(f"peak memory decoding {names[0]} at 12 MP: full {full_peak:.1f} MiB, 1/8 {reduced_peak:.1f} MiB")
    print(f"load average after timing: {after}")

    checks = [
        (
            f"1/{factor} decode / full decode, 12 MP, median",
            float(np.median([r.ratio for r in ratios[factor]])),
            target,
            False,
        )
        for factor, target in TARGETS.items()
        if target is not None
    ]
    checks.append((f"{THUMBNAILS} thumbnails .rgc / JPEG, 768x512", thumbs.ratio, THUMBNAIL_TARGET, False))
    return 1 if print_verdicts(checks) else 0


if __name__ == "__main__":
    raise SystemExit(main())
