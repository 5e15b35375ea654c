"""rcodec export: a .rgc file as one standard JPEG made from its DCT coefficients (no second generation of loss)."""

from __future__ import annotations

import argparse

from . import common

EXAMPLES = """examples:
  rcodec export photo.rgc photo.jpg                     # opens in every viewer, foreground exactly as coded
  rcodec export photo.rgc out/ --force                  # writes out/photo.jpg
  rcodec export photo.rgc - | upload                    # standard output

Regions coded as WebP or AVIF canvases, or at reduced resolution (--bg-scale), hold no coefficients of
the image's blocks: their decoded pixels are transformed and quantised again (not lossless there; a note
says which). Files with alpha are refused: rcodec decode photo.rgc photo.jpg flattens it."""
JPEG_SUFFIX = ".jpg"


def arguments(parser: argparse.ArgumentParser) -> None:
    """IN.rgc, OUT.jpg, --max-pixels, --strip."""
    parser.description = (
        "Write IN.rgc (- for standard input) as one standard baseline JPEG, OUT.jpg (- for standard output): "
        "the foreground's DCT coefficients and tables kept exactly, the other regions' requantised to them, "
        "without decoding pixels where the layers are JPEG at full resolution. Needs jpeglib: "
        "pip install 'regioncodec[jpeg]'."
    )
    parser.epilog = EXAMPLES
    common.paths(parser, "IN.rgc", "OUT.jpg", stdio=True)
    common.max_pixels_flag(parser)
    parser.add_argument("--strip", action="store_true", help="write no metadata (EXIF, ICC profile, XMP) into OUT")


def run(args: argparse.Namespace) -> None:
    """Export IN to OUT."""
    from ..errors import named
    from ..jpegdct import export_jpeg

    output, into_folder = common.fixed_output(args, JPEG_SUFFIX, "JPEG", "export", "JPEG")
    data, name = common.read_input(args)
    with named(name), common.quiet_c_stderr(unless=args.debug):  # libjpeg's warnings go to descriptor 2
        redone: list[tuple[int, str]] = []
        unwritten: list[str] = []
        exported = export_jpeg(data, strip=args.strip, max_pixels=args.max_pixels, redone=redone, unwritten=unwritten)
    common.write(output, lambda handle: handle.write(exported), args)
    if into_folder:
        common.note(f"wrote {output}")
    if unwritten:
        common.note(
            f"{output or common.STDOUT} cannot hold {', '.join(unwritten)} (too large for a JPEG); written without"
        )
    if redone:
        which = "; ".join(f"region {region}: {why}" for region, why in redone)
        common.note(f"coded again from decoded pixels, not lossless there ({which})")
