"""Many files at once: encode_many and decode_many, on local processes or on a Dask cluster.

Each file is one task: read it, code it, write the output atomically
(tasks.py). A file that fails is recorded with its reason and the others go
on. Inputs are only read. An existing output is skipped (skip_existing) or
refused unless force, so a batch that was interrupted resumes where it
stopped (outputs.py). Local batches run one process per core (local.py);
with scheduler, the files go one task each to an existing Dask cluster
(cluster.py), whose workers read inputs and write outputs by path (absolute,
so they must see the same filesystem), or, with ship_bytes, get each input's
bytes and send the output's bytes back to be written here. runner.py sends
the calls and replaces a pool a dying worker broke.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from .. import imagefiles
from ..container import DEFAULT_MAX_PIXELS
from ..errors import OptionError
from ..settings import EncodeSettings
from .cluster import check_scheduler, cluster_workers
from .local import default_jobs, local_workers
from .outputs import output_paths, plan_tasks
from .progress import Progress
from .runner import Runner
from .tasks import DECODE, DONE, ENCODE, FAILED, SKIPPED, FileResult

if TYPE_CHECKING:
    from typing_extensions import Unpack  # in typing from Python 3.11

__all__ = ["DONE", "FAILED", "SKIPPED", "BatchSettings", "FileResult", "decode_many", "default_jobs", "encode_many"]

RGC_SUFFIX = ".rgc"


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
    settings: EncodeSettings | None = None,
    **options: Any,
) -> list[FileResult]:
    """Code each image file as out_dir/NAME.rgc, in parallel; one FileResult per path, in order.

    settings and options are regioncodec.encode's (EncodeSettings, or its
    fields one by one: fg_quality, bg_quality, method, ...). Outputs keep the paths' layout under root when given,
    else go flat into out_dir. jobs defaults to every core; progress shows a
    bar on stderr. scheduler is the address of a Dask scheduler to run on
    instead (regioncodec[dask]); ship_bytes sends inputs and outputs through
    this process, for workers that do not share its filesystem.

    Worker processes start by importing the caller's script (multiprocessing's
    forkserver method), so a script must call this under
    `if __name__ == "__main__":`.
    """
    coding = {"settings": EncodeSettings.build(settings, **options)}
    batch = _Batch(ENCODE, RGC_SUFFIX, coding, jobs, root, skip_existing, force, progress, scheduler, ship_bytes)
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
        imagefiles.output_format(Path(f"x{suffix}"))
    except OptionError:
        raise OptionError(f"image_format {image_format!r} is not an extension Pillow writes") from None
    options = {"strip": strip, "max_pixels": max_pixels}
    return _Batch(DECODE, suffix, options, **settings).run(paths, out_dir)


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
        self._check(paths)
        sources = [Path(p).resolve() for p in paths]
        root = None if self.root is None else Path(self.root).resolve()
        outputs = output_paths(sources, Path(out_dir).resolve(), root, self.suffix)
        results, tasks = plan_tasks(sources, outputs, self.direction, self.options, self.skip_existing, self.force)
        with Progress(len(sources), self.direction, self.progress) as progress:
            for result in results.values():
                progress.add(result)
            if self.scheduler:
                where = cluster_workers(self.scheduler, self.ship_bytes)
            else:
                where = local_workers(self.jobs or default_jobs(), len(tasks))
            with where as workers:
                for index, result in Runner(tasks, workers).results():
                    results[index] = result
                    progress.add(result)
        return [results[index] for index in range(len(sources))]

    def _check(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        """OptionError for settings that do not go together, SchedulerError for a scheduler that is not there:
        before any file is planned or the progress bar shows."""
        if self.jobs is not None and (isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 1):
            raise OptionError(f"jobs must be a positive integer, not {self.jobs!r}")
        if self.jobs is not None and self.scheduler:
            raise OptionError("jobs is for local batches: a cluster runs as many tasks as its workers have threads")
        if self.ship_bytes and not self.scheduler:
            raise OptionError("ship_bytes is for a scheduler: local workers read and write the files themselves")
        if isinstance(paths, (str, bytes, os.PathLike)):
            raise OptionError(f"paths must be several paths (a list, say), not one {type(paths).__name__}: [{paths!r}]")
        if self.scheduler:
            check_scheduler(self.scheduler)
