"""The local runner: one process per core, each with OpenCV held to one thread (so N jobs use N cores).

Workers start from a forkserver with regioncodec imported; a pool that a
dying worker broke is replaced (Runner decides when). Each worker watches
the batch's process and ends when it ends: killed with SIGKILL, the batch
cannot stop its workers, and while they live they hold the pipes that keep
the forkserver and multiprocessing's resource tracker alive too.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import cv2

from .. import threads
from .runner import Workers
from .tasks import FileResult, Task, run_tasks

PARENT_POLL_SECONDS = 0.5  # where pidfds are missing, how often a worker checks that the batch still runs
ORPHANED_EXIT = 70  # a worker's exit status when the batch died under it (EX_SOFTWARE: it was not done)


@contextmanager
def local_workers(jobs: int, count: int) -> Iterator[Workers]:
    """Yield the workers that run tasks here (one job) or in a pool of worker processes.

    Every job runs OpenCV on one thread, so that a batch of N jobs uses N cores.
    """
    workers = max(1, min(jobs, count))
    if workers == 1:
        with _one_thread():
            yield Workers(_here, 1, False)
        return
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload([run_tasks.__module__])  # each worker starts with regioncodec imported
    batch = os.getpid()  # the process every worker watches
    pools = [cf.ProcessPoolExecutor(workers, context, initializer=_init_worker, initargs=(batch,))]

    def restart() -> None:
        pools[-1].shutdown(wait=False)  # broken: its calls have all failed already
        pools.append(cf.ProcessPoolExecutor(workers, context, initializer=_init_worker, initargs=(batch,)))

    try:
        yield Workers(lambda tasks: pools[-1].submit(run_tasks, tasks), workers, True, restart)
    finally:
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)


def _here(tasks: list[Task]) -> cf.Future[list[tuple[FileResult, bytes | None]]]:
    """Run tasks in this process and return the finished future."""
    future: cf.Future[list[tuple[FileResult, bytes | None]]] = cf.Future()
    future.set_result(run_tasks(tasks))
    return future


@contextmanager
def _one_thread() -> Iterator[None]:
    """Hold OpenCV's thread pool to one thread, then give back what it had."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    ours = threads.set_count(1)  # and the codec's own pool: one job, one core
    try:
        yield
    finally:
        cv2.setNumThreads(previous)
        threads.set_count(ours)


def _init_worker(batch: int) -> None:
    """Set up a worker process: one OpenCV thread (the processes share the cores), Ctrl-C left to the batch's
    process (pid batch), and a thread that ends the worker when that process ends."""
    cv2.setNumThreads(1)
    threads.set_count(1)  # the codec's own pool too: the worker processes already share the cores
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the batch and lets running files finish
    threading.Thread(target=_exit_with, args=(batch,), name="regioncodec-watch-batch", daemon=True).start()


def _exit_with(batch: int) -> None:
    """Wait for process batch to end, then end this process at once (what it was writing has no name yet)."""
    try:
        handle = os.pidfd_open(batch)  # Linux 5.3: readable when that very process ends, whatever reuses its pid
    except ProcessLookupError:
        os._exit(ORPHANED_EXIT)
    except (AttributeError, OSError):
        while _alive(batch):
            time.sleep(PARENT_POLL_SECONDS)
    else:
        select.select([handle], [], [])
    os._exit(ORPHANED_EXIT)


def _alive(pid: int) -> bool:
    """Whether a process pid exists (a signal 0 reaches it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process
        return True
    return True


def default_jobs() -> int:
    """The cores this process may run on: a batch's jobs when none are asked for."""
    return threads.cores()
