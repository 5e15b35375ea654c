"""What several subcommands share: the encode settings as flags, paths, --force, and reading and writing files.

IN may be - for standard input, OUT - for standard output (a file named -
is ./-); OUT may also be given as -o OUT, as cwebp and cjpeg take it, and
may name a folder, where the output gets IN's name.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..container import DEFAULT_MAX_PIXELS
from ..errors import OptionError, WriteError
from ..segmentation import SegmentOptions
from ..settings import EncodeSettings

if TYPE_CHECKING:
    from ..pixels import ImageLike

SEGMENTATION_FLAGS = ("method", "block_size")  # the EncodeSettings fields `rcodec mask` takes too
STDIO = "-"  # as IN, standard input; as OUT, standard output (a file of that name is ./-)
STDIN, STDOUT = Path("<stdin>"), Path("<stdout>")  # how messages name them
DETAIL_DENSITY = 0.04  # a block with this share of edge pixels holds detail: a line of text at 10-12 pt on a
# 300 dpi scan has far more, smooth paper and scanner noise far less (edges' own EDGE_STEP decides what an edge is)
DETAIL_SHARE = 0.02  # a page with detail in this share of its blocks "clearly has" something worth keeping
MAX_PORT = 65_535  # TCP ports are 16-bit
DEFAULT_IMAGE_FORMAT = "PNG"  # what decode and mask write to standard output or into a folder: lossless, keeps alpha
WANTED = {  # what each parse function reads, for the message when it cannot
    "int": "an integer",
    "float": "a number",
    "str": "text",
    "positive": "a positive integer",
    "port": f"a port number from 0 to {MAX_PORT}",
    "bytes_with_unit": "a number of bytes such as 80000 or 80kB",
    "_scale": "1, 2, 4 or auto",
    "quality": "an integer from 1 to 100",
    "colour": "a colour such as white, #rrggbb or rgb(r,g,b)",
}


def paths(parser: argparse.ArgumentParser, *names: str, replaces: str | None = None, stdio: bool = False) -> None:
    """Positional paths (input, then output, which -o may give instead) and, with an output, --force.

    replaces says what --force replaces. With stdio, both stay text, for
    input_of and output_of to read - and folders.
    """
    kind = str if stdio else Path
    parser.add_argument("input", metavar=names[0], type=kind, help="- reads standard input" if stdio else None)
    if len(names) > 1:
        where = "; - writes to standard output, a folder gets IN's name" if stdio else ""
        parser.add_argument("output", metavar=names[1], type=kind, nargs="?", help=f"or -o {names[1]}{where}")
        parser.add_argument(
            "-o", "--output", dest="output_flag", metavar=names[1], type=kind, help=f"{names[1]}, as a flag"
        )
        replaced = replaces or f"{names[1]} if it exists" + ("; write binary data to a terminal" if stdio else "")
        parser.add_argument("--force", action="store_true", help=f"replace {replaced}")


def input_of(args: argparse.Namespace) -> tuple[Path | None, Path]:
    """IN as (its path, or None for standard input; its name for messages)."""
    return (None, STDIN) if args.input == STDIO else (Path(args.input), Path(args.input))


def read_input(args: argparse.Namespace) -> tuple[bytes, Path]:
    """The bytes of IN (standard input's, or the file's) and its name for messages."""
    from ..files import read_bytes

    path, name = input_of(args)
    return (sys.stdin.buffer.read() if path is None else read_bytes(path)), name


def output_of(args: argparse.Namespace, suffix: str) -> tuple[Path | None, bool]:
    """OUT as (its path, or None for standard output; whether it was a folder, where the file gets IN's name + suffix).

    Checked before any work: standard output must not be a terminal (binary
    data would garble it) unless --force, and a folder must exist and IN
    must have a name.
    """
    text = args.output
    if text == STDIO:
        if sys.stdout.isatty() and not args.force:
            raise OptionError(
                "standard output is a terminal: redirect it (> FILE, | PROGRAM), or give --force to write binary data"
            )
        return None, False
    path = Path(text)
    if not (path.is_dir() or text.endswith(("/", os.sep))):
        return path, False
    if not path.is_dir():
        raise WriteError(f"{text}: no such folder, so no output can be created in it")
    source, _ = input_of(args)
    if source is None:
        raise OptionError(f"{text} is a folder; name the output file: standard input has no name to give it")
    return path / (source.stem + suffix), True


def fixed_output(
    args: argparse.Namespace, suffix: str, kind: str, command: str, label: str
) -> tuple[Path | None, bool]:
    """output_of for a command that writes one format (kind, as extension_format names it; label in messages).

    OptionError if OUT's extension names another format, unless --force
    (then the data is written under that name as it is).
    """
    output, into_folder = output_of(args, suffix)
    named = None if output is None else extension_format(output)
    if output is not None and named not in (None, kind) and not args.force:
        raise OptionError(
            f"{output}: its extension says {named}, but {command} writes {label}; name it "
            f"{output.with_suffix(suffix).name}, or give --force to write {label} data under this name"
        )
    return output, into_folder


def write(path: Path | None, write_to: Callable[[BinaryIO], object], args: argparse.Namespace) -> None:
    """Write an output: to standard output (None), or atomically to path, never over IN, as --force says."""
    from ..files import write_stdout
    from ..imagefiles import write_output

    if path is None:
        write_stdout(write_to)
        return
    write_output(path, write_to, force=args.force, sources=_input_files(args))


def _input_files(args: argparse.Namespace) -> list[Path]:
    """The files a command reads, which no output may replace: IN (not standard input), --mask, --quality-map."""
    named = [getattr(args, "mask", None), getattr(args, "quality_map", None)]
    if getattr(args, "input", None) is not None:  # bench has none
        named.append(input_of(args)[0])
    return [Path(path) for path in named if path is not None]


def note(message: str) -> None:
    """Print an rcodec note (not an error) on stderr."""
    print(f"rcodec: note: {message}", file=sys.stderr)


def image_format(args: argparse.Namespace, path: Path | None) -> str:
    """The Pillow format to write an image in: --format if given, else OUT's extension; PNG on standard output.

    OptionError if neither names a format Pillow writes, or if they name two
    different ones (unless --force).
    """
    from ..imagefiles import output_format

    if args.format is None:
        return DEFAULT_IMAGE_FORMAT if path is None else output_format(path)
    try:
        chosen = output_format(Path(f"x{image_suffix(args)}"))
    except OptionError:
        raise OptionError(f"--format {args.format}: not the extension of an image format Pillow writes") from None
    named = None if path is None else extension_format(path)
    if named is not None and named != chosen and not args.force:
        raise OptionError(f"{path}: its extension says {named}, but --format says {chosen}; rename it, or give --force")
    return chosen


def image_suffix(args: argparse.Namespace) -> str:
    """The extension, dot first, of the image format --format names (png, .PNG, ...), else of the default."""
    return "." + (args.format or DEFAULT_IMAGE_FORMAT).lower().lstrip(".")


def extension_format(path: Path) -> str | None:
    """The image format path's extension names to Pillow (RGC for .rgc), or None."""
    from PIL import Image

    if path.suffix.lower() == ".rgc":
        return "RGC"
    Image.init()
    return Image.registered_extensions().get(path.suffix.lower())


def format_flag(parser: argparse.ArgumentParser) -> None:
    """--format, the image format to write when OUT's extension does not say it."""
    parser.add_argument(
        "--format",
        metavar="EXT",
        help=f"image format to write, as an extension (png, jpg, ...): for standard output (default "
        f"{DEFAULT_IMAGE_FORMAT.lower()}), a folder, or an OUT without an extension",
    )


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
    """One --flag-name (and its short flag, if any) for a settings field: a switch when it has no parser, else a
    value read by its parser."""
    flags = [f for f in (field.metadata["short"], f"--{field.name.replace('_', '-')}") if f]
    parse = field.metadata["parse"]
    if parse is None and field.default is True:  # a switch that is on unless turned off: --no-NAME
        name = f"--no-{field.name.replace('_', '-')}"
        parser.add_argument(name, dest=field.name, action="store_const", const=False, default=None, help=help_text)
    elif parse is None:
        parser.add_argument(*flags, action="store_true", help=help_text)
    else:
        parser.add_argument(*flags, type=readable(parse), metavar=field.metadata["metavar"], help=help_text)


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
    given, controls = _given(args)
    if controls:
        given["segmentation"] = SegmentOptions(**controls)
    return EncodeSettings(**given)


def settings_flags_given(args: argparse.Namespace) -> list[str]:
    """The encode settings' flags given, as typed (--no-NAME for a switch turned off), in the order of the fields."""
    given, controls = _given(args)
    fields = [*dataclasses.fields(EncodeSettings), *dataclasses.fields(SegmentOptions)]
    return [
        f"--{'no-' if field.default is True else ''}{field.name.replace('_', '-')}"
        for field in fields
        if field.name in given or field.name in controls
    ]


def _given(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """The EncodeSettings fields and the SegmentOptions controls whose flags were given, by name."""
    given = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(EncodeSettings)
        if getattr(args, field.name, None) is not None
        and (getattr(args, field.name) is not False or field.default is True)  # 0 is given; --no-NAME gives False
    }
    controls = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(SegmentOptions)
        if getattr(args, field.name, None) is not None
    }
    return given, controls


def positive(text: str) -> int:
    """argparse type: a positive integer."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def port(text: str) -> int:
    """argparse type: a TCP port (0: any free one)."""
    value = int(text)
    if not 0 <= value <= MAX_PORT:
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


def no_foreground_hint(image: ImageLike, settings: EncodeSettings) -> str | None:
    """What to say when a method found no foreground in an image with detail (text on a page), or None."""
    from ..api import as_pixels
    from ..pixels import split_alpha
    from ..segmentation import edge_density

    method, _ = settings.segment_with
    colour, _ = split_alpha(as_pixels(image))
    detailed = float((edge_density(colour, settings.block_size) > DETAIL_DENSITY).mean())
    if detailed < DETAIL_SHARE:
        return None
    if "edges" in method.split("+"):
        advice = "--kernel 1 --threshold 0.02 keeps lines of text that the default clean-up removes"
    else:
        advice = "--method edges (the default) codes such blocks as foreground"
    return f"{method} found no foreground, yet {detailed:.0%} of the blocks hold detail such as text; {advice}"
