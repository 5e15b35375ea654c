"""The cluster runner: a batch's files as tasks on an existing Dask cluster (regioncodec[dask])."""

from __future__ import annotations

import concurrent.futures as cf
import importlib.util
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from .. import files
from ..errors import SchedulerError
from .runner import Workers
from .tasks import Task, run_tasks

CONNECT_TIMEOUT = "10s"  # how long a scheduler that accepted the connection may take to answer as one
REACH_SECONDS = 1.0  # a scheduler accepts a TCP connection within milliseconds, even across a continent: waiting
# longer only delays the error (rcodec batch, its half-second start-up included, fails within 2 s)
DEFAULT_PORT = 8786  # Dask's scheduler port, when an address names none
TCP_SCHEMES = ("tcp", "tls")  # schemes whose reach a plain TCP connection tests; others are left to Client


def check_scheduler(address: str) -> None:
    """SchedulerError if dask.distributed is not installed, if nothing at a tcp:// or tls:// address takes a
    connection within REACH_SECONDS, or if the address is not one: before a batch starts (and its bar shows)."""
    if importlib.util.find_spec("distributed") is None:
        raise SchedulerError("a Dask scheduler needs dask.distributed: pip install 'regioncodec[dask]'")
    scheme, _, place = address.rpartition("://")
    if (scheme or "tcp") in TCP_SCHEMES:
        try:
            host, port = _host_port(place)
            socket.create_connection((host, port), timeout=REACH_SECONDS).close()
        except (OSError, ValueError) as exc:
            reason = "no answer in time" if isinstance(exc, TimeoutError) else getattr(exc, "strerror", None) or exc
            raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {reason}") from None
    try:
        from distributed.comm.addressing import parse_address  # importing distributed takes about a second

        parse_address(address)
    except ImportError as exc:
        raise SchedulerError(f"dask.distributed cannot be imported: {exc}") from None
    except ValueError as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def _host_port(place: str) -> tuple[str, int]:
    """(host, port) of HOST, HOST:PORT or [IPv6]:PORT; ValueError if the port is not a number."""
    if place.startswith("["):
        host, _, rest = place[1:].partition("]")
        return host, int(rest.removeprefix(":") or DEFAULT_PORT)
    host, _, port = place.rpartition(":") if place.count(":") == 1 else (place, "", "")
    return host, int(port or DEFAULT_PORT)


@contextmanager
def cluster_workers(address: str, ship_bytes: bool) -> Iterator[Workers]:
    """Yield the workers that run tasks on the Dask cluster whose scheduler is at address (check_scheduler first)."""
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - something answered, but not as a scheduler (MemoryError on its bytes)
        raise SchedulerError(f"no Dask scheduler answers at {address}: {type(exc).__name__}: {exc}") from None
    try:
        executor = client.get_executor(pure=False)
        workers = max(1, sum(client.nthreads().values()))

        def submit(tasks: list[Task]) -> cf.Future[Any]:
            if ship_bytes:
                tasks = [replace(task, payload=files.read_bytes(task.source)) for task in tasks]
            return executor.submit(run_tasks, tasks)

        yield Workers(submit, workers, False)  # a task per file, as Dask users expect; it reruns lost ones itself
    finally:
        client.close()
