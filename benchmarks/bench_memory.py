"""Issue 5 figure: peak memory of decoding a 50-megapixel file, as a multiple of the decoded image's bytes.

    python benchmarks/bench_memory.py [--images DIR] [--megapixels N]

Each file (RGB, and its greyscale twin) is decoded in a fresh child process:
after the imports and after reading the file, the child resets the kernel's
peak-RSS mark (/proc/self/clear_refs), decodes, and reports the peak (VmHWM)
minus the RSS just before decoding. Linux only. Exits 1 if a ratio misses 3.0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import image_paths, load_rgb, tile, verdict  # noqa: E402

import regioncodec  # noqa: E402

TARGET = 3.0  # issue 5: peak decode memory <= 3x the decoded image
CHILD = """
import json, sys
import regioncodec

def kib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

data = open(sys.argv[1], "rb").read()
before = kib("VmRSS")
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # reset VmHWM to the current RSS
image = regioncodec.decode(data)
print(json.dumps({"peak": (kib("VmHWM") - before) * 1024, "image": image.nbytes, "file": len(data)}))
"""


def peak_ratio(data: bytes) -> dict[str, float]:
    """Decode data in a child process; its peak memory increase, image and file bytes, and the ratio."""
    with tempfile.NamedTemporaryFile(suffix=".rgc") as handle:
        handle.write(data)
        handle.flush()
        done = subprocess.run([sys.executable, "-c", CHILD, handle.name], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    return {**result, "ratio": result["peak"] / result["image"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, help="folder of images (default: ../shared/images/kodak, else samples/)")
    parser.add_argument("--megapixels", type=float, default=50.0, help="size of the decoded image")
    args = parser.parse_args()
    width = int((args.megapixels * 1e6 * 4 / 3) ** 0.5) // 16 * 16
    height = int(args.megapixels * 1e6 / width)
    rgb = tile([load_rgb(p) for p in image_paths(args.images)], height, width)
    print(f"{width}x{height} ({width * height / 1e6:.1f} MP), fg 90 / bg 30, segmented by encode\n")
    print(f"{'mode':<6}{'file MB':>9}{'image MB':>10}{'peak MB':>9}{'ratio':>7}{'target':>8}  verdict")
    missed = 0
    for mode, image in (("RGB", rgb), ("L", np.ascontiguousarray(rgb[..., 1]))):
        result = peak_ratio(regioncodec.encode(image, fg_quality=90, bg_quality=30))
        result_verdict = verdict(result["ratio"], TARGET, higher_is_better=False)
        missed += result_verdict != "ok"
        print(
            f"{mode:<6}{result['file'] / 1e6:>9.1f}{result['image'] / 1e6:>10.1f}{result['peak'] / 1e6:>9.1f}"
            f"{result['ratio']:>7.2f}{TARGET:>8.2f}  {result_verdict}"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
