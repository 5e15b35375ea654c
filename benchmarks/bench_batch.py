"""Issue 6 figure: batch throughput on every core against one process, paired, in one run.

    python benchmarks/bench_batch.py [--images DIR] [--files N] [--small N] [--repeat N]

Batches are folders of thousands of photos (the issue's words), so the judged
figure is encoding a batch of about --files files (default 1,008: the
benchmark images copied into a temporary folder, named apart). A batch pays
once for starting its worker processes and for each worker's first file
(about 10 ms more than later ones), so smaller batches gain less: a batch of
--small files (default 96) is timed too, and decoding to PNG on that batch
(each file costs 4-5 times an encode), both reported, not judged.

Each repeat times the batch with jobs=1 right before jobs=2 (outputs replaced
in place, so every run does the same work); a figure is the median of
time(jobs=1) / time(jobs=2), i.e. the throughput gain. Times include starting
the worker processes, as a user's batch does.

The machine is shared: when other work holds the cores, no number of jobs
gets two of them. So each repeat also times pure CPU work (a Python loop) in
one process and in two, right before the batch: that gain is the most any
batch could get from two processes at that moment (2.0 on an idle machine),
and the batch's gain divided by it says how much of that the batch got. The
load average is printed before and after, and the CPU time each file costs
in either mode (this process, its workers and the forkserver, from psutil):
two jobs should spend no more CPU per file than one.
Exits 1 if encoding the large batch misses 1.8x.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil  # noqa: E402  (installed with distributed, in the test extra)
from common import image_paths, verdict  # noqa: E402

import regioncodec  # noqa: E402

TARGET = 1.8
Batch = Callable[[int], None]  # runs the whole batch with this many jobs


class Gains(NamedTuple):
    """What paired_gains measured."""

    gain: float
    ceiling: float
    share: float
    cpu_one: float
    cpu_two: float


def batch_folder(images: list[Path], files: int, folder: Path) -> list[Path]:
    """files copies of the images, in turn, in folder, named apart."""
    paths = []
    for index in range(files):
        image = images[index % len(images)]
        path = folder / f"{index // len(images)}-{image.name}"
        shutil.copy(image, path)
        paths.append(path)
    return paths


def timed(run: Callable[[], object]) -> float:
    """Seconds one call of run takes."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def spin(rounds: int) -> int:
    """Pure CPU work, about 50 ms per 1,000,000 rounds, that shares nothing."""
    total = 0
    for value in range(rounds):
        total += value * value % 7
    return total


def paired_gains(run: Batch, pool: concurrent.futures.Executor, repeat: int) -> Gains:
    """Medians over repeats of the batch's gain from two jobs, the pure-CPU gain timed just before it, their
    quotient (how much of what the machine allowed at that moment the batch got), and CPU seconds per run
    with one job and with two."""
    rounds = 4_000_000
    gains, ceilings, cpu_one, cpu_two = [], [], [], []
    for _ in range(repeat):
        one_process = timed(lambda: [spin(rounds), spin(rounds)])
        ceilings.append(one_process / timed(lambda: list(pool.map(spin, [rounds, rounds]))))
        (wall_one, cpu), (wall_two, cpu_2) = measured(lambda: run(1)), measured(lambda: run(2))
        gains.append(wall_one / wall_two)
        cpu_one.append(cpu)
        cpu_two.append(cpu_2)
    shares = [gain / ceiling for gain, ceiling in zip(gains, ceilings, strict=True)]
    return Gains(*map(statistics.median, (gains, ceilings, shares, cpu_one, cpu_two)))


def cpu_seconds() -> float:
    """CPU time used so far by this process and every process under it, living or reaped."""
    total = 0.0
    for process in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def measured(run: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call of run."""
    cpu = cpu_seconds()
    wall = timed(run)
    return wall, cpu_seconds() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, help="folder of images (default: ../shared/images/kodak, else samples/)")
    parser.add_argument("--files", type=int, default=1008, help="files in the judged batch (default 1008)")
    parser.add_argument("--small", type=int, default=96, help="files in the small batch (default 96)")
    parser.add_argument("--repeat", type=int, default=5, help="paired runs; the median ratio is reported (odd)")
    args = parser.parse_args()
    images = image_paths(args.images)
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        (work / "in").mkdir()
        paths = batch_folder(images, max(args.files, args.small), work / "in")

        def encode(files: int) -> Batch:
            def run(jobs: int) -> None:
                results = regioncodec.encode_many(paths[:files], work / "rgc", jobs=jobs, force=True)
                assert all(r.status == "done" for r in results), [r.error for r in results if r.error]

            return run

        def decode(jobs: int) -> None:
            coded = [work / "rgc" / p.with_suffix(".rgc").name for p in paths[: args.small]]
            results = regioncodec.decode_many(coded, work / "png", jobs=jobs, force=True)
            assert all(r.status == "done" for r in results), [r.error for r in results if r.error]

        batches = [
            (f"encode {args.files} files", args.files, encode(args.files), TARGET),
            (f"encode {args.small} files", args.small, encode(args.small), None),
            (f"decode {args.small} to PNG", args.small, decode, None),
        ]
        print(
            f"regioncodec {regioncodec.__version__}: batches of copies of {len(images)} images from {images[0].parent}"
        )
        print(f"cores {os.cpu_count()}, load average before {_load()}")
        for jobs in (1, 2):  # starts the forkserver and writes the .rgc files the decoding batch reads
            encode(args.small)(jobs)
            decode(jobs)
        rows = []
        with concurrent.futures.ProcessPoolExecutor(2) as pool:
            list(pool.map(spin, [1000, 1000]))  # both processes started before timing
            for label, files, run, target in batches:
                gains = paired_gains(run, pool, args.repeat)
                rows.append((label, files, gains, target))
        print(f"load average after {_load()}\n")
        heads = ("CPU ms/file 1 job", "2 jobs", "gain", "pure CPU gain", "share", "target")
        print(f"{'batch':<22}" + "".join(f"{h:>{len(h) + 2}}" for h in heads) + "  verdict")
        missed = 0
        for label, files, gains, target in rows:
            result = verdict(gains.gain, target, True) if target else "reported"
            missed += result == "MISSED"
            cells = (
                f"{1000 * gains.cpu_one / files:.1f}",
                f"{1000 * gains.cpu_two / files:.1f}",
                f"{gains.gain:.2f}x",
                f"{gains.ceiling:.2f}x",
                f"{gains.share:.0%}",
                f"{target or '-'}",
            )
            print(
                f"{label:<22}"
                + "".join(f"{c:>{len(h) + 2}}" for c, h in zip(cells, heads, strict=True))
                + f"  {result}"
            )
        print(
            f"\ngain, pure CPU gain and CPU: medians of {args.repeat} paired runs; "
            "share: median of gain / pure CPU gain per pair"
        )
    return 1 if missed else 0


def _load() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main())
