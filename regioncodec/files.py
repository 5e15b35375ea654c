"""Reading input files, and writing output files so that nothing a user owns is lost.

Output goes to a temporary file in the target folder and is moved into place
only when complete: an error or interruption leaves no partial file, and an
existing file is never replaced unless asked.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import OpenError, WriteError

TEMP_TOKEN_BYTES = 4  # random bytes in a temporary file's name (.NAME.<hex>.tmp), so writers never share one


def read_bytes(path: Path) -> bytes:
    """The bytes of an input file."""
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise OpenError(f"{path}: cannot open: {exc.strerror}") from None


def write_atomic(path: Path, write: Callable[[BinaryIO], object], *, force: bool, source: Path | None = None) -> None:
    """Run write on a temporary file next to path, then move it to path.

    Refuses (WriteError) to replace an existing path unless force, and to
    write over source even with force.
    """
    if source is not None and path.exists() and path.samefile(source):
        raise WriteError(f"{path} is the input file; refusing to write over it")
    if path.exists() and not force:
        raise WriteError(f"{path} exists; use --force to replace it")
    temp = path.with_name(f".{path.name}.{secrets.token_hex(TEMP_TOKEN_BYTES)}.tmp")
    with _interrupt_held():
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            _move(temp, path, force)
        finally:
            temp.unlink(missing_ok=True)


def remove_temporaries(path: Path) -> None:
    """Delete the temporary files write_atomic left beside path when its process was killed mid-write.

    Only for a path no other writer is working on: a batch calls it before it
    writes a file again whose worker died.
    """
    for temp in path.parent.glob(f".{glob.escape(path.name)}.{'[0-9a-f]' * 2 * TEMP_TOKEN_BYTES}.tmp"):
        temp.unlink(missing_ok=True)


@contextlib.contextmanager
def _interrupt_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block is done, then act on it.

    A KeyboardInterrupt can otherwise land between creating the temporary
    file and the try that removes it, or inside that clean-up, and leave the
    file behind. Signals reach only the main thread; elsewhere this does nothing.
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:  # None: not set from Python
        yield
        return
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(signal.SIGINT, None)  # Python's default handler raises KeyboardInterrupt here
        elif received and previous == signal.SIG_DFL:
            signal.raise_signal(signal.SIGINT)


def _move(temp: Path, path: Path, force: bool) -> None:
    """Put temp at path: replace with force, else link so that a file appearing meanwhile is kept."""
    if force:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)
    except FileExistsError:
        raise WriteError(f"{path} exists; use --force to replace it") from None
    except OSError:  # a filesystem without hard links: the exists() check above is all we have
        os.replace(temp, path)
