"""The table `make demo` prints: each sample against its .rgc and a uniform JPEG at the fg quality.

    python benchmarks/demo_table.py SAMPLES_DIR OUT_DIR

OUT_DIR holds NAME.rgc and NAME.png for each SAMPLES_DIR/NAME.jpg, as the
Makefile's demo target writes them with rcodec.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import regioncodec  # noqa: E402
from common import load_rgb, pillow_jpeg_bytes  # noqa: E402
from regioncodec.metrics import psnr  # noqa: E402


def main(samples: Path, out: Path) -> int:
    header = f"{'file':<14}{'pixels':>10}{'input B':>10}{'.rgc B':>9}{'JPEG q90 B':>12}{'saving':>8}{'fg PSNR':>9}{'bg PSNR':>9}{'fg share':>10}"
    print(header)
    print("-" * len(header))
    for source in sorted(samples.glob("*.jpg")):
        data = (out / f"{source.stem}.rgc").read_bytes()
        info = regioncodec.inspect(data)
        original = load_rgb(source)
        decoded = load_rgb(out / f"{source.stem}.png")
        fg = regioncodec.read_mask(data)
        fg_quality = info.regions[1].quality
        uniform = len(pillow_jpeg_bytes(original, fg_quality))
        print(
            f"{source.name:<14}{original.shape[0] * original.shape[1]:>10,}{source.stat().st_size:>10,}{len(data):>9,}"
            f"{uniform:>12,}{1 - len(data) / uniform:>8.1%}{psnr(original, decoded, fg):>9.2f}"
            f"{psnr(original, decoded, ~fg):>9.2f}{info.fg_fraction:>10.1%}"
        )
    print(f"\nsaving: bytes saved against a uniform JPEG at the foreground quality (Pillow, optimize=True); "
          f"PSNR in dB inside and outside the foreground mask stored in the .rgc")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    raise SystemExit(main(Path(sys.argv[1]), Path(sys.argv[2])))
