"""rcodec batch: every image in a folder to .rgc (or every .rgc file to images), on every core or a Dask cluster."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import EX_CANTCREAT, EX_INTERRUPTED, EX_NOINPUT, EX_SOME_FAILED, CommandFailed, common

EXAMPLES = """examples:
  rcodec batch photos/ photos-rgc/ --fg-quality 90 --bg-quality 30
  rcodec batch photos/ photos-rgc/ --recursive --skip-existing     # resume an interrupted batch
  rcodec batch photos-rgc/ photos-png/ --decode --format png
  rcodec batch /shared/photos /shared/rgc --scheduler tcp://scheduler:8786

exit status: 0 when every file was coded or skipped, 1 when some failed (each
is listed with its reason), 130 when interrupted; other codes as for encode."""


def arguments(parser: argparse.ArgumentParser) -> None:
    """IN_DIR, OUT_DIR, how the batch runs, and the encode and decode settings."""
    parser.description = (
        "Code every image in IN_DIR as OUT_DIR/NAME.rgc (with --decode, every .rgc file as an image), "
        "in parallel, with a progress bar and a summary. Files that fail are reported and skipped; "
        "IN_DIR is only read. Outputs are written whole or not at all, so an interrupted batch "
        "resumes with --skip-existing."
    )
    parser.epilog = EXAMPLES
    replaces = "outputs that exist (without it, or --skip-existing, such a file fails)"
    common.paths(parser, "IN_DIR", "OUT_DIR", replaces=replaces)
    parser.add_argument("--decode", action="store_true", help="decode .rgc files instead of encoding images")
    parser.add_argument("--recursive", action="store_true", help="include subfolders; OUT_DIR mirrors them")
    parser.add_argument("--skip-existing", action="store_true", help="leave outputs that exist as they are")
    parser.add_argument(
        "--jobs", type=common.readable(common.positive), metavar="N", help="processes to run (default: every core)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar, only the summary")
    parser.add_argument("--format", metavar="EXT", help="with --decode: the image format to write (default png)")
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster of this scheduler (tcp://HOST:8786; needs regioncodec[dask]); "
        "its workers must see IN_DIR and OUT_DIR at the same paths, unless --ship-bytes",
    )
    parser.add_argument(
        "--ship-bytes",
        action="store_true",
        help="with --scheduler: send each file's bytes to the workers and write the outputs here "
        "(for workers without the shared filesystem; every byte passes through this machine)",
    )
    common.settings_flags(parser)
    common.max_pixels_flag(parser)


def run(args: argparse.Namespace) -> None:
    """Run the batch and print its summary; CommandFailed (exit 1) if some files failed."""
    from .. import batch

    _check_direction(args)
    settings = common.settings_from(args)
    inputs = _inputs(args)
    how = batch.BatchSettings(
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
            decoding = {
                "image_format": args.format or common.DEFAULT_IMAGE_FORMAT,
                "strip": args.strip,
                "max_pixels": args.max_pixels,
            }
            results = batch.decode_many(inputs, args.output, **decoding, **how)
        else:
            results = batch.encode_many(inputs, args.output, settings=settings, **how)
    except KeyboardInterrupt:
        message = "interrupted: the outputs written are whole; run again with --skip-existing to finish"
        raise CommandFailed(message, EX_INTERRUPTED) from None
    if not inputs:  # the batch of none still refused bad options
        print(f"rcodec: note: {_nothing_found(args)}; nothing to do", file=sys.stderr)
        return
    ran = sum(r.status != batch.SKIPPED for r in results)
    where = f"the Dask cluster at {args.scheduler}" if args.scheduler else _local_workers(args.jobs, ran)
    print(summary(results, time.perf_counter() - start, args.decode, where if ran else None))
    failed = sum(r.status == batch.FAILED for r in results)
    if failed:
        raise CommandFailed(f"{failed} of {len(results)} files failed", EX_SOME_FAILED)


def _inputs(args: argparse.Namespace) -> list[Path]:
    """The files a batch works on: images Pillow reads (or .rgc files, decoding) in IN_DIR, sorted."""
    from ..errors import OptionError

    in_dir, out_dir = args.input.resolve(), args.output.resolve()
    if not in_dir.is_dir():
        raise CommandFailed(f"{args.input}: not a folder", EX_NOINPUT)
    if out_dir.exists() and not out_dir.is_dir():
        raise CommandFailed(f"{args.output}: not a folder, so no output can be created in it", EX_CANTCREAT)
    if out_dir == in_dir or out_dir.is_relative_to(in_dir):
        raise OptionError(f"{args.output}: must be outside IN_DIR {args.input}, which a batch only reads")
    wanted = {".rgc"} if args.decode else common.readable_extensions() - {".rgc"}
    found = in_dir.rglob("*") if args.recursive else in_dir.iterdir()
    return sorted(
        path
        for path in found
        if path.suffix.lower() in wanted
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(in_dir).parts)
    )


def _check_direction(args: argparse.Namespace) -> None:
    """OptionError for flags of the other direction, which would be ignored: encode settings with --decode,
    --format and --max-pixels without it (--strip serves both)."""
    from ..errors import OptionError

    if args.decode:
        encoding = [flag for flag in common.settings_flags_given(args) if flag != "--strip"]
        if encoding:
            raise OptionError(f"{', '.join(encoding)}: encode settings, which --decode does not use")
    elif args.format is not None or args.max_pixels != common.DEFAULT_MAX_PIXELS:
        raise OptionError("--format and --max-pixels are for --decode: encoding writes .rgc files")


def _nothing_found(args: argparse.Namespace) -> str:
    """What a batch that found no input files says, with a hint when IN_DIR has subfolders."""
    what = ".rgc files" if args.decode else "images Pillow reads"
    hint = ""
    if not args.recursive and any(path.is_dir() for path in args.input.iterdir()):
        hint = " (its subfolders are read with --recursive)"
    return f"no {what} in {args.input}{hint}"


def _local_workers(jobs: int | None, files: int) -> str:
    """How a local batch ran, for its summary."""
    from ..batch import default_jobs

    workers = max(1, min(jobs or default_jobs(), files))
    return "1 process" if workers == 1 else f"{workers} processes"


def summary(results: list, seconds: float, decoding: bool, where: str | None) -> str:  # type: ignore[type-arg]
    """The table printed at the end of a batch, with every failure and its reason; where is None if nothing ran."""
    from ..batch import DONE, FAILED, SKIPPED

    done = [r for r in results if r.status == DONE]
    counts = {status: sum(r.status == status for r in results) for status in (SKIPPED, FAILED)}
    in_bytes, out_bytes = sum(r.in_bytes for r in done), sum(r.out_bytes for r in done)
    saving = f"{1 - out_bytes / in_bytes:.1%}" if in_bytes and not decoding else "-"
    lines = [
        f"{'':<10}{'files':>7}{'input B':>15}{'output B':>15}{'saved':>8}",
        f"{'decoded' if decoding else 'encoded':<10}{len(done):>7}{in_bytes:>15,}{out_bytes:>15,}{saving:>8}",
        f"{'skipped':<10}{counts[SKIPPED]:>7}",
        f"{'failed':<10}{counts[FAILED]:>7}",
        f"{len(results)} file{'' if len(results) == 1 else 's'} in {seconds:.1f} s"
        + (f" ({len(done) / seconds:.1f} files/s)" if done else "")
        + (f" on {where}" if where else ""),
    ]
    unwritten = sorted({name for r in done for name in r.unwritten})
    if unwritten:
        lines.append(f"note: the output format cannot hold {', '.join(unwritten)}; those files were written without")
    lines += [f"failed: {r.error}" for r in results if r.status == FAILED]
    return "\n".join(lines)
