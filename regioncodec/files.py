"""Reading input files, and writing output files so that nothing a user owns is lost.

Output goes to a temporary file in the target folder and is moved into place
only when complete: an error or interruption leaves no partial file, and an
existing file is never replaced unless asked. Only a regular file is ever
replaced: a device, FIFO, socket, folder or symbolic link at the target is
refused, with or without force (writing to the null device as root once
replaced it with a regular file).

Where the system allows it (Linux: O_TMPFILE), the temporary file has no name
until it is complete, so a writer killed with SIGKILL leaves nothing behind.
Elsewhere it is named .NAME.<hex>.tmp and locked (flock) while its writer
lives; the first write into a folder removes such files whose writer died (older than
STALE_AFTER_SECONDS, so that one just made and not yet locked is left alone).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import secrets
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from .errors import OpenError, WriteError

try:
    import fcntl
except ImportError:  # not POSIX: temporaries are named and unlocked, and never swept
    fcntl = None  # type: ignore[assignment]

TEMP_TOKEN_BYTES = 4  # random bytes in a temporary file's name (.NAME.<hex>.tmp), so writers never share one
TEMP_NAME = re.compile(rf"\..+\.[0-9a-f]{{{2 * TEMP_TOKEN_BYTES}}}\.tmp")  # what write_atomic names its temporaries
PROC_FD = Path("/proc/self/fd")  # linkat() through /proc names an O_TMPFILE file without privileges (open(2))
# O_TMPFILE is refused by filesystems without it (EOPNOTSUPP, EISDIR on kernels before 3.11, EINVAL): named temporary
UNNAMED_REFUSED = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL)
STALE_AFTER_SECONDS = 2.0  # a named temporary is locked an instant after it is made: younger ones are left alone
KINDS = {  # what a target that is not a regular file is, for the message (stat.S_IFMT)
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
    stat.S_IFLNK: "a symbolic link",
}

_swept: set[str] = set()  # folders whose dead writers' temporaries this process has removed already


def read_bytes(path: Path) -> bytes:
    """The bytes of an input file."""
    try:
        return path.read_bytes()
    except OSError as exc:  # not found, a folder, no permission, a loop of links, a name too long, ...
        raise OpenError(f"{path}: cannot open: {exc.strerror or exc}") from None


def write_atomic(path: Path, write: Callable[[BinaryIO], object], *, force: bool, sources: Sequence[Path] = ()) -> None:
    """Run write on a temporary file next to path, then move it to path.

    Refuses (WriteError) to replace an existing path unless force, to write
    over any of sources (the inputs) even with force, and to replace anything
    but a regular file.
    """
    check_target(path, force=force, sources=sources)
    _sweep(path.parent)
    with _interrupt_held(), _temporary(path) as (handle, named):
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
        _publish(handle, named, path, force)


def check_target(path: Path, *, force: bool, sources: Sequence[Path] = ()) -> None:
    """WriteError unless path may be written: new, or (with force) a regular file that is none of sources."""
    for source in sources if path.exists() else ():
        if source.exists() and path.samefile(source):
            raise WriteError(f"{path} is an input file ({source}); refusing to write over it")
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError:  # ENOTDIR, EACCES...: creating the file will say what is wrong
        return
    if not stat.S_ISREG(mode):
        kind = KINDS.get(stat.S_IFMT(mode), "not a regular file")
        raise WriteError(f"{path} is {kind}, not a regular file; refusing to write there (--force replaces files only)")
    if not force:
        raise WriteError(f"{path} exists; use --force to replace it")


def write_stdout(write: Callable[[BinaryIO], object]) -> None:
    """Run write on a buffer, then put the whole of it on standard output: an error before the end writes nothing.

    BrokenPipeError (the reader went away) is left to the caller; other
    failures to write (a full disk under a redirection) are WriteError.
    """
    buffer = io.BytesIO()
    write(buffer)
    try:
        sys.stdout.flush()  # anything printed before goes first
        sys.stdout.buffer.write(buffer.getbuffer())
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise WriteError(f"standard output: cannot write: {exc.strerror or exc}") from None


def remove_temporaries(path: Path) -> None:
    """Delete the temporary files write_atomic left beside path when its process was killed mid-write.

    A temporary file whose writer still runs is locked, and kept.
    """
    _remove_dead(path.parent, f".{path.name}.", 0.0)  # its writer is known to be dead: however young


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete every temporary file of write_atomic in folder whose writer is dead (unlocked, and not made in the
    last STALE_AFTER_SECONDS); return them."""
    return _remove_dead(folder, "", STALE_AFTER_SECONDS)


def _remove_dead(folder: Path, prefix: str, min_age: float) -> list[Path]:
    """Delete write_atomic's temporary files in folder named prefix... that no live writer holds (_remove_if_dead)."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.name.startswith(prefix) and TEMP_NAME.fullmatch(entry.name):
                if _remove_if_dead(Path(entry.path), min_age):
                    removed.append(Path(entry.path))
    return removed


def _sweep(folder: Path) -> None:
    """remove_stale_temporaries(folder), once per folder in this process (a batch writes many files there)."""
    key = os.path.abspath(folder)
    if key not in _swept:
        remove_stale_temporaries(folder)
        _swept.add(key)


def _remove_if_dead(temp: Path, min_age: float) -> bool:
    """Unlink temp if it is a regular file at least min_age seconds old that no live writer holds locked."""
    if fcntl is None:
        return False
    try:
        fd = os.open(temp, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode) or time.time() - status.st_mtime < min_age:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # its writer holds it: alive
            return False
        temp.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


@contextlib.contextmanager
def _temporary(path: Path) -> Iterator[tuple[BinaryIO, Path | None]]:
    """An open temporary file in path's folder, locked, and its name (None while it has none); gone on error."""
    fd, named = _open_temporary(path)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # while this process lives, a sweep by another leaves the file alone
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            try:
                yield handle, named
            finally:
                if named is not None:
                    named.unlink(missing_ok=True)  # published by a link, or failed: the name goes either way
    finally:
        if fd >= 0:
            os.close(fd)


def _open_temporary(path: Path) -> tuple[int, Path | None]:
    """A file descriptor of a new file in path's folder: unnamed (O_TMPFILE) where possible, else named."""
    unnamed = getattr(os, "O_TMPFILE", 0)
    if unnamed and PROC_FD.is_dir():
        try:
            return os.open(path.parent, unnamed | os.O_WRONLY, 0o666), None
        except OSError as exc:
            if exc.errno not in UNNAMED_REFUSED:
                raise
    temp = _temp_name(path)
    return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temp


def _temp_name(path: Path) -> Path:
    """A fresh temporary name beside path: .NAME.<hex>.tmp."""
    return path.with_name(f".{path.name}.{secrets.token_hex(TEMP_TOKEN_BYTES)}.tmp")


def _publish(handle: BinaryIO, named: Path | None, path: Path, force: bool) -> None:
    """Give the complete temporary file the name path: a new link, or (force) the replacement of a regular file."""
    if named is None:
        if not force:
            _link_new(lambda: _link_unnamed(handle, path), path)
            return
        named = _temp_name(path)
        _link_unnamed(handle, named)  # named only for the instant before the rename
        try:
            _replace(named, path)
        finally:
            named.unlink(missing_ok=True)
    elif force:
        _replace(named, path)
    else:
        _link_new(lambda: os.link(named, path), path, named)


def _link_unnamed(handle: BinaryIO, path: Path) -> None:
    """Give the O_TMPFILE file open as handle the name path: linkat(AT_SYMLINK_FOLLOW) of its /proc/self/fd link."""
    root = os.open("/", os.O_RDONLY)
    try:  # a directory fd makes os.link call linkat() with the flag; the absolute source path ignores it
        os.link(PROC_FD / str(handle.fileno()), path, src_dir_fd=root, follow_symlinks=True)
    finally:
        os.close(root)


def _link_new(link: Callable[[], None], path: Path, named: Path | None = None) -> None:
    """Run link, which creates path: a file that appeared there meanwhile is kept (WriteError)."""
    try:
        link()
    except FileExistsError:
        raise WriteError(f"{path} exists; use --force to replace it") from None
    except OSError as exc:  # a filesystem without hard links: check again, then rename the named file
        if named is None or exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        check_target(path, force=False)
        os.replace(named, path)


def _replace(temp: Path, path: Path) -> None:
    """Rename temp over path, after checking once more that path is a regular file (or absent)."""
    check_target(path, force=True)
    _keep_access(temp, path)
    os.replace(temp, path)


def _keep_access(temp: Path, path: Path) -> None:
    """Give temp the permissions, and where this process may, the owner and group of the file at path it replaces:
    --force replaces a file's content, not who may read it (a new file gets 0o666 less the umask)."""
    try:
        old = os.stat(path)
    except FileNotFoundError:
        return
    if hasattr(os, "chown"):
        with contextlib.suppress(PermissionError):  # only root gives a file away; the mode is kept regardless
            os.chown(temp, old.st_uid, old.st_gid)  # before chmod, which chown would undo for set-id bits
    with contextlib.suppress(OSError):  # a filesystem without modes (some FUSE and network mounts): write anyway
        os.chmod(temp, stat.S_IMODE(old.st_mode))


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
