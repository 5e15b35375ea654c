"""The codec's own threads: the independent jobs of one image (planes, streams, bands of rows) share the cores.

libjpeg (through OpenCV, and through Pillow when it writes to a file
descriptor: codecs/jpeg.py), OpenCV and numpy release the GIL while they
work, so an image's jobs run in parallel on threads. The calling thread
always takes part, so a call makes progress even while another thread's call
keeps the pool busy, and jobs never wait on each other: several threads may
encode and decode at once. The pool starts with the first call that has two
jobs for it (never at import), is sized to the cores this process may run on,
and is set to one thread in batch workers, whose processes already share the
cores (one job = one core). Jobs write disjoint outputs, so results are the
same whatever the number of threads.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import os
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

PARALLEL_PIXELS = 1 << 17  # smaller images run in turn: their jobs last less than handing one to a thread costs

_lock = threading.Lock()  # guards _chosen and _pool
_chosen: int | None = None  # set_count's choice; None = as many as cores
_pool: cf.ThreadPoolExecutor | None = None  # the helper threads: the calling thread is one more
_pool_size = 0  # helper threads in _pool
_inside = threading.local()  # .helper is True on the pool's own threads, which run nested jobs in turn


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def count() -> int:
    """Threads a call may use, its own included: set_count's choice, else the cores."""
    return _chosen if _chosen is not None else cores()


def set_count(threads: int | None) -> int | None:
    """Use this many threads from now on (1: the calling thread alone; None: the cores); returns the previous choice.

    A pool of another size is shut down: its threads end once their jobs are done.
    """
    global _chosen, _pool, _pool_size
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    with _lock:
        previous, _chosen = _chosen, threads
        if _pool is not None and _pool_size != count() - 1:
            _pool.shutdown(wait=False)
            _pool, _pool_size = None, 0
    return previous


def run(jobs: Sequence[Callable[[], T]], pixels: int, costs: Sequence[float] | None = None) -> list[T]:
    """Each job's result, in order: run on this thread and the pool's, or in turn (one thread, or a small image).

    pixels is the size of the image the jobs work on; images smaller than
    PARALLEL_PIXELS run their jobs in turn. With costs (one per job), the
    costliest start first, so that the last to end ends soonest.
    If jobs raise, the first one's exception in job order is raised (on this
    thread, once all have run), whatever order they ran in.
    """
    pool, size = _helpers() if len(jobs) > 1 and pixels >= PARALLEL_PIXELS else (None, 0)
    if pool is None:
        return [job() for job in jobs]
    order = list(range(len(jobs))) if costs is None else sorted(range(len(jobs)), key=lambda index: -costs[index])
    results: list[T | None] = [None] * len(jobs)
    errors: list[BaseException | None] = [None] * len(jobs)
    taken = itertools.count()  # next() is atomic: each job is taken by exactly one thread

    def work() -> None:
        while (turn := next(taken)) < len(jobs):
            index = order[turn]
            try:
                results[index] = jobs[index]()
            except BaseException as error:  # noqa: BLE001 - re-raised below, on the calling thread
                errors[index] = error

    helpers = []
    for _ in range(min(size, len(jobs) - 1)):
        try:
            helpers.append(pool.submit(_as_helper, work))
        except RuntimeError:  # the pool was shut down by set_count meanwhile: fewer helpers
            break
    work()
    for helper in helpers:
        if not helper.cancel():  # a helper still queued behind another call's jobs is not waited for
            helper.result()
    for error in errors:
        if error is not None:
            raise error
    return results  # type: ignore[return-value]


def _helpers() -> tuple[cf.ThreadPoolExecutor | None, int]:
    """The pool of helper threads and its size, started on first use; None with one thread, or on a helper."""
    global _pool, _pool_size
    if getattr(_inside, "helper", False) or count() == 1:
        return None, 0
    with _lock:
        if _pool is None and count() > 1:
            _pool_size = count() - 1
            _pool = cf.ThreadPoolExecutor(_pool_size, thread_name_prefix="regioncodec")
        return _pool, _pool_size


def _as_helper(work: Callable[[], None]) -> None:
    """Run work on a pool thread, marked so that jobs it runs do not wait on the pool themselves."""
    _inside.helper = True
    work()


def _forget_pool() -> None:
    """In a forked child: the parent's threads do not exist here, so start a pool afresh when needed."""
    global _pool, _pool_size, _lock
    _pool, _pool_size, _lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
