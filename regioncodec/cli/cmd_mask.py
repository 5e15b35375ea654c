"""rcodec mask: a picture of what a segmentation method picks, or the mask itself."""

from __future__ import annotations

import argparse
import sys

from . import common

EXAMPLES = """examples:
  rcodec mask photo.jpg photo-mask.png
  rcodec mask photo.jpg faces.png --method faces+edges --margin 16
  rcodec mask scan.png scan-mask.png --raw
  rcodec encode scan.png scan.rgc --mask scan-mask.png"""


def arguments(parser: argparse.ArgumentParser) -> None:
    """IN, OUT, --raw, --format, --first-frame and the segmentation settings."""
    parser.description = (
        "Write OUT (.png, ...; - for standard output): IN with the background dimmed and the foreground outlined, "
        "as segmentation finds them (encode also lifts skin and enclosed holes to a middle level unless "
        "--no-subjects; rcodec info counts those above the lowest level too)."
    )
    parser.epilog = EXAMPLES
    common.paths(parser, "IN", "OUT", stdio=True)
    parser.add_argument("--raw", action="store_true", help="write the mask itself: white foreground, black background")
    common.format_flag(parser)
    parser.add_argument("--first-frame", action="store_true", help="segment the first frame of an animation")
    common.settings_flags(parser, common.SEGMENTATION_FLAGS)


def run(args: argparse.Namespace) -> None:
    """Segment IN and write the preview (or the raw mask) to OUT; say how much is foreground."""
    import io

    import numpy as np
    from PIL import Image

    from .. import api
    from ..errors import named
    from ..imagefiles import open_image

    output, into_folder = common.output_of(args, common.image_suffix(args))
    image_format = common.image_format(args, output)
    settings = common.settings_from(args)
    method, options = settings.segment_with
    data, name = common.read_input(args)
    image = open_image(io.BytesIO(data), name, first_frame=args.first_frame)
    with named(name):
        pixels = api.as_pixels(image)
        mask = api.segment(pixels, method, block_size=settings.block_size, segmentation=options)
    picture = Image.fromarray(mask.astype(np.uint8) * 255 if args.raw else api.preview(pixels, mask))
    common.write(output, lambda handle: picture.save(handle, format=image_format), args)
    report = sys.stdout if output is not None else sys.stderr  # standard output holds the picture
    print(f"{output or common.STDOUT}: foreground {mask.mean():.1%} of the pixels ({method})", file=report)
    if into_folder:
        common.note(f"wrote {output}")
    hint = None if mask.any() else common.no_foreground_hint(pixels, settings)
    if hint:
        common.note(hint)
