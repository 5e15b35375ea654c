"""The rcodec command line: encode, decode, info, mask, bench, batch.

Errors print one line to stderr and exit non-zero with a sysexits code:
2 usage, 65 bad input data, 66 input cannot be opened, 69 the Dask scheduler
cannot be reached, 73 output cannot be created, 70 a bug (run with --debug
for the traceback). A batch in which some files failed exits 1; 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from . import __version__, api, batch, report
from .container import BLOCK_SIZES
from .convert import (
    EX_CANTCREAT,
    EX_DATAERR,
    EX_NOINPUT,
    EX_SOFTWARE,
    EX_USAGE,
    CommandError,
    decode_file,
    encode_file,
    open_image,
    output_format,
    read_bytes,
    write_output,
)
from .errors import InputError, RegionCodecError, SchedulerError
from .metrics import importance_mask
from .plan import MAX_LEVELS
from .segment import METHODS, SegmentOptions, method_names

EX_SOME_FAILED, EX_UNAVAILABLE, EX_INTERRUPTED = 1, 69, 130

ENCODE_EXAMPLES = """examples:
  rcodec encode photo.jpg photo.rgc
  rcodec encode photo.jpg photo.rgc --fg-quality 90 --bg-quality 30
  rcodec encode scan.png scan.rgc --mask scan-mask.png --force
  rcodec encode photo.jpg photo.rgc --target-size 80kB
  rcodec encode photo.jpg photo.rgc --codec avif --levels 3"""
DECODE_EXAMPLES = """examples:
  rcodec decode photo.rgc photo.png
  rcodec decode photo.rgc photo.tif --force"""
BENCH_EXAMPLES = """examples:
  rcodec bench samples/ --out report
  rcodec bench a.png b.png --out report --codec avif --peers jpeg,avif --no-plots"""
INFO_EXAMPLES = """examples:
  rcodec info photo.rgc
  rcodec info photo.rgc --json"""
BATCH_EXAMPLES = """examples:
  rcodec batch photos/ photos-rgc/ --fg-quality 90 --bg-quality 30
  rcodec batch photos/ photos-rgc/ --recursive --skip-existing     # resume an interrupted batch
  rcodec batch photos-rgc/ photos-png/ --decode --format png
  rcodec batch /shared/photos /shared/rgc --scheduler tcp://scheduler:8786

exit status: 0 when every file was coded or skipped, 1 when some failed (each
is listed with its reason), 130 when interrupted; other codes as for encode."""
MASK_EXAMPLES = """examples:
  rcodec mask photo.jpg photo-mask.png
  rcodec mask photo.jpg faces.png --method faces+edges --margin 16
  rcodec mask scan.png scan-mask.png --method threshold --raw
  rcodec encode scan.png scan.rgc --mask scan-mask.png"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EX_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run rcodec with argv (default: sys.argv[1:]) and return the exit code."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return int(exc.code or 0)
    try:
        args.run(args)
    except CommandError as exc:
        return _fail(args, str(exc), exc.code)
    except KeyboardInterrupt:
        return _fail(args, "interrupted: no output was written", EX_INTERRUPTED, trace=False)
    except Exception as exc:  # noqa: BLE001 - a bug: say so in one line, never a bare traceback
        return _fail(args, f"internal error: {type(exc).__name__}: {exc}", EX_SOFTWARE)
    return 0


def _fail(args: argparse.Namespace, message: str, code: int, *, trace: bool = True) -> int:
    """Print message as one line (and, with trace, the traceback with --debug); return code."""
    if args.debug and trace:
        traceback.print_exc()
    print(f"rcodec: error: {message}", file=sys.stderr)
    return code


def _build_parser() -> argparse.ArgumentParser:
    """The rcodec parser and its subcommands."""
    parser = _Parser(prog="rcodec", description="Region-adaptive image codec.")
    parser.add_argument("--debug", action="store_true", help="show the traceback on errors")
    parser.add_argument("--version", action="version", version=f"rcodec {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, parser_class=_Parser, metavar="COMMAND")

    enc = _command(
        commands,
        _encode,
        "code an image as .rgc",
        ENCODE_EXAMPLES,
        ("IN", "OUT"),
        "Code IN (any image Pillow reads) as OUT.rgc: foreground at one quality, background at another.",
    )
    _add_coding_options(enc)
    enc.add_argument(
        "--mask",
        type=Path,
        metavar="MASK",
        help="image of the same size whose non-zero pixels are the foreground, used as it is (instead of --method)",
    )
    enc.add_argument(
        "--quality-map",
        type=Path,
        metavar="MAP",
        help="grey image of the same size: 0 = quality 1 ... 255 = quality 100 (instead of qualities and mask)",
    )
    _add_target_options(enc)
    enc.add_argument("--strip", action="store_true", help="store no metadata (EXIF, ICC profile, XMP) from IN")

    dec = _command(
        commands,
        _decode,
        "decode .rgc to an ordinary image",
        DECODE_EXAMPLES,
        ("IN.rgc", "OUT"),
        "Decode IN.rgc to OUT, in the format its extension names (.png, .tif, ...).",
    )
    _add_decode_options(dec)
    dec.add_argument("--strip", action="store_true", help="write no metadata (EXIF, ICC profile, XMP) into OUT")

    info = _command(
        commands,
        _info,
        "describe a .rgc file without decoding it",
        INFO_EXAMPLES,
        ("IN.rgc",),
        "Print size, mode, block size, foreground share and per-region coding.",
    )
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")

    mask = _command(
        commands,
        _mask,
        "show what a segmentation method picks as foreground",
        MASK_EXAMPLES,
        ("IN", "OUT"),
        "Write OUT (.png, ...): IN with the background dimmed and the foreground outlined, as encode would split it.",
    )
    mask.add_argument("--raw", action="store_true", help="write the mask itself: white foreground, black background")
    _segmentation_arguments(mask)

    bench = _command(
        commands,
        _bench,
        "compare with uniform JPEG, jpegli, WebP and AVIF at equal bytes",
        BENCH_EXAMPLES,
        (),
        "Code each image, then each peer at the highest quality no larger, and write results.csv, results.md "
        "and (with matplotlib) rd-NAME.png curves to OUT_DIR.",
    )
    bench.add_argument("images", metavar="IMAGE", type=Path, nargs="+", help="images or folders of images")
    bench.add_argument("--out", type=Path, required=True, metavar="OUT_DIR", help="folder for the report")
    bench.add_argument("--force", action="store_true", help="replace report files that exist")
    _add_coding_options(bench)
    bench.add_argument(
        "--mask-share",
        type=float,
        default=0.35,
        metavar="S",
        help="foreground = the top S of blocks by gradient, given as mask (default %(default)s); 0 uses --method",
    )
    bench.add_argument(
        "--peers", default=",".join(report.PEERS), help="comma-separated peers (default %(default)s, those available)"
    )
    bench.add_argument("--repeat", type=_positive, default=3, metavar="N", help="timing repeats (median; default 3)")
    bench.add_argument("--no-plots", action="store_true", help="skip the RD curves (they take most of the time)")

    many = _command(
        commands,
        _batch,
        "encode (or decode) every image in a folder, on every core",
        BATCH_EXAMPLES,
        ("IN_DIR", "OUT_DIR"),
        "Code every image in IN_DIR as OUT_DIR/NAME.rgc (with --decode, every .rgc file as an image), "
        "in parallel, with a progress bar and a summary. Files that fail are reported and skipped; "
        "IN_DIR is only read. Outputs are written whole or not at all, so an interrupted batch "
        "resumes with --skip-existing.",
        replaces="outputs that exist (without it, or --skip-existing, such a file fails)",
    )
    many.add_argument("--decode", action="store_true", help="decode .rgc files instead of encoding images")
    many.add_argument("--recursive", action="store_true", help="include subfolders; OUT_DIR mirrors them")
    many.add_argument("--skip-existing", action="store_true", help="leave outputs that exist as they are")
    many.add_argument("--jobs", type=_positive, metavar="N", help="processes to run (default: every core)")
    many.add_argument("--quiet", action="store_true", help="no progress bar, only the summary")
    many.add_argument(
        "--format", default="png", metavar="EXT", help="with --decode: the image format to write (default png)"
    )
    many.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster of this scheduler (tcp://HOST:8786; needs regioncodec[dask]); "
        "its workers must see IN_DIR and OUT_DIR at the same paths, unless --ship-bytes",
    )
    many.add_argument(
        "--ship-bytes",
        action="store_true",
        help="with --scheduler: send each file's bytes to the workers and write the outputs here "
        "(for workers without the shared filesystem; every byte passes through this machine)",
    )
    _add_coding_options(many)
    _add_target_options(many)
    _add_decode_options(many)
    many.add_argument("--strip", action="store_true", help="no metadata (EXIF, ICC profile, XMP) in the outputs")
    return parser


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    """--target-size or --target-bpp: the size each file must fit (encode and batch)."""
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--target-size",
        type=_size,
        metavar="SIZE",
        help="largest file that fits SIZE (e.g. 80000, 80kB, 78KiB, 1.5MB): qualities are chosen to fit",
    )
    target.add_argument("--target-bpp", type=_bits_per_pixel, metavar="BPP", help="as --target-size, in bits per pixel")


def _add_decode_options(parser: argparse.ArgumentParser) -> None:
    """The decoding options decode and batch share."""
    parser.add_argument(
        "--max-pixels",
        type=_positive,
        default=api.container.DEFAULT_MAX_PIXELS,
        metavar="N",
        help="refuse images with more pixels (default %(default)s, as Pillow)",
    )


def _add_coding_options(parser: argparse.ArgumentParser) -> None:
    """The options encode and bench share: qualities, foreground, levels, codec, scale."""
    parser.add_argument(
        "--fg-quality",
        type=_quality,
        metavar="Q",
        help=f"quality 1-100 of the foreground (default {api.DEFAULT_FG_QUALITY})",
    )
    parser.add_argument(
        "--bg-quality",
        type=_quality,
        metavar="Q",
        help=f"quality 1-100 of the background (default {api.DEFAULT_BG_QUALITY})",
    )
    _segmentation_arguments(parser)
    parser.add_argument(
        "--levels",
        type=_levels,
        metavar="N",
        help=f"quality levels 2-{MAX_LEVELS}: the background is split by detail into N-1 steps up to the foreground "
        f"(default {api.DEFAULT_LEVELS})",
    )
    parser.add_argument(
        "--transition",
        action="store_true",
        help="ring the foreground with blocks of intermediate quality, so no seam shows where it meets the rest "
        f"(adds a level: --levels at most {MAX_LEVELS - 1})",
    )
    parser.add_argument(
        "--codec", choices=api.CODECS, default=api.DEFAULT_CODEC, help="payload codec (default %(default)s)"
    )
    parser.add_argument(
        "--bg-scale",
        type=lambda text: text if text == "auto" else int(text),
        choices=(1, 2, 4, "auto"),
        default=1,
        help="code the background at 1/N resolution; auto: whichever is smallest at equal error (default 1)",
    )


def _segmentation_arguments(parser: argparse.ArgumentParser) -> None:
    """--method, --block-size and one flag per SegmentOptions field (left None when not given)."""
    parser.add_argument(
        "--method",
        type=_method,
        metavar="NAME",
        help=f"how to find the foreground: {', '.join(METHODS)}, or several joined with + "
        f"such as faces+edges (default {api.DEFAULT_METHOD})",
    )
    parser.add_argument(
        "--block-size",
        type=_block_size,
        default=api.DEFAULT_BLOCK_SIZE,
        metavar="N",
        help=f"block side in pixels: 16, 32 or 64 (8 too for greyscale; default {api.DEFAULT_BLOCK_SIZE})",
    )
    for control in dataclasses.fields(SegmentOptions):
        parser.add_argument(
            f"--{control.name.replace('_', '-')}",
            type=control.metadata["parse"],
            metavar=control.name.upper(),
            help=control.metadata["help"],
        )


def _coding_options(args: argparse.Namespace) -> dict[str, Any]:
    """The api.encode keywords of the shared coding options; a combination encode refuses is a usage error."""
    levels = args.levels or api.DEFAULT_LEVELS
    if args.transition and levels == MAX_LEVELS:
        raise CommandError(f"--transition adds a level: use it with --levels at most {MAX_LEVELS - 1}", EX_USAGE)
    return {
        "fg_quality": args.fg_quality or api.DEFAULT_FG_QUALITY,
        "bg_quality": args.bg_quality or api.DEFAULT_BG_QUALITY,
        "method": args.method or api.DEFAULT_METHOD,
        "block_size": args.block_size,
        "levels": levels,
        "transition": args.transition,
        "codec": args.codec,
        "bg_scale": args.bg_scale,
    }


def _command(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    run: Callable[[argparse.Namespace], None],
    summary: str,
    examples: str,
    paths: tuple[str, ...],
    description: str,
    replaces: str | None = None,
) -> argparse.ArgumentParser:
    """Add a subcommand named after run, with its paths (input, then output), --debug and, with an output, --force.

    replaces says what --force replaces (default: the output path).
    """
    sub = commands.add_parser(
        run.__name__.strip("_"),
        help=summary,
        description=description,
        epilog=examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback on errors")
    for name, metavar in zip(("input", "output"), paths, strict=False):
        sub.add_argument(name, metavar=metavar, type=Path)
    if len(paths) > 1:
        sub.add_argument("--force", action="store_true", help=f"replace {replaces or paths[1] + ' if it exists'}")
    sub.set_defaults(run=run)
    return sub


def _argument(parse: Callable[[str], Any], valid: Callable[[Any], bool], wanted: str) -> Callable[[str], Any]:
    """An argparse type: text read by parse, refused unless valid, with 'must be <wanted>'."""

    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except (ValueError, KeyError, OverflowError):
            value = None
        if value is None or not valid(value):
            raise argparse.ArgumentTypeError(f"must be {wanted}, not {text!r}")
        return value

    return convert


def _bytes_with_unit(text: str) -> int:
    """A byte count with an optional unit: kB and MB are 1000s, KiB and MiB 1024s, K and M as kB and MB."""
    units = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 10**6, "mb": 10**6, "kib": 1024, "mib": 1024**2}
    number = text.strip().lower().rstrip("bkmi ")
    return int(float(number) * units[text.strip().lower()[len(number) :].strip()])


_quality = _argument(int, lambda value: 1 <= value <= 100, "an integer from 1 to 100")
_size = _argument(_bytes_with_unit, lambda value: value >= 1, "a positive number of bytes such as 80000 or 80kB")
_bits_per_pixel = _argument(float, lambda value: 0 < value < math.inf, "a positive number of bits per pixel")
_positive = _argument(int, lambda value: value >= 1, "a positive integer")
_levels = _argument(int, lambda value: 2 <= value <= MAX_LEVELS, f"an integer from 2 to {MAX_LEVELS}")
_block_size = _argument(int, lambda value: value in BLOCK_SIZES, f"one of {', '.join(map(str, BLOCK_SIZES))}")


def _method(text: str) -> str:
    """argparse type: a method name, or several joined with +."""
    try:
        method_names(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _segment_options(args: argparse.Namespace) -> SegmentOptions | None:
    """SegmentOptions from the control flags given, None if none was; a bad value is a usage error."""
    given = {
        f.name: getattr(args, f.name) for f in dataclasses.fields(SegmentOptions) if getattr(args, f.name) is not None
    }
    try:
        return SegmentOptions(**given) if given else None
    except InputError as exc:
        raise CommandError(str(exc), EX_USAGE) from None


def _encode(args: argparse.Namespace) -> None:
    """rcodec encode."""
    _refuse_replaced_flags(args)
    options = _encode_options(args)
    encode_file(args.input, args.output, force=args.force, mask=args.mask, quality_map=args.quality_map, **options)


def _refuse_replaced_flags(args: argparse.Namespace) -> None:
    """--mask and --quality-map are used as they are: a flag either one replaces is a usage error, never ignored."""
    controls = [f"--{f.name.replace('_', '-')}" for f in dataclasses.fields(SegmentOptions)]
    replaced = {
        "--mask": ["--method", *controls],
        "--quality-map": ["--mask", "--fg-quality", "--bg-quality", "--levels", "--transition", "--method", *controls],
    }
    for flag, flags in replaced.items():
        if _given(args, flag):
            clashes = [other for other in flags if _given(args, other)]
            if clashes:
                raise CommandError(f"{flag} is used as it is: {', '.join(clashes)} cannot apply with it", EX_USAGE)


def _given(args: argparse.Namespace, flag: str) -> bool:
    """Whether flag was on the command line (the flags checked here default to None or False)."""
    value = getattr(args, flag[2:].replace("-", "_"))
    return value is not None and value is not False  # so --margin 0 counts as given


def _encode_options(args: argparse.Namespace) -> dict[str, Any]:
    """regioncodec.encode's keywords (and convert's target_bpp) from the command line, encode's and batch's."""
    return {
        **_coding_options(args),
        "options": _segment_options(args),
        "target_size": args.target_size,
        "target_bpp": args.target_bpp,
        "strip": args.strip,
    }


def _decode(args: argparse.Namespace) -> None:
    """rcodec decode."""
    output_format(args.output)  # a usage error before any work
    with _quiet_c_stderr(unless=args.debug):
        unwritten = decode_file(args.input, args.output, force=args.force, strip=args.strip, max_pixels=args.max_pixels)
    if unwritten:
        print(f"rcodec: note: {args.output} cannot hold {', '.join(unwritten)}; written without", file=sys.stderr)


def _info(args: argparse.Namespace) -> None:
    """rcodec info."""
    data = read_bytes(args.input)
    try:
        info = api.inspect(data)
    except RegionCodecError as exc:
        raise CommandError(f"{args.input}: {exc}", EX_DATAERR) from None
    print(json.dumps(info.as_dict(), indent=2) if args.json else _info_table(args.input, info))


def _mask(args: argparse.Namespace) -> None:
    """rcodec mask."""
    image_format = output_format(args.output)
    options = _segment_options(args)
    method = args.method or api.DEFAULT_METHOD
    try:
        pixels = api.as_pixels(open_image(args.input))
        mask = api.segment(pixels, method, block_size=args.block_size, options=options)
        picture = Image.fromarray(mask.astype(np.uint8) * 255 if args.raw else api.preview(pixels, mask))
    except RegionCodecError as exc:
        raise CommandError(f"{args.input}: {exc}", EX_DATAERR) from None
    _write(args.output, lambda handle: picture.save(handle, format=image_format), args)
    print(f"{args.output}: foreground {mask.mean():.1%} of the pixels ({method})")


def _bench(args: argparse.Namespace) -> None:
    """rcodec bench."""
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = sorted(set(peers) - set(report.PEERS))
    if unknown:
        raise CommandError(f"unknown peers {', '.join(unknown)}; choose from {', '.join(report.PEERS)}", EX_USAGE)
    if not 0 <= args.mask_share < 1:
        raise CommandError("--mask-share must be from 0 (use --method) up to, not including, 1", EX_USAGE)
    segment_options = _segment_options(args)
    if args.mask_share and (segment_options is not None or args.method is not None):
        raise CommandError("--method and the segmentation controls apply with --mask-share 0", EX_USAGE)
    skipped = [p for p in peers if not report.peer_available(p)]
    if skipped:
        print(f"rcodec: skipping peers this machine cannot code: {', '.join(skipped)}", file=sys.stderr)
    peers = [p for p in peers if p not in skipped]
    options = _coding_options(args)
    rows: list[report.Row] = []
    files = _image_files(args.images)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"{args.out}: cannot create the folder: {exc.strerror or exc}", EX_CANTCREAT) from None
    for path in files:
        try:
            image = api.as_pixels(open_image(path))
            if args.mask_share:
                mask = importance_mask(image, args.mask_share)
            else:
                mask = api.segment(image, options["method"], block_size=args.block_size, options=segment_options)
            found = report.compare(path.stem, image, mask, options, peers, args.repeat)
        except RegionCodecError as exc:
            raise CommandError(f"{path}: {exc}", EX_DATAERR) from None
        rows += found
        print(f"{path.name}: " + ", ".join(f"{r.coder} {r.bytes:,} B fg {r.psnr_fg:.2f} dB" for r in found))
        if not args.no_plots and _has_matplotlib():
            curves = report.rd_curves(image, mask, options, peers)
            _write(args.out / f"rd-{path.stem}.png", partial(report.plot_curves, curves, path.stem), args)
    _write(args.out / "results.csv", lambda handle: handle.write(report.csv_text(rows).encode()), args)
    table = report.markdown(rows)
    _write(args.out / "results.md", lambda handle: handle.write(table.encode()), args)
    print(table.split("\n\n")[-1].rstrip())
    if not args.no_plots and not _has_matplotlib():
        print("rcodec: no plots: install matplotlib (pip install 'regioncodec[report]')", file=sys.stderr)


def _batch(args: argparse.Namespace) -> None:
    """rcodec batch."""
    inputs = _batch_inputs(args)
    settings = batch.BatchSettings(
        jobs=args.jobs,
        root=args.input,
        skip_existing=args.skip_existing,
        force=args.force,
        progress=bool(inputs) and not args.quiet,
        scheduler=args.scheduler,
        ship_bytes=args.ship_bytes,
    )
    start = time.perf_counter()
    try:
        if args.decode:
            decoding = {"image_format": args.format, "strip": args.strip, "max_pixels": args.max_pixels}
            results = batch.decode_many(inputs, args.output, **decoding, **settings)
        else:
            results = batch.encode_many(inputs, args.output, **_encode_options(args), **settings)
    except KeyboardInterrupt:
        message = "interrupted: the outputs written are whole; run again with --skip-existing to finish"
        raise CommandError(message, EX_INTERRUPTED) from None
    except SchedulerError as exc:
        raise CommandError(str(exc), EX_UNAVAILABLE) from None
    except RegionCodecError as exc:
        raise CommandError(str(exc), EX_USAGE) from None
    if not inputs:  # the batch of none still refused bad options
        print(f"rcodec: note: {_nothing_found(args)}; nothing to do", file=sys.stderr)
        return
    ran = sum(r.status != batch.SKIPPED for r in results)
    where = f"the Dask cluster at {args.scheduler}" if args.scheduler else _local_workers(args.jobs, ran)
    print(_summary(results, time.perf_counter() - start, args.decode, where if ran else None))
    if any(r.status == batch.FAILED for r in results):
        raise CommandError(
            f"{sum(r.status == batch.FAILED for r in results)} of {len(results)} files failed", EX_SOME_FAILED
        )


def _batch_inputs(args: argparse.Namespace) -> list[Path]:
    """The files a batch works on: images Pillow reads (or .rgc files, decoding) in IN_DIR, sorted."""
    in_dir, out_dir = args.input.resolve(), args.output.resolve()
    if not in_dir.is_dir():
        raise CommandError(f"{args.input}: not a folder", EX_NOINPUT)
    if out_dir.exists() and not out_dir.is_dir():
        raise CommandError(f"{args.output}: not a folder, so no output can be created in it", EX_CANTCREAT)
    if out_dir == in_dir or out_dir.is_relative_to(in_dir):
        raise CommandError(f"{args.output}: must be outside IN_DIR {args.input}, which a batch only reads", EX_USAGE)
    if args.ship_bytes and not args.scheduler:
        raise CommandError(
            "--ship-bytes is for --scheduler: local workers read and write the files themselves", EX_USAGE
        )
    if args.jobs and args.scheduler:
        raise CommandError(
            "--jobs is for local batches: a cluster runs as many tasks as its workers have threads", EX_USAGE
        )
    wanted = {".rgc"} if args.decode else _readable_extensions() - {".rgc"}
    found = in_dir.rglob("*") if args.recursive else in_dir.iterdir()
    return sorted(
        path
        for path in found
        if path.suffix.lower() in wanted
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(in_dir).parts)
    )


def _nothing_found(args: argparse.Namespace) -> str:
    """What a batch that found no input files says, with a hint when IN_DIR has subfolders."""
    what = ".rgc files" if args.decode else "images Pillow reads"
    hint = ""
    if not args.recursive and any(path.is_dir() for path in args.input.iterdir()):
        hint = " (its subfolders are read with --recursive)"
    return f"no {what} in {args.input}{hint}"


def _readable_extensions() -> set[str]:
    """File extensions of the image formats Pillow opens."""
    Image.init()
    return {ext for ext, image_format in Image.registered_extensions().items() if image_format in Image.OPEN}


def _local_workers(jobs: int | None, files: int) -> str:
    """How a local batch ran, for its summary."""
    workers = max(1, min(jobs or batch.default_jobs(), files))
    return "1 process" if workers == 1 else f"{workers} processes"


def _summary(results: list[batch.FileResult], seconds: float, decoding: bool, where: str | None) -> str:
    """The table printed at the end of a batch, with every failure and its reason; where is None if nothing ran."""
    done = [r for r in results if r.status == batch.DONE]
    counts = {status: sum(r.status == status for r in results) for status in (batch.SKIPPED, batch.FAILED)}
    in_bytes, out_bytes = sum(r.in_bytes for r in done), sum(r.out_bytes for r in done)
    saving = f"{1 - out_bytes / in_bytes:.1%}" if in_bytes and not decoding else "-"
    lines = [
        f"{'':<10}{'files':>7}{'input B':>15}{'output B':>15}{'saved':>8}",
        f"{'decoded' if decoding else 'encoded':<10}{len(done):>7}{in_bytes:>15,}{out_bytes:>15,}{saving:>8}",
        f"{'skipped':<10}{counts[batch.SKIPPED]:>7}",
        f"{'failed':<10}{counts[batch.FAILED]:>7}",
        f"{len(results)} file{'' if len(results) == 1 else 's'} in {seconds:.1f} s"
        + (f" ({len(done) / seconds:.1f} files/s)" if done else "")
        + (f" on {where}" if where else ""),
    ]
    unwritten = sorted({name for r in done for name in r.unwritten})
    if unwritten:
        lines.append(f"note: the output format cannot hold {', '.join(unwritten)}; those files were written without")
    lines += [f"failed: {r.error}" for r in results if r.status == batch.FAILED]
    return "\n".join(lines)


def _has_matplotlib() -> bool:
    """Whether the optional matplotlib is installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _image_files(paths: list[Path]) -> list[Path]:
    """The image files named, folders expanded to the images Pillow can read in them (sorted)."""
    extensions = _readable_extensions()
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in extensions and p.is_file())
        else:
            files.append(path)
    if not files:
        raise CommandError("no images found in " + ", ".join(map(str, paths)), EX_NOINPUT)
    return files


def _info_table(path: Path, info: api.Info) -> str:
    """Human-readable lines for rcodec info."""
    lines = [
        f"{path}: {info.width}x{info.height} {info.mode}, {info.block_size}-pixel blocks, {info.file_bytes:,} bytes",
        f"foreground: {info.fg_fraction:.1%} of the pixels",
        f"{'region':<12}{'codec':<7}{'quality':>8}{'scale':>7}{'bytes':>12}{'pixels':>9}",
    ]
    lines += [
        f"{r.role:<12}{r.codec:<7}{r.quality:>8}{'1/' + str(r.scale):>7}{r.bytes:>12,}{r.fraction:>9.1%}"
        for r in info.regions
    ]
    if info.alpha_bytes:
        lines.append(f"{'alpha':<12}{'zstd':<7}{'exact':>8}{'':>7}{info.alpha_bytes:>12,}")
    lines += [f"{name:<34}{size:>12,}" for name, size in info.metadata.items()]
    lines.append(f"{'overhead':<34}{info.overhead_bytes:>12,}")
    return "\n".join(lines)


@contextlib.contextmanager
def _quiet_c_stderr(*, unless: bool) -> Iterator[None]:
    """Send what C libraries write to file descriptor 2 meanwhile to the null device (unless is true).

    libjpeg inside OpenCV prints warnings such as "Corrupt JPEG data: bad
    Huffman code" for damaged streams straight to descriptor 2, where no
    Python code can catch them; the CLI promises one line on stderr, so they
    are dropped, and --debug shows them. Safe here: the CLI runs one thread.
    """
    if unless:
        yield
        return
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _write(path: Path, write: Callable[[BinaryIO], object], args: argparse.Namespace) -> None:
    """Write an output atomically, never over the input, as the command's --force says."""
    write_output(path, write, force=args.force, source=getattr(args, "input", None))
