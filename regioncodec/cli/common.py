"""What several subcommands share: the encode settings as flags, paths, --force, and writing outputs."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ..container import DEFAULT_MAX_PIXELS
from ..settings import EncodeSettings, SegmentOptions

SEGMENTATION_FLAGS = ("method", "block_size")  # the EncodeSettings fields `rcodec mask` takes too
WANTED = {  # what each parse function reads, for the message when it cannot
    "int": "an integer",
    "float": "a number",
    "str": "text",
    "positive": "a positive integer",
    "bytes_with_unit": "a number of bytes such as 80000 or 80kB",
    "_scale": "1, 2, 4 or auto",
}


def paths(parser: argparse.ArgumentParser, *names: str, replaces: str | None = None) -> None:
    """Positional paths (input, then output) and, with an output, --force; replaces says what --force replaces."""
    for dest, metavar in zip(("input", "output"), names, strict=False):
        parser.add_argument(dest, metavar=metavar, type=Path)
    if len(names) > 1:
        parser.add_argument("--force", action="store_true", help=f"replace {replaces or names[1] + ' if it exists'}")


def settings_flags(parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None) -> None:
    """A flag for each EncodeSettings field in names (all by default), and one per SegmentOptions control.

    Every flag defaults to None (False for switches), so that a flag given can
    be told from one left out: EncodeSettings refuses a combination that would
    ignore a flag given.
    """
    from ..codecs import CODECS
    from ..segmentation import METHODS

    for field in dataclasses.fields(EncodeSettings):
        if field.name == "segmentation" or (names is not None and field.name not in names):
            continue
        help_text = field.metadata["help"].format(methods=", ".join(METHODS), codecs=", ".join(CODECS))
        _flag(parser, field, help_text)
    for control in dataclasses.fields(SegmentOptions):
        _flag(parser, control, control.metadata["help"])


def _flag(parser: argparse.ArgumentParser, field: dataclasses.Field[Any], help_text: str) -> None:
    """One --flag-name for a settings field: a switch when it has no parser, else a value read by its parser."""
    flag = f"--{field.name.replace('_', '-')}"
    parse = field.metadata["parse"]
    if parse is None:
        parser.add_argument(flag, action="store_true", help=help_text)
    else:
        parser.add_argument(flag, type=readable(parse), metavar=field.metadata["metavar"], help=help_text)


def readable(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a parse function: text it cannot read is a usage error saying what it must be."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except (ValueError, KeyError, OverflowError):
            wanted = WANTED.get(parse.__name__, "readable")
            raise argparse.ArgumentTypeError(f"must be {wanted}, not {text!r}") from None

    convert.__name__ = parse.__name__  # argparse names the type in its messages
    return convert


def settings_from(args: argparse.Namespace) -> EncodeSettings:
    """EncodeSettings of the flags given (the others keep their defaults); OptionError if they do not go together."""
    given = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(EncodeSettings)
        if getattr(args, field.name, None) is not None and getattr(args, field.name) is not False  # 0 is given
    }
    controls = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(SegmentOptions)
        if getattr(args, field.name, None) is not None
    }
    if controls:
        given["segmentation"] = SegmentOptions(**controls)
    return EncodeSettings(**given)


def positive(text: str) -> int:
    """argparse type: a positive integer."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def max_pixels_flag(parser: argparse.ArgumentParser) -> None:
    """--max-pixels, decode's limit."""
    parser.add_argument(
        "--max-pixels",
        type=readable(positive),
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help="refuse images with more pixels (default %(default)s, as Pillow)",
    )


def write(path: Path, write_to: Callable[[BinaryIO], object], args: argparse.Namespace) -> None:
    """Write an output atomically, never over the input, as the command's --force says."""
    from ..imagefiles import write_output

    write_output(path, write_to, force=args.force, source=getattr(args, "input", None))


def readable_extensions() -> set[str]:
    """File extensions of the image formats Pillow opens."""
    from PIL import Image

    Image.init()
    return {ext for ext, image_format in Image.registered_extensions().items() if image_format in Image.OPEN}


@contextlib.contextmanager
def quiet_c_stderr(*, unless: bool) -> Iterator[None]:
    """Send what C libraries write to file descriptor 2 meanwhile to the null device (unless is true).

    libjpeg inside OpenCV prints warnings such as "Corrupt JPEG data: bad
    Huffman code" for damaged streams straight to descriptor 2, where no
    Python code can catch them; the command line promises one line on
    stderr, so they are dropped, and --debug shows them.
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
