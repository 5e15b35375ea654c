"""One file's work in a batch: what a worker is sent (Task), what it sends back (FileResult), and doing it.

A task never raises: a file that fails is a result with its reason, so the
rest of the batch goes on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import files, imagefiles
from ..errors import RegionCodecError

ENCODE, DECODE = "encode", "decode"
DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass(frozen=True)
class FileResult:
    """What happened to one file of a batch."""

    source: Path
    output: Path
    status: str  # done, skipped (the output existed) or failed
    in_bytes: int = 0
    out_bytes: int = 0
    seconds: float = 0.0
    error: str | None = None  # why it failed, in one line
    unwritten: tuple[str, ...] = ()  # metadata the output format could not hold (decoding)

    @property
    def saved_bytes(self) -> int:
        """Input bytes minus output bytes (negative when the output is larger)."""
        return self.in_bytes - self.out_bytes


@dataclass(frozen=True)
class Task:
    """One file's work, as sent to a worker process or a Dask worker."""

    direction: str
    source: Path
    output: Path
    options: dict[str, Any] = field(default_factory=dict)
    force: bool = False
    payload: bytes | None = None  # the input's bytes, for a worker that cannot see the path (ship_bytes)


def run_tasks(tasks: list[Task]) -> list[tuple[FileResult, bytes | None]]:
    """Do each file's work in turn (see run_task)."""
    return [run_task(task) for task in tasks]


def run_task(task: Task) -> tuple[FileResult, bytes | None]:
    """Do one file's work and never raise: (its result, the output's bytes if they must be sent back)."""
    start = time.perf_counter()
    unwritten: tuple[str, ...] = ()
    try:
        data = task.payload if task.payload is not None else files.read_bytes(task.source)
        if task.direction == ENCODE:
            out = imagefiles.encode_data(data, task.source, **task.options)
        else:
            image_format = imagefiles.output_format(task.output)
            out, unwritten = imagefiles.decode_data(data, task.source, image_format, **task.options)
        if task.payload is None:
            write = lambda handle: handle.write(out)  # noqa: E731
            imagefiles.write_output(task.output, write, force=task.force, sources=(task.source,))
    except RegionCodecError as exc:
        return FileResult(task.source, task.output, FAILED, error=str(exc)), None
    except Exception as exc:  # noqa: BLE001 - a bug: report it against the file and let the batch go on
        error = one_line(f"internal error: {type(exc).__name__}: {exc}")
        return FileResult(task.source, task.output, FAILED, error=error), None
    seconds = time.perf_counter() - start
    result = FileResult(task.source, task.output, DONE, len(data), len(out), seconds, unwritten=unwritten)
    return result, (out if task.payload is not None else None)


def one_line(text: str) -> str:
    """text with its line breaks and runs of spaces made single spaces, for a one-line report."""
    return " ".join(text.split())
