"""rcodec decode: a .rgc file to an ordinary image file."""

from __future__ import annotations

import argparse
import sys

from . import common

EXAMPLES = """examples:
  rcodec decode photo.rgc photo.png
  rcodec decode photo.rgc photo.tif --force"""


def arguments(parser: argparse.ArgumentParser) -> None:
    """IN.rgc, OUT, --max-pixels, --strip."""
    parser.description = "Decode IN.rgc to OUT, in the format its extension names (.png, .tif, ...)."
    parser.epilog = EXAMPLES
    common.paths(parser, "IN.rgc", "OUT")
    common.max_pixels_flag(parser)
    parser.add_argument("--strip", action="store_true", help="write no metadata (EXIF, ICC profile, XMP) into OUT")


def run(args: argparse.Namespace) -> None:
    """Decode IN to OUT; say which metadata OUT's format could not hold."""
    from ..imagefiles import decode_file, output_format

    output_format(args.output)  # a usage error before any work
    with common.quiet_c_stderr(unless=args.debug):
        unwritten = decode_file(args.input, args.output, force=args.force, strip=args.strip, max_pixels=args.max_pixels)
    if unwritten:
        print(f"rcodec: note: {args.output} cannot hold {', '.join(unwritten)}; written without", file=sys.stderr)
