"""rcodec mask: a picture of what a segmentation method picks, or the mask itself."""

from __future__ import annotations

import argparse

from . import common

EXAMPLES = """examples:
  rcodec mask photo.jpg photo-mask.png
  rcodec mask photo.jpg faces.png --method faces+edges --margin 16
  rcodec mask scan.png scan-mask.png --method threshold --raw
  rcodec encode scan.png scan.rgc --mask scan-mask.png"""


def arguments(parser: argparse.ArgumentParser) -> None:
    """IN, OUT, --raw and the segmentation settings."""
    parser.description = (
        "Write OUT (.png, ...): IN with the background dimmed and the foreground outlined, as encode would split it."
    )
    parser.epilog = EXAMPLES
    common.paths(parser, "IN", "OUT")
    parser.add_argument("--raw", action="store_true", help="write the mask itself: white foreground, black background")
    common.settings_flags(parser, common.SEGMENTATION_FLAGS)


def run(args: argparse.Namespace) -> None:
    """Segment IN and write the preview (or the raw mask) to OUT."""
    import numpy as np
    from PIL import Image

    from .. import api
    from ..imagefiles import named, open_image, output_format

    image_format = output_format(args.output)
    settings = common.settings_from(args)
    method, options = settings.segment_with
    with named(args.input):
        pixels = api.as_pixels(open_image(args.input))
        mask = api.segment(pixels, method, block_size=settings.block_size, segmentation=options)
    picture = Image.fromarray(mask.astype(np.uint8) * 255 if args.raw else api.preview(pixels, mask))
    common.write(args.output, lambda handle: picture.save(handle, format=image_format), args)
    print(f"{args.output}: foreground {mask.mean():.1%} of the pixels ({method})")
