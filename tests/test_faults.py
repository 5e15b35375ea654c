"""Faults from outside: outputs that are not regular files, writers killed mid-write, batches killed with SIGKILL.

Each test here failed before its fix (issue "hostile input and faults, round two", defects 1, 6 and 7).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from regioncodec import WriteError, files

from .conftest import ROOT, SAMPLES
from .helpers import rcodec

SAMPLE = ROOT / "samples" / "kodim04.jpg"
ORPHAN_GRACE = 5.0  # seconds after a SIGKILL of the batch by which none of its processes may be left (the issue's)


def special_targets(folder: Path) -> dict[str, Path]:
    """A FIFO, a socket, a folder, a symbolic link to a file, and (as root) a null device node, in folder."""
    targets = {"fifo": folder / "fifo.rgc", "socket": folder / "socket.rgc", "folder": folder / "folder.rgc"}
    os.mkfifo(targets["fifo"])
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(targets["socket"]))
    server.close()
    targets["folder"].mkdir()
    (folder / "real.rgc").write_bytes(b"precious")
    targets["link"] = folder / "link.rgc"
    targets["link"].symlink_to(folder / "real.rgc")
    if os.geteuid() == 0:  # a character device of our own, not the system's /dev/null (the bug replaced that)
        targets["device"] = folder / "null.rgc"
        os.mknod(targets["device"], stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return targets


def kinds(folder: Path) -> dict[str, int]:
    """Each entry of folder and the file type lstat gives it."""
    return {path.name: stat.S_IFMT(path.lstat().st_mode) for path in folder.iterdir()}


@pytest.mark.parametrize("force", [False, True])
def test_outputs_that_are_not_regular_files_are_never_replaced(tmp_path: Path, force: bool) -> None:
    """`rcodec encode in.png /dev/null --force` replaced /dev/null with a regular file (run as root).

    A folder is no exception: the command line writes IN's name inside it (as cp does), never over it.
    """
    targets = special_targets(tmp_path)
    folder = targets.pop("folder")
    before = kinds(tmp_path)
    for name, target in targets.items():
        done = rcodec("encode", SAMPLE, target, *(["--force"] if force else []))
        assert done.returncode == 73, (name, done.stderr)
        assert ("not a regular file" in done.stderr) or (not force and "exists" in done.stderr), done.stderr
    assert kinds(tmp_path) == before and (tmp_path / "real.rgc").read_bytes() == b"precious"
    assert rcodec("encode", SAMPLE, folder, *(["--force"] if force else [])).returncode == 0
    assert folder.is_dir() and [p.name for p in folder.iterdir()] == [f"{SAMPLE.stem}.rgc"]


def test_library_refuses_special_targets_with_force(tmp_path: Path) -> None:
    for name, target in special_targets(tmp_path).items():
        with pytest.raises(WriteError, match="not a regular file"):
            files.write_atomic(target, lambda handle: handle.write(b"x"), force=True)
        assert not stat.S_ISREG(target.lstat().st_mode), name


def test_regular_files_are_still_replaced_with_force(tmp_path: Path) -> None:
    out = tmp_path / "out.bin"
    files.write_atomic(out, lambda handle: handle.write(b"old"), force=False)
    with pytest.raises(WriteError, match="exists"):
        files.write_atomic(out, lambda handle: handle.write(b"new"), force=False)
    files.write_atomic(out, lambda handle: handle.write(b"new"), force=True)
    assert out.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["out.bin"]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444])
def test_replacing_a_file_keeps_who_may_read_it(tmp_path: Path, mode: int) -> None:
    """--force replaced a private file with one the umask made world-readable."""
    out = tmp_path / "out.bin"
    out.write_bytes(b"old")
    out.chmod(mode)
    files.write_atomic(out, lambda handle: handle.write(b"new"), force=True)
    assert out.read_bytes() == b"new" and stat.S_IMODE(out.stat().st_mode) == mode


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from regioncodec import files

def write(handle):
    handle.write(b"x" * 1_000_000)
    handle.flush()
    os.kill(os.getpid(), signal.SIGKILL)

files.write_atomic(Path(sys.argv[1]), write, force=sys.argv[2] == "force")
"""


@pytest.mark.parametrize("force", ["new", "force"])
def test_a_writer_killed_mid_write_leaves_nothing(tmp_path: Path, force: str) -> None:
    """SIGKILL during a write: the temporary file has no name yet (O_TMPFILE), so nothing stays behind."""
    out = tmp_path / "x.bmp"
    if force == "force":
        out.write_bytes(b"old")
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(out), force], capture_output=True)
    assert done.returncode == -signal.SIGKILL
    assert sorted(p.name for p in tmp_path.iterdir()) == (["x.bmp"] if force == "force" else [])


def test_stale_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    """Temporaries named as write_atomic names them (an older version, or a filesystem without O_TMPFILE)."""
    stale = [tmp_path / ".x.bmp.0123abcd.tmp", tmp_path / ".other.png.89abcdef.tmp"]
    for path in stale:
        path.write_bytes(b"half")
        os.utime(path, (time.time() - 60, time.time() - 60))  # left by a run killed a minute ago
    (tmp_path / ".new.png.01234567.tmp").write_bytes(b"just made")  # a writer that has not locked it yet
    live = tmp_path / ".y.png.fedcba98.tmp"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'wb'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)", str(live)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        (tmp_path / "keep.tmp").write_bytes(b"not ours")
        files._swept.discard(os.path.abspath(tmp_path))
        files.write_atomic(tmp_path / "x.bmp", lambda handle: handle.write(b"whole"), force=False)
        left = [".new.png.01234567.tmp", ".y.png.fedcba98.tmp", "keep.tmp", "x.bmp"]
        assert sorted(p.name for p in tmp_path.iterdir()) == left
    finally:
        holder.kill()
        holder.wait()


def test_a_rerun_with_skip_existing_removes_stale_temporaries(tmp_path: Path) -> None:
    """A batch killed mid-write left .NAME.<hex>.tmp beside outputs; the rerun, which skips them all, removes it."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    shutil.copy(SAMPLES[0], folder)
    assert rcodec("batch", folder, out, "--jobs", "1", "--quiet").returncode == 0
    stale = out / f".{SAMPLES[0].stem}.rgc.0badcafe.tmp"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 60, time.time() - 60))
    assert rcodec("batch", folder, out, "--jobs", "1", "--quiet", "--skip-existing").returncode == 0
    assert [p.name for p in out.iterdir()] == [f"{SAMPLES[0].stem}.rgc"]


def session_processes(session: int) -> list[int]:
    """PIDs of the live (not zombie) processes whose session is session."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":  # fields after the name: state, ppid, pgrp, session
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigkill_of_a_batch_leaves_no_process(tmp_path: Path) -> None:
    """kill -9 of `rcodec batch`: its workers, the forkserver and the resource tracker all end within 5 s."""
    folder = tmp_path / "in"
    folder.mkdir()
    for index in range(60):
        shutil.copy(SAMPLES[index % len(SAMPLES)], folder / f"{index:03}.jpg")
    out = tmp_path / "out"
    batch = subprocess.Popen(
        [sys.executable, "-m", "regioncodec", "batch", folder, out, "--jobs", "2", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out.is_dir() and any(out.glob("*.rgc"))):
        time.sleep(0.02)
    assert batch.poll() is None, "the batch ended before it could be killed"
    assert len(session_processes(batch.pid)) >= 4  # the batch, the forkserver, two workers (and the tracker)
    batch.kill()
    batch.wait()
    deadline = time.monotonic() + ORPHAN_GRACE
    while session_processes(batch.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = session_processes(batch.pid)
    for pid in left:  # do not leave them to the rest of the test run
        os.kill(pid, signal.SIGKILL)
    assert not left, textwrap.shorten(f"processes left: {left}", 200)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_named_temporaries_where_o_tmpfile_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without O_TMPFILE (NFS, FUSE) the temporary is named and locked while written; writes still land whole."""
    monkeypatch.setattr(files, "PROC_FD", tmp_path / "no-proc")
    seen: list[list[str]] = []

    def write(handle: object) -> None:
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        handle.write(b"whole")  # type: ignore[attr-defined]

    out = tmp_path / "out.bin"
    files.write_atomic(out, write, force=False)
    files.write_atomic(out, write, force=True)
    assert all(len(names) == 1 and files.TEMP_NAME.fullmatch(names[0]) for names in seen[:1])
    assert out.read_bytes() == b"whole" and [p.name for p in tmp_path.iterdir()] == ["out.bin"]
    with pytest.raises(WriteError, match="not a regular file"):
        files.write_atomic(tmp_path, write, force=True)
