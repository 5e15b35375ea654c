"""The cluster runner: a batch's files as tasks on an existing Dask cluster (regioncodec[dask])."""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from .. import imagefiles
from ..errors import SchedulerError
from .runner import Workers
from .tasks import Task, run_tasks

CONNECT_TIMEOUT = "10s"  # how long to wait for a Dask scheduler before saying it cannot be reached


@contextmanager
def cluster_workers(address: str, ship_bytes: bool) -> Iterator[Workers]:
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

        def submit(tasks: list[Task]) -> cf.Future[Any]:
            if ship_bytes:
                tasks = [replace(task, payload=imagefiles.read_bytes(task.source)) for task in tasks]
            return executor.submit(run_tasks, tasks)

        yield Workers(submit, workers, False)  # a task per file, as Dask users expect; it reruns lost ones itself
    finally:
        client.close()
