"""rcodec info: what a .rgc file holds, read without decoding its pixels."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..info import Info

EXAMPLES = """examples:
  rcodec info photo.rgc
  rcodec info photo.rgc --json
  curl -s https://example.org/photo.rgc | rcodec info -"""


def arguments(parser: argparse.ArgumentParser) -> None:
    """IN.rgc and --json."""
    parser.description = "Print size, mode, block size, foreground share and per-region coding of IN.rgc."
    parser.epilog = EXAMPLES
    parser.add_argument("input", metavar="IN.rgc", help="- reads standard input")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> None:
    """Print the file's description."""
    from ..errors import named
    from ..info import read_info
    from . import common

    data, name = common.read_input(args)
    with named(name):
        info = read_info(data)
    print(json.dumps(info.as_dict(), indent=2) if args.json else table(name, info))


def table(path: Path, info: Info) -> str:
    """Human-readable lines for rcodec info."""
    lines = [
        f"{path}: {info.width}x{info.height} {info.mode}, {info.block_size}-pixel blocks, {info.file_bytes:,} bytes",
        f"above the lowest level: {info.fg_fraction:.1%} of the pixels",
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
