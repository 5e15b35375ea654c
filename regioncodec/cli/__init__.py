"""The rcodec command line: encode, decode, export, info, mask, bench, batch, view.

Each subcommand lives in its own module (cmd_NAME.py) with `arguments`
(adds its arguments to a parser) and `run` (does it); only the module of the
subcommand asked for is imported, so `rcodec --version` and `rcodec info`
start quickly. The library raises RegionCodecError subclasses; this module
alone turns them into exit statuses (sysexits):

2 usage (a bad option or combination), 65 bad input data, 66 an input cannot
be opened, 69 the Dask scheduler cannot be reached, 73 an output cannot be
created, 70 a bug (run with --debug for the traceback). A batch in which some
files failed exits 1; 130 when interrupted. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from importlib import import_module

from ..errors import OpenError, OptionError, RegionCodecError, SchedulerError, WriteError

EX_SOME_FAILED, EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_UNAVAILABLE, EX_SOFTWARE, EX_CANTCREAT = 1, 2, 65, 66, 69, 70, 73
EX_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

# name: summary; the module is cmd_<name>.
COMMANDS = {
    "encode": "code an image as .rgc",
    "decode": "decode .rgc to an ordinary image",
    "export": "write .rgc as one standard JPEG from its DCT coefficients (no second generation)",
    "info": "describe a .rgc file without decoding it",
    "mask": "show what a segmentation method picks as foreground",
    "bench": "compare with uniform JPEG, jpegli, WebP and AVIF at equal bytes",
    "batch": "encode (or decode) every image in a folder, on every core",
    "view": "show a .rgc file in the browser (the JavaScript decoder's viewer)",
}


class CommandFailed(Exception):
    """A failure the command line reports as one line with its own exit status (not the library's)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, and takes the output as OUT or as -o OUT."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EX_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse, then put -o OUT (common.paths' output_flag) where the positional OUT goes: one of them, once."""
        parsed, extras = super().parse_known_args(args, namespace)
        if "output_flag" in vars(parsed):
            flag = vars(parsed).pop("output_flag")
            metavar = next(action.metavar for action in self._actions if action.dest == "output")
            if flag is not None and parsed.output is not None:
                self.error(f"{metavar} given twice: as {parsed.output!r} and as -o {flag!r}")
            if flag is None and parsed.output is None:
                self.error(f"the following arguments are required: {metavar} (or -o {metavar})")
            parsed.output = flag if flag is not None else parsed.output
        return parsed, extras


class _Version(argparse.Action):
    """--version, which looks the version up only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        import regioncodec
        from regioncodec import compiled

        kernels = "compiled" if compiled.kernels is not None else "numpy (installed without a C compiler: slower)"
        print(f"rcodec {regioncodec.__version__}, kernels: {kernels}")
        parser.exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """Run rcodec with argv (default: sys.argv[1:]) and return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser(next((word for word in argv if word in COMMANDS), None))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return int(exc.code or 0)
    try:
        args.run(args)
    except CommandFailed as exc:
        return _fail(args, str(exc), exc.code)
    except RegionCodecError as exc:
        return _fail(args, str(exc), exit_status(exc))
    except KeyboardInterrupt:
        return _fail(args, "interrupted: no output was written", EX_INTERRUPTED, trace=False)
    except BrokenPipeError:  # the reader of our output went away (rcodec info x.rgc | head -1): nothing to say
        _silence_stdout()
        return 0
    except Exception as exc:  # noqa: BLE001 - a bug: say so in one line, never a bare traceback
        return _fail(args, f"internal error: {type(exc).__name__}: {exc}", EX_SOFTWARE)
    return 0


def exit_status(error: RegionCodecError) -> int:
    """The sysexits status of a library error."""
    for kind, code in ((OptionError, EX_USAGE), (OpenError, EX_NOINPUT), (WriteError, EX_CANTCREAT)):
        if isinstance(error, kind):
            return code
    return EX_UNAVAILABLE if isinstance(error, SchedulerError) else EX_DATAERR


def _fail(args: argparse.Namespace, message: str, code: int, *, trace: bool = True) -> int:
    """Print message as one line (and, with trace, the traceback with --debug); return code."""
    if args.debug and trace:
        traceback.print_exc()
    print(f"rcodec: error: {message}", file=sys.stderr)
    return code


def _silence_stdout() -> None:
    """Point stdout at the null device, so that Python's flush at exit does not fail on the closed pipe again."""
    import os

    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)


def _build_parser(chosen: str | None) -> argparse.ArgumentParser:
    """The rcodec parser, with the arguments of the chosen subcommand (the others are only listed)."""
    parser = Parser(prog="rcodec", description="Region-adaptive image codec.", allow_abbrev=False)
    parser.add_argument("--debug", action="store_true", help="show the traceback on errors")
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(title="commands", required=True, parser_class=Parser, metavar="COMMAND")
    for name, summary in COMMANDS.items():
        sub = commands.add_parser(
            name, help=summary, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
        )
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback on errors")
        if name == chosen:
            module = import_module(f".cmd_{name}", __name__)
            module.arguments(sub)
            sub.set_defaults(run=module.run)
    return parser
