"""rcodec encode: code an image file as .rgc."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import common

EXAMPLES = """examples:
  rcodec encode photo.jpg photo.rgc
  rcodec encode photo.jpg photo.rgc --fg-quality 90 --bg-quality 30
  rcodec encode scan.png scan.rgc --mask scan-mask.png --force
  rcodec encode photo.jpg photo.rgc --target-size 80kB
  rcodec encode photo.jpg photo.rgc --codec avif --levels 3"""


def arguments(parser: argparse.ArgumentParser) -> None:
    """IN, OUT, the encode settings, --mask and --quality-map."""
    parser.description = "Code IN (any image Pillow reads) as OUT.rgc: foreground at one quality, background at another"
    parser.epilog = EXAMPLES
    common.paths(parser, "IN", "OUT")
    common.settings_flags(parser)
    parser.add_argument(
        "--mask",
        type=Path,
        metavar="MASK",
        help="image of the same size whose non-zero pixels are the foreground, used as it is (instead of --method)",
    )
    parser.add_argument(
        "--quality-map",
        type=Path,
        metavar="MAP",
        help="grey image of the same size: 0 = quality 1 ... 255 = quality 100 (instead of qualities and mask)",
    )


def run(args: argparse.Namespace) -> None:
    """Encode IN to OUT."""
    from ..imagefiles import encode_file

    settings = common.settings_from(args)
    encode_file(args.input, args.output, settings, force=args.force, mask=args.mask, quality_map=args.quality_map)
