"""rcodec decode: a .rgc file to an ordinary image file."""

from __future__ import annotations

import argparse

from . import common

EXAMPLES = """examples:
  rcodec decode photo.rgc photo.png
  rcodec decode photo.rgc photo.tif --force
  rcodec decode photo.rgc - --format webp | upload      # standard output (PNG unless --format)"""


def arguments(parser: argparse.ArgumentParser) -> None:
    """IN.rgc, OUT, --format, --max-pixels, --strip."""
    parser.description = (
        "Decode IN.rgc (- for standard input) to OUT, in the format its extension (or --format) names; "
        "- writes to standard output, a folder gets IN's name."
    )
    parser.epilog = EXAMPLES
    common.paths(parser, "IN.rgc", "OUT", stdio=True)
    common.format_flag(parser)
    common.max_pixels_flag(parser)
    parser.add_argument("--strip", action="store_true", help="write no metadata (EXIF, ICC profile, XMP) into OUT")


def run(args: argparse.Namespace) -> None:
    """Decode IN to OUT; say which metadata OUT's format could not hold."""
    from ..imagefiles import decode_data

    output, into_folder = common.output_of(args, f".{(args.format or common.DEFAULT_IMAGE_FORMAT).lower()}")
    image_format = common.image_format(args, output)  # a usage error before any work
    data = common.read_input(args)
    _, name = common.input_of(args)
    with common.quiet_c_stderr(unless=args.debug):
        image, unwritten = decode_data(data, name, image_format, strip=args.strip, max_pixels=args.max_pixels)
    common.write(output, lambda handle: handle.write(image), args)
    if into_folder:
        common.note(f"wrote {output}")
    if unwritten:
        common.note(f"{output or common.STDOUT} cannot hold {', '.join(unwritten)}; written without")
