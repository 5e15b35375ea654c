"""The table `make demo` prints: each sample against its .rgc and a uniform JPEG at the fg quality.

    python benchmarks/demo_table.py SAMPLES_DIR OUT_DIR

OUT_DIR holds NAME.rgc and NAME.png for each SAMPLES_DIR/NAME.jpg, as the
Makefile's demo target writes them with rcodec.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import load_rgb  # noqa: E402

import regioncodec  # noqa: E402
from regioncodec.metrics import psnr  # noqa: E402
from regioncodec.report import peer_encode  # noqa: E402


def main(samples: Path, out: Path) -> int:
    columns = ("pixels", "input B", ".rgc B", "JPEG q90 B", "saving", "fg PSNR", "bg PSNR", "fg share")
    header = f"{'file':<14}" + "".join(f"{c:>11}" for c in columns)
    print(header)
    print("-" * len(header))
    for source in sorted(samples.glob("*.jpg")):
        data = (out / f"{source.stem}.rgc").read_bytes()
        info = regioncodec.read_info(data)
        original = load_rgb(source)
        decoded = load_rgb(out / f"{source.stem}.png")
        fg = regioncodec.read_mask(data)
        fg_quality = info.regions[-1].quality  # the foreground is the last region
        uniform = len(peer_encode(original, "jpeg", fg_quality))
        cells = (
            f"{original.shape[0] * original.shape[1]:>11,}{source.stat().st_size:>11,}{len(data):>11,}{uniform:>11,}"
            f"{1 - len(data) / uniform:>11.1%}{psnr(original, decoded, fg):>11.2f}{psnr(original, decoded, ~fg):>11.2f}"
            f"{info.fg_fraction:>11.1%}"
        )
        print(f"{source.name:<14}{cells}")
    print(
        "\nsaving: bytes saved against a uniform JPEG at the foreground quality (Pillow, optimize=True); "
        "PSNR in dB inside and outside the foreground mask stored in the .rgc"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    raise SystemExit(main(Path(sys.argv[1]), Path(sys.argv[2])))
