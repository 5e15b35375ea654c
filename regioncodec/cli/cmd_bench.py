"""rcodec bench: regioncodec against uniform JPEG, jpegli, WebP and AVIF at equal bytes, as a report."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

from . import EX_NOINPUT, CommandFailed, common

EXAMPLES = """examples:
  rcodec bench samples/ --out report
  rcodec bench a.png b.png --out report --codec avif --peers jpeg,avif --no-plots"""
CODING_FLAGS = (
    "fg_quality", "bg_quality", "method", "block_size", "levels", "transition", "codec", "bg_codec", "bg_scale",
    "deblock", "subjects",
)  # fmt: skip
MASK_SHARE = 0.35  # the default mask: the top 35% of blocks by gradient, the fixed mask the figures use


def arguments(parser: argparse.ArgumentParser) -> None:
    """IMAGE..., --out, the coding settings, --mask-share, --peers, --repeat, --no-plots."""
    from ..report import PEERS

    parser.description = (
        "Code each image, then each peer at the highest quality no larger, and write results.csv, results.md "
        "and (with matplotlib) rd-NAME.png curves to OUT_DIR."
    )
    parser.epilog = EXAMPLES
    parser.add_argument("images", metavar="IMAGE", type=Path, nargs="+", help="images or folders of images")
    parser.add_argument("-o", "--out", type=Path, required=True, metavar="OUT_DIR", help="folder for the report")
    parser.add_argument("--force", action="store_true", help="replace report files that exist")
    common.settings_flags(parser, CODING_FLAGS)
    parser.add_argument(
        "--mask-share",
        type=float,
        default=MASK_SHARE,
        metavar="S",
        help="foreground = the top S of blocks by gradient, given as mask (default %(default)s); 0 uses --method",
    )
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated peers (default %(default)s)")
    parser.add_argument(
        "--repeat",
        type=common.readable(common.positive),
        default=3,
        metavar="N",
        help="timing repeats (median; default 3)",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the RD curves (they take most of the time)")


def run(args: argparse.Namespace) -> None:
    """Measure every image and write the report."""
    from .. import api, report
    from ..errors import OptionError, WriteError, named
    from ..imagefiles import open_image
    from ..metrics import importance_mask

    settings = common.settings_from(args)
    if not 0 <= args.mask_share < 1:
        raise OptionError("--mask-share must be from 0 (use --method) up to, not including, 1")
    if args.mask_share and (settings.method is not None or settings.segmentation is not None):
        raise OptionError("--method and the segmentation controls apply with --mask-share 0")
    peers = _peers(args.peers)
    files = _image_files(args.images)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"{args.out}: cannot create the folder: {exc.strerror or exc}") from None
    rows: list[report.Row] = []
    plots = not args.no_plots and _has_matplotlib()
    for path in files:
        with named(path):
            image = api.as_pixels(open_image(path))
            if args.mask_share:
                mask = importance_mask(image, args.mask_share)
            else:
                method, options = settings.segment_with
                mask = api.segment(image, method, block_size=settings.block_size, segmentation=options)
            found = report.compare(path.stem, image, mask, settings, peers, args.repeat)
        rows += found
        print(f"{path.name}: " + ", ".join(f"{r.coder} {r.bytes:,} B fg {r.psnr_fg:.2f} dB" for r in found))
        if plots:
            curves = report.rd_curves(image, mask, settings, peers)
            common.write(args.out / f"rd-{path.stem}.png", partial(report.plot_curves, curves, path.stem), args)
    common.write(args.out / "results.csv", lambda handle: handle.write(report.csv_text(rows).encode()), args)
    table = report.markdown(rows)
    common.write(args.out / "results.md", lambda handle: handle.write(table.encode()), args)
    print(table.split("\n\n")[-1].rstrip())
    if not args.no_plots and not plots:
        print("rcodec: no plots: install matplotlib (pip install 'regioncodec[report]')", file=sys.stderr)


def _peers(text: str) -> list[str]:
    """The peers named in text that this machine can code (saying which it skips); OptionError for unknown ones."""
    from .. import report
    from ..errors import OptionError

    peers = [p.strip() for p in text.split(",") if p.strip()]
    unknown = sorted(set(peers) - set(report.PEERS))
    if unknown:
        raise OptionError(f"unknown peers {', '.join(unknown)}; choose from {', '.join(report.PEERS)}")
    skipped = [p for p in peers if not report.peer_available(p)]
    if skipped:
        print(f"rcodec: skipping peers this machine cannot code: {', '.join(skipped)}", file=sys.stderr)
    return [p for p in peers if p not in skipped]


def _has_matplotlib() -> bool:
    """Whether the optional matplotlib is installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _image_files(paths: list[Path]) -> list[Path]:
    """The image files named, folders expanded to the images Pillow can read in them (sorted)."""
    extensions = common.readable_extensions()
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in extensions and p.is_file())
        else:
            files.append(path)
    if not files:
        raise CommandFailed("no images found in " + ", ".join(map(str, paths)), EX_NOINPUT)
    return files
