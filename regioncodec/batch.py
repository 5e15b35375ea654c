"""Many files at once: encode_many and decode_many, on local processes or on a Dask cluster.

Each file is one task: read it, code it, write the output atomically. A file
that fails is recorded with its reason and the others go on. Inputs are only
read. An existing output is skipped (skip_existing) or refused unless force,
so a batch that was interrupted resumes where it stopped.

Local batches run one process per core, each with OpenCV held to one thread
(its pool would otherwise start a thread per core in every process, and they
would fight over the cores), also in this process when one job runs here: so
N jobs use N cores. A call to a local worker carries as many files as take
about CALL_SECONDS, fewer towards the end, so that round trips to this
process cost little and the workers finish together. A worker that dies
(killed, out of memory) breaks the pool: a new one takes over, and the files
of the broken calls run again one at a time, so that only a file that kills
a worker by itself fails. With scheduler, the
files go one task each to an existing Dask cluster: workers read inputs and
write outputs by path (absolute, so they must see the same filesystem), or,
with ship_bytes, get each input's bytes and send the output's bytes back to
be written here.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import cv2
from tqdm import tqdm

from . import convert, files
from .container import DEFAULT_MAX_PIXELS
from .errors import InputError, SchedulerError

if TYPE_CHECKING:
    from typing_extensions import Unpack  # in typing from Python 3.11

ENCODE, DECODE = "encode", "decode"
DONE, SKIPPED, FAILED = "done", "skipped", "failed"
RGC_SUFFIX = ".rgc"
IN_FLIGHT_PER_WORKER = 4  # calls queued per worker: keeps every worker busy without holding the whole batch
CALL_SECONDS = 0.1  # a call to a local worker codes files for about this long: its round trip costs <1%, and
# progress and Ctrl-C stay prompt (a call of one file each cost a 2-job batch of small images 5-10% of its speed)
MAX_RESTARTS = 3  # pools a batch replaces after workers died, with no call done between, before it gives up
CONNECT_TIMEOUT = "10s"  # how long to wait for a Dask scheduler before saying it cannot be reached
WORKER_DIED = (
    "a worker process died: it was killed (out of memory?) or could not start (a script that calls "
    "encode_many or decode_many must do so under `if __name__ == '__main__':`, as multiprocessing requires)"
)


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
class _Task:
    """One file's work, as sent to a worker process or a Dask worker."""

    direction: str
    source: Path
    output: Path
    options: dict[str, Any] = field(default_factory=dict)
    force: bool = False
    payload: bytes | None = None  # the input's bytes, for a worker that cannot see the path (ship_bytes)


def encode_many(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    jobs: int | None = None,
    root: str | os.PathLike[str] | None = None,
    skip_existing: bool = False,
    force: bool = False,
    progress: bool = False,
    scheduler: str | None = None,
    ship_bytes: bool = False,
    **options: Any,
) -> list[FileResult]:
    """Code each image file as out_dir/NAME.rgc, in parallel; one FileResult per path, in order.

    options are regioncodec.encode's keywords (fg_quality, bg_quality, method,
    block_size, strip). Outputs keep the paths' layout under root when given,
    else go flat into out_dir. jobs defaults to every core; progress shows a
    bar on stderr. scheduler is the address of a Dask scheduler to run on
    instead (regioncodec[dask]); ship_bytes sends inputs and outputs through
    this process, for workers that do not share its filesystem.

    Worker processes start by importing the caller's script (multiprocessing's
    forkserver method), so a script must call this under
    `if __name__ == "__main__":`.
    """
    unknown = sorted(set(options) - set(convert.ENCODE_OPTIONS))
    if unknown:
        raise InputError(
            f"unknown encode options {', '.join(unknown)}; choose from {', '.join(convert.ENCODE_OPTIONS)}"
        )
    batch = _Batch(ENCODE, RGC_SUFFIX, options, jobs, root, skip_existing, force, progress, scheduler, ship_bytes)
    return batch.run(paths, out_dir)


class BatchSettings(TypedDict, total=False):
    """How and where a batch runs: encode_many's keywords of the same names, which decode_many takes too."""

    jobs: int | None
    root: str | os.PathLike[str] | None
    skip_existing: bool
    force: bool
    progress: bool
    scheduler: str | None
    ship_bytes: bool


def decode_many(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    image_format: str = "png",
    strip: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    **settings: Unpack[BatchSettings],
) -> list[FileResult]:
    """Decode each .rgc file to out_dir/NAME.<image_format> (an extension Pillow writes), as encode_many does.

    Metadata is written back where the format holds it, unless strip.
    settings are encode_many's: jobs, root, skip_existing, force, progress,
    scheduler, ship_bytes.
    """
    suffix = "." + image_format.lower().lstrip(".")
    try:
        convert.output_format(Path(f"x{suffix}"))
    except convert.CommandError:
        raise InputError(f"image_format {image_format!r} is not an extension Pillow writes") from None
    options = {"strip": strip, "max_pixels": max_pixels}
    return _Batch(DECODE, suffix, options, **settings).run(paths, out_dir)


def default_jobs() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class _Batch:
    """How a batch runs: direction, output suffix, per-file options, and where and how it runs."""

    direction: str
    suffix: str
    options: dict[str, Any]
    jobs: int | None = None
    root: str | os.PathLike[str] | None = None
    skip_existing: bool = False
    force: bool = False
    progress: bool = False
    scheduler: str | None = None
    ship_bytes: bool = False

    def run(self, paths: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str]) -> list[FileResult]:
        """Plan the tasks, run those not settled already, and return every file's result in order."""
        if self.jobs is not None and (isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 1):
            raise InputError(f"jobs must be a positive integer, not {self.jobs!r}")
        if isinstance(paths, (str, bytes, os.PathLike)):
            raise InputError(f"paths must be several paths (a list, say), not one {type(paths).__name__}: [{paths!r}]")
        sources = [Path(p).resolve() for p in paths]
        root = None if self.root is None else Path(self.root).resolve()
        outputs = _outputs(sources, Path(out_dir).resolve(), root, self.suffix)
        results, tasks = self._plan(sources, outputs)
        with _Progress(len(sources), self.direction, self.progress) as progress:
            for result in results.values():
                progress.add(result)
            if self.scheduler:
                where = _on_cluster(self.scheduler, self.ship_bytes)
            else:
                where = _locally(self.jobs or default_jobs(), len(tasks))
            with where as workers:
                for index, result in _Runner(tasks, workers).results():
                    results[index] = result
                    progress.add(result)
        return [results[index] for index in range(len(sources))]

    def _plan(self, sources: list[Path], outputs: list[Path]) -> tuple[dict[int, FileResult], dict[int, _Task]]:
        """Results settled before any work (skipped, refused), and the tasks to run, by index."""
        results: dict[int, FileResult] = {}
        tasks: dict[int, _Task] = {}
        first_with_output: dict[Path, Path] = {}
        for index, (source, output) in enumerate(zip(sources, outputs, strict=True)):
            if output in first_with_output:
                reason = f"its output {output} is also {first_with_output[output]}'s; rename one of them"
                results[index] = FileResult(source, output, FAILED, error=reason)
            elif output.exists() and self.skip_existing:
                results[index] = FileResult(source, output, SKIPPED)
            elif output.exists() and not self.force:
                reason = f"{output} exists; use --force to replace it or --skip-existing to keep it"
                results[index] = FileResult(source, output, FAILED, error=reason)
            elif refused := _folder_refused(output.parent):
                results[index] = FileResult(source, output, FAILED, error=refused)
            else:
                tasks[index] = _Task(self.direction, source, output, self.options, self.force)
            first_with_output.setdefault(output, source)
        return results, tasks


def _folder_refused(folder: Path) -> str | None:
    """Why folder (and its parents) cannot be created, or None once it exists."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create the folder {folder}: {exc.strerror or exc}"
    return None


def _outputs(sources: list[Path], out_dir: Path, root: Path | None, suffix: str) -> list[Path]:
    """Each source's output: under out_dir where it is under root (or flat in out_dir without root), with suffix."""
    outputs = []
    for source in sources:
        if root is None:
            relative = Path(source.name)
        elif source.is_relative_to(root):
            relative = source.relative_to(root)
        else:
            raise InputError(f"{source} is not inside root {root}")
        outputs.append(out_dir / relative.with_suffix(suffix))
    return outputs


Submit = Callable[[list[_Task]], cf.Future[list[tuple[FileResult, bytes | None]]]]


@dataclass(frozen=True)
class _Workers:
    """Where a batch's calls run."""

    submit: Submit  # sends a call (some files) and returns its future
    count: int  # how many calls run at once
    grouped: bool  # whether a call may carry several files (see CALL_SECONDS)
    restart: Callable[[], None] | None = None  # replaces a pool that a dying worker broke (local pools)


@dataclass(frozen=True)
class _Call:
    """Files sent in one call, the generation of the pool they went to, and whether they went alone."""

    group: list[tuple[int, _Task]]
    pool: int
    alone: bool

    @property
    def indexes(self) -> list[int]:
        """The files' indexes in the batch."""
        return [index for index, _ in self.group]

    @property
    def tasks(self) -> list[_Task]:
        """The files' tasks."""
        return [task for _, task in self.group]


class _Runner:
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

    def __init__(self, tasks: dict[int, _Task], workers: _Workers) -> None:
        self.workers = workers
        self.pending = list(tasks.items())[::-1]  # popped from the end, in order
        self.suspects: list[tuple[int, _Task]] = []  # files of broken calls, likewise
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
                yield from _failed(call.group, _one_line(f"cannot start: {exc}"))

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

    def _suspect(self, group: list[tuple[int, _Task]]) -> Iterator[tuple[int, FileResult]]:
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


def _failed(group: list[tuple[int, _Task]], error: str) -> Iterator[tuple[int, FileResult]]:
    """(index, a failed result with error) for each file of group."""
    return zip([index for index, _ in group], _failures([task for _, task in group], error), strict=True)


def _failures(tasks: list[_Task], error: str) -> list[FileResult]:
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


def _collect(group: list[_Task], future: cf.Future[list[tuple[FileResult, bytes | None]]]) -> list[FileResult]:
    """The results of a finished call, writing outputs here where the worker sent them back."""
    try:
        done = future.result()
    except BrokenProcessPool:
        for task in group:
            files.remove_temporaries(task.output)  # the worker may have died mid-write
        return _failures(group, WORKER_DIED)
    except Exception as exc:  # noqa: BLE001 - the cluster failed this task: its files failed, not the batch
        error = _one_line(f"worker failed: {type(exc).__name__}: {exc}")
        return _failures(group, error)
    return [_write_shipped(task, result, shipped) for task, (result, shipped) in zip(group, done, strict=True)]


def _write_shipped(task: _Task, result: FileResult, shipped: bytes | None) -> FileResult:
    """result, after writing the output's bytes here if the worker sent them back."""
    if shipped is None:
        return result
    try:
        convert.write_output(task.output, lambda handle: handle.write(shipped), force=task.force, source=task.source)
    except convert.CommandError as exc:
        return replace(result, status=FAILED, error=str(exc))
    return result


def run_tasks(tasks: list[_Task]) -> list[tuple[FileResult, bytes | None]]:
    """Do each file's work in turn (see run_task)."""
    return [run_task(task) for task in tasks]


def run_task(task: _Task) -> tuple[FileResult, bytes | None]:
    """Do one file's work and never raise: (its result, the output's bytes if they must be sent back)."""
    start = time.perf_counter()
    unwritten: tuple[str, ...] = ()
    try:
        data = task.payload if task.payload is not None else convert.read_bytes(task.source)
        if task.direction == ENCODE:
            out = convert.encode_data(data, task.source, **task.options)
        else:
            image_format = convert.output_format(task.output)
            out, unwritten = convert.decode_data(data, task.source, image_format, **task.options)
        if task.payload is None:
            write = lambda handle: handle.write(out)  # noqa: E731
            convert.write_output(task.output, write, force=task.force, source=task.source)
    except convert.CommandError as exc:
        return FileResult(task.source, task.output, FAILED, error=str(exc)), None
    except Exception as exc:  # noqa: BLE001 - a bug: report it against the file and let the batch go on
        error = _one_line(f"internal error: {type(exc).__name__}: {exc}")
        return FileResult(task.source, task.output, FAILED, error=error), None
    seconds = time.perf_counter() - start
    result = FileResult(task.source, task.output, DONE, len(data), len(out), seconds, unwritten=unwritten)
    return result, (out if task.payload is not None else None)


@contextmanager
def _locally(jobs: int, count: int) -> Iterator[_Workers]:
    """Yield the workers that run tasks here (one job) or in a pool of worker processes.

    Every job runs OpenCV on one thread, so that a batch of N jobs uses N cores.
    """
    workers = max(1, min(jobs, count))
    if workers == 1:
        with _one_thread():
            yield _Workers(_here, 1, False)
        return
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload([__name__])  # each worker starts with regioncodec imported
    pools = [cf.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker)]

    def restart() -> None:
        pools[-1].shutdown(wait=False)  # broken: its calls have all failed already
        pools.append(cf.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker))

    try:
        yield _Workers(lambda tasks: pools[-1].submit(run_tasks, tasks), workers, True, restart)
    finally:
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)


def _here(tasks: list[_Task]) -> cf.Future[list[tuple[FileResult, bytes | None]]]:
    """Run tasks in this process and return the finished future."""
    future: cf.Future[list[tuple[FileResult, bytes | None]]] = cf.Future()
    future.set_result(run_tasks(tasks))
    return future


@contextmanager
def _one_thread() -> Iterator[None]:
    """Hold OpenCV's thread pool to one thread, then give back what it had."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def _init_worker() -> None:
    """Set up a worker process: one OpenCV thread (the processes share the cores), Ctrl-C left to the parent."""
    cv2.setNumThreads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the batch and lets running files finish


@contextmanager
def _on_cluster(address: str, ship_bytes: bool) -> Iterator[_Workers]:
    """Yield the workers that run tasks on the Dask cluster whose scheduler is at address."""
    try:
        from distributed import Client
    except ImportError:
        raise SchedulerError("a Dask scheduler needs dask.distributed: pip install 'regioncodec[dask]'") from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        executor = client.get_executor(pure=False)
        workers = max(1, sum(client.nthreads().values()))

        def submit(tasks: list[_Task]) -> cf.Future[Any]:
            if ship_bytes:
                tasks = [replace(task, payload=convert.read_bytes(task.source)) for task in tasks]
            return executor.submit(run_tasks, tasks)

        yield _Workers(submit, workers, False)  # a task per file, as Dask users expect; it reruns lost ones itself
    finally:
        client.close()


class _Progress:
    """The tqdm bar of a batch: files done, files/s, and bytes saved (encoding) or written (decoding)."""

    def __init__(self, total: int, direction: str, enabled: bool) -> None:
        self.bar = tqdm(total=total, unit=" files", disable=not enabled, file=sys.stderr)
        self.label = "saved" if direction == ENCODE else "written"
        self.bytes = 0

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()

    def add(self, result: FileResult) -> None:
        """Count one file; print why it failed above the bar."""
        if result.status == FAILED and not self.bar.disable:
            self.bar.write(f"rcodec: failed: {result.error}", file=sys.stderr)
        if result.status == DONE:
            self.bytes += result.saved_bytes if self.label == "saved" else result.out_bytes
        self.bar.set_postfix_str(f"{self.label} {_human_bytes(self.bytes)}", refresh=False)
        self.bar.update(1)


def _one_line(text: str) -> str:
    """text with its line breaks and runs of spaces made single spaces, for a one-line report."""
    return " ".join(text.split())


def _human_bytes(count: int) -> str:
    """count bytes as B, kB, MB or GB (powers of 1000, as file managers show them)."""
    size = float(count)
    for unit in ("B", "kB", "MB"):
        if abs(size) < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"
