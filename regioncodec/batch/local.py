"""The local runner: one process per core, each with OpenCV held to one thread (so N jobs use N cores).

Workers start from a forkserver with regioncodec imported; a pool that a
dying worker broke is replaced (Runner decides when).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import cv2

from .. import threads
from .runner import Workers
from .tasks import FileResult, Task, run_tasks


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
    pools = [cf.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker)]

    def restart() -> None:
        pools[-1].shutdown(wait=False)  # broken: its calls have all failed already
        pools.append(cf.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker))

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


def _init_worker() -> None:
    """Set up a worker process: one OpenCV thread (the processes share the cores), Ctrl-C left to the parent."""
    cv2.setNumThreads(1)
    threads.set_count(1)  # the codec's own pool too: the worker processes already share the cores
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the batch and lets running files finish


def default_jobs() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
