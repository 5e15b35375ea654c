"""rcodec encode: code an image file as .rgc."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from . import common

EXAMPLES = """examples:
  rcodec encode photo.jpg photo.rgc
  rcodec encode photo.jpg -o photo.rgc -q 80            # one knob: fg 80, background following
  rcodec encode photo.jpg photo.rgc --fg-quality 90 --bg-quality 30
  rcodec encode photo.jpg out/                          # writes out/photo.rgc
  cat photo.png | rcodec encode - - > photo.rgc         # standard input and output
  rcodec encode scan.png scan.rgc --mask scan-mask.png --force
  rcodec encode photo.jpg photo.rgc --target-size 80kB
  rcodec encode photo.jpg photo.rgc --codec avif --levels 3
  rcodec encode camera.jpg out.rgc --force-quality      # fg 90 even if camera.jpg is a q80 JPEG, even if larger"""
RGC_SUFFIX = ".rgc"


def arguments(parser: argparse.ArgumentParser) -> None:
    """IN, OUT, the encode settings, --mask, --quality-map and --first-frame."""
    parser.description = (
        "Code IN (any image Pillow reads; - for standard input) as OUT.rgc (- for standard output): "
        "foreground at one quality, background at another"
    )
    parser.epilog = EXAMPLES
    common.paths(parser, "IN", "OUT", stdio=True)
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
    parser.add_argument(
        "--first-frame",
        action="store_true",
        help="code the first frame of an animation or the first page of a document (else they are refused)",
    )


def run(args: argparse.Namespace) -> None:
    """Encode IN to OUT; note when OUT was made in a folder, when no foreground was found, or when OUT is larger."""
    from .. import imagefiles, sources
    from ..info import read_info

    settings = common.settings_from(args)
    settings.check_guides(mask=args.mask is not None, quality_map=args.quality_map is not None)
    output, into_folder = common.fixed_output(args, RGC_SUFFIX, "RGC", "encode", ".rgc")
    mask = None if args.mask is None else imagefiles.open_image(args.mask)  # non-zero = foreground
    quality_map = None if args.quality_map is None else imagefiles.open_image(args.quality_map)
    data, name = common.read_input(args)
    image = imagefiles.open_image(io.BytesIO(data), name, first_frame=args.first_frame)
    said: list[str] = []
    with common.quiet_c_stderr(unless=args.debug):  # libjpeg's warnings on a damaged JPEG's coefficients
        guides = {"mask": mask, "quality_map": quality_map}
        coded = imagefiles.encode_image(image, name, settings, data=data, notes=said, **guides)
    common.write(output, lambda handle: handle.write(coded), args)
    shown = output or common.STDOUT
    if into_folder:
        common.note(f"wrote {output}")
    for line in said:  # what a JPEG input changed: the quality cap, its coefficients kept or not, the guard
        common.note(f"{name}: {line}")
    if mask is None and quality_map is None and read_info(coded).fg_fraction == 0:
        hint = common.no_foreground_hint(image, settings)
        if hint:
            common.note(hint)
    if len(coded) > len(data):
        common.note(
            f"{shown} ({len(coded):,} B) is larger than {name} ({len(data):,} B): "
            + ("try a lower quality (-q)" if image.format in sources.JPEG_FORMATS else _LOSSLESS_HINT)
        )
    sys.stderr.flush()


_LOSSLESS_HINT = "screenshots and flat graphics keep best as PNG or lossless WebP (see the README)"
