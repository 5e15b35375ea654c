"""Running a batch's tasks on its workers: calls of several files, a pool replaced when a worker dies.

A call to a local worker carries as many files as take about CALL_SECONDS,
fewer towards the end, so that round trips to this process cost little and
the workers finish together. A worker that dies (killed, out of memory)
breaks the pool: a new one takes over, and the files of the broken calls run
again one at a time, so that only a file that kills a worker by itself fails.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import Any

from .. import files, imagefiles
from ..errors import RegionCodecError
from .tasks import DONE, FAILED, SKIPPED, FileResult, Task, one_line

IN_FLIGHT_PER_WORKER = 4  # calls queued per worker: keeps every worker busy without holding the whole batch
CALL_SECONDS = 0.1  # a call to a local worker codes files for about this long: its round trip costs <1%, and
# progress and Ctrl-C stay prompt (a call of one file each cost a 2-job batch of small images 5-10% of its speed)
MAX_RESTARTS = 3  # pools a batch replaces after workers died, with no call done between, before it gives up
WORKER_DIED = (
    "a worker process died: it was killed (out of memory?) or could not start (a script that calls "
    "encode_many or decode_many must do so under `if __name__ == '__main__':`, as multiprocessing requires)"
)


Submit = Callable[[list[Task]], cf.Future[list[tuple[FileResult, bytes | None]]]]


@dataclass(frozen=True)
class Workers:
    """Where a batch's calls run."""

    submit: Submit  # sends a call (some files) and returns its future
    count: int  # how many calls run at once
    grouped: bool  # whether a call may carry several files (see CALL_SECONDS)
    restart: Callable[[], None] | None = None  # replaces a pool that a dying worker broke (local pools)


@dataclass(frozen=True)
class _Call:
    """Files sent in one call, the generation of the pool they went to, and whether they went alone."""

    group: list[tuple[int, Task]]
    pool: int
    alone: bool

    @property
    def indexes(self) -> list[int]:
        """The files' indexes in the batch."""
        return [index for index, _ in self.group]

    @property
    def tasks(self) -> list[Task]:
        """The files' tasks."""
        return [task for _, task in self.group]


class Runner:
    """Runs a batch's tasks on its workers, yielding (index, result) as each file finishes.

    Grouped, a call takes as many files as last about CALL_SECONDS by the
    times so far, and no more than its share of the files left, so the
    workers finish together; otherwise one file per call.

    A worker that dies (killed, out of memory) breaks its pool, and every
    call in it with it. Where the pool can be restarted, the files of those
    calls run again one at a time, each alone in the new pool, so that only a
    file that kills a worker by itself fails; after MAX_RESTARTS breaks with
    no call done between them, the pool stays broken and the rest fail.
    """

    def __init__(self, tasks: dict[int, Task], workers: Workers) -> None:
        self.workers = workers
        self.pending = list(tasks.items())[::-1]  # popped from the end, in order
        self.suspects: list[tuple[int, Task]] = []  # files of broken calls, likewise
        self.running: dict[cf.Future[list[tuple[FileResult, bytes | None]]], _Call] = {}
        self.timed = _FileTimes()
        self.pool = 0  # generation of the pool: restarts so far
        self.breaks = 0  # breaks since a call was last done

    def results(self) -> Iterator[tuple[int, FileResult]]:
        """(index, result) of every task, as each finishes."""
        try:
            while True:
                yield from self._submit()
                if not self.running:
                    if self.pending or self.suspects:  # the pool broke before a call went: it was replaced
                        continue
                    return
                finished, _ = cf.wait(self.running, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    yield from self._finish(future, self.running.pop(future))
        finally:
            for future in self.running:
                future.cancel()

    def _submit(self) -> Iterator[tuple[int, FileResult]]:
        """Send calls until the window is full (a suspect goes alone); a call that cannot be sent fails."""
        while (self.suspects or self.pending) and len(self.running) < self._window():
            call = self._next_call()
            try:
                self.running[self.workers.submit(call.tasks)] = call
            except BrokenProcessPool:
                if not self._restartable():
                    yield from _failed(call.group, WORKER_DIED)
                    continue
                (self.suspects if call.alone else self.pending).extend(call.group[::-1])  # it never ran
                if not self.running:  # no broken call left to restart the pool on
                    self._restart(call.pool)
                return
            except Exception as exc:  # noqa: BLE001 - e.g. a shut-down pool: these files fail, the loop goes on
                yield from _failed(call.group, one_line(f"cannot start: {exc}"))

    def _window(self) -> int:
        """Calls in flight at most: one while suspects run, alone."""
        return 1 if self.suspects else self.workers.count * IN_FLIGHT_PER_WORKER

    def _next_call(self) -> _Call:
        """A suspect alone, else the next group of pending files."""
        if self.suspects:
            return _Call([self.suspects.pop()], self.pool, alone=True)
        size = 1
        if self.workers.grouped:
            size = min(self.timed.files_in(CALL_SECONDS), len(self.pending) // (2 * self._window()))
        return _Call([self.pending.pop() for _ in range(max(1, size))], self.pool, alone=False)

    def _finish(self, future: cf.Future[Any], call: _Call) -> Iterator[tuple[int, FileResult]]:
        """The results of a finished call; if it broke the pool, a new pool, and its files to run again alone
        unless they ran alone already (then it was them: they fail)."""
        if not isinstance(future.exception(), BrokenProcessPool):
            self.breaks = 0
        elif self._restartable():
            self._restart(call.pool)
            if not call.alone:
                yield from self._suspect(call.group)
                return
        for index, result in zip(call.indexes, _collect(call.tasks, future), strict=True):
            self.timed.add(result)
            yield index, result

    def _suspect(self, group: list[tuple[int, Task]]) -> Iterator[tuple[int, FileResult]]:
        """Queue the files of a broken call to run again alone, after clearing what their dead worker left.

        A file whose output now exists was written whole by that worker before
        it could report it (the batch refused or skipped existing outputs at
        the start): it is kept, as skipped, and not written again.
        """
        for index, task in group:
            files.remove_temporaries(task.output)
            if task.output.exists() and not task.force:
                yield index, FileResult(task.source, task.output, SKIPPED)
            else:
                self.suspects.append((index, task))
        self.suspects.sort(key=lambda item: item[0], reverse=True)

    def _restartable(self) -> bool:
        """Whether a broken pool is to be replaced."""
        return self.workers.restart is not None and self.breaks < MAX_RESTARTS

    def _restart(self, generation: int) -> None:
        """Replace the pool, once for all the calls that broke with it."""
        if generation == self.pool and self.workers.restart is not None:
            self.workers.restart()
            self.pool += 1
            self.breaks += 1


def _failed(group: list[tuple[int, Task]], error: str) -> Iterator[tuple[int, FileResult]]:
    """(index, a failed result with error) for each file of group."""
    return zip([index for index, _ in group], _failures([task for _, task in group], error), strict=True)


def _failures(tasks: list[Task], error: str) -> list[FileResult]:
    """A failed result with error for each task."""
    return [FileResult(task.source, task.output, FAILED, error=error) for task in tasks]


class _FileTimes:
    """The seconds files of a batch have taken to code, to size the calls that follow."""

    def __init__(self) -> None:
        self.files = 0
        self.seconds = 0.0

    def add(self, result: FileResult) -> None:
        """Count a coded file's time."""
        if result.status == DONE:
            self.files += 1
            self.seconds += result.seconds

    def files_in(self, seconds: float) -> int:
        """How many files take about seconds at the mean so far (one before any is known)."""
        if not self.files or not self.seconds:
            return 1
        return max(1, round(seconds * self.files / self.seconds))


def _collect(group: list[Task], future: cf.Future[list[tuple[FileResult, bytes | None]]]) -> list[FileResult]:
    """The results of a finished call, writing outputs here where the worker sent them back."""
    try:
        done = future.result()
    except BrokenProcessPool:
        for task in group:
            files.remove_temporaries(task.output)  # the worker may have died mid-write
        return _failures(group, WORKER_DIED)
    except Exception as exc:  # noqa: BLE001 - the cluster failed this task: its files failed, not the batch
        error = one_line(f"worker failed: {type(exc).__name__}: {exc}")
        return _failures(group, error)
    return [_write_shipped(task, result, shipped) for task, (result, shipped) in zip(group, done, strict=True)]


def _write_shipped(task: Task, result: FileResult, shipped: bytes | None) -> FileResult:
    """result, after writing the output's bytes here if the worker sent them back."""
    if shipped is None:
        return result
    try:
        sources = (task.source,)
        imagefiles.write_output(task.output, lambda handle: handle.write(shipped), force=task.force, sources=sources)
    except RegionCodecError as exc:
        return replace(result, status=FAILED, error=str(exc))
    return result
