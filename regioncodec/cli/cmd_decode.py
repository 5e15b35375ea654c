"""rcodec decode: a .rgc file to an ordinary image file."""

from __future__ import annotations

import argparse

from ..codecs.jpeg import REDUCTIONS
from . import common

EXAMPLES = """examples:
  rcodec decode photo.rgc photo.png
  rcodec decode photo.rgc photo.jpg                     # at the file's foreground quality
  rcodec decode photo.rgc photo.jpg -q 95 --force
  rcodec decode logo.rgc logo.jpg --background '#202020'  # transparent pixels onto dark grey
  rcodec decode photo.rgc - --format webp | upload      # standard output (PNG unless --format)
  rcodec decode photo.rgc thumb.jpg --reduce 8          # a quick preview at 1/8 of the size"""


def colour(text: str) -> tuple[int, int, int]:
    """argparse type: a colour as Pillow names it (white, #rrggbb, rgb(r,g,b)), as RGB."""
    from PIL import ImageColor

    red, green, blue, *_ = ImageColor.getrgb(text)
    return red, green, blue


def arguments(parser: argparse.ArgumentParser) -> None:
    """IN.rgc, OUT, --format, -q, --background, --reduce, --max-pixels, --strip."""
    from ..imagefiles import LOSSY_FORMATS

    parser.description = (
        "Decode IN.rgc (- for standard input) to OUT, in the format its extension (or --format) names; "
        "- writes to standard output, a folder gets IN's name."
    )
    parser.epilog = EXAMPLES
    common.paths(parser, "IN.rgc", "OUT", stdio=True)
    common.format_flag(parser)
    parser.add_argument(
        "-q",
        "--quality",
        type=common.readable(quality),
        metavar="Q",
        help=f"quality 1-100 of a {', '.join(sorted(LOSSY_FORMATS))} output (default: the file's foreground quality)",
    )
    parser.add_argument(
        "--background",
        type=common.readable(colour),
        metavar="COLOR",
        help="colour under transparent pixels, for formats without alpha such as JPEG: a name, #rrggbb or rgb(r,g,b) "
        "(default white)",
    )
    parser.add_argument(
        "--reduce",
        type=int,
        choices=REDUCTIONS,
        default=1,
        metavar="N",
        help="decode a quick preview at 1/N of the size, N = 2, 4 or 8, through libjpeg's scaled IDCT: close to the "
        "exact decode shrunk, not the same pixels (default 1: the exact decode)",
    )
    common.max_pixels_flag(parser)
    parser.add_argument("--strip", action="store_true", help="write no metadata (EXIF, ICC profile, XMP) into OUT")


def quality(text: str) -> int:
    """argparse type: a quality from 1 to 100."""
    value = int(text)
    if not 1 <= value <= 100:
        raise ValueError(text)
    return value


def run(args: argparse.Namespace) -> None:
    """Decode IN to OUT; say what OUT's format could not hold."""
    from ..imagefiles import WHITE, decode_data

    output, into_folder = common.output_of(args, common.image_suffix(args))
    image_format = common.image_format(args, output)  # a usage error before any work
    data, name = common.read_input(args)
    options = {"strip": args.strip, "max_pixels": args.max_pixels, "quality": args.quality, "reduce": args.reduce}
    with common.quiet_c_stderr(unless=args.debug):
        image, unwritten = decode_data(data, name, image_format, background=args.background or WHITE, **options)
    common.write(output, lambda handle: handle.write(image), args)
    shown = output or common.STDOUT
    if into_folder:
        common.note(f"wrote {output}")
    metadata = [item for item in unwritten if item != "alpha"]
    if metadata:
        common.note(f"{shown} cannot hold {', '.join(metadata)}; written without")
    if "alpha" in unwritten and args.background is None:
        common.note(f"{image_format} has no alpha: {shown} is flattened onto white (--background COLOR to choose)")
