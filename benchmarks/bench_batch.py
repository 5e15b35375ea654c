"""Issue 6 figure: batch throughput on every core against one process, paired, in one run.

    python benchmarks/bench_batch.py [--images DIR] [--copies N] [--repeat N]

The batch is the benchmark images copied N times into a temporary folder (12
Kodak images x 8 = 96 files by default: batches are meant for folders of
thousands, and a fresh worker's first file costs extra, so very small batches
understate the steady gain). Each repeat times encode_many with
jobs=1 right before jobs=2 (outputs replaced in place, so every run does the
same work); the figure is the median of time(jobs=1) / time(jobs=2), i.e. the
throughput gain, for encoding and for decoding to PNG. Times include starting
the worker processes, as a user's batch does.

The machine is shared: when other work holds the cores, no number of jobs
gets two of them. So each repeat also times pure CPU work (a Python loop) in
one process and in two, right before the batch: that gain is the most any
batch could get from two processes at that moment (2.0 on an idle machine),
and the batch's gain divided by it says how much of that the batch got. The
load average is printed before and after, and the CPU time each file costs
in either mode (this process, its workers and the forkserver, from psutil):
two jobs should spend no more CPU per file than one.
Exits 1 if encoding misses 1.8x.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil  # noqa: E402  (installed with distributed, in the test extra)
from common import image_paths, verdict  # noqa: E402

import regioncodec  # noqa: E402

TARGET = 1.8
Batch = Callable[[int], None]  # runs the whole batch with this many jobs


def batch_folder(images: list[Path], copies: int, folder: Path) -> list[Path]:
    """copies copies of each image in folder, named apart."""
    paths = []
    for copy in range(copies):
        for image in images:
            path = folder / f"{copy}-{image.name}"
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


def paired_gains(run: Batch, pool: concurrent.futures.Executor, repeat: int) -> tuple[float, float, float]:
    """Medians over repeats of the batch's gain from two jobs, the pure-CPU gain timed just before it, and their
    quotient: how much of what the machine allowed at that moment the batch got."""
    rounds = 4_000_000
    gains, ceilings = [], []
    for _ in range(repeat):
        one_process = timed(lambda: [spin(rounds), spin(rounds)])
        ceilings.append(one_process / timed(lambda: list(pool.map(spin, [rounds, rounds]))))
        gains.append(timed(lambda: run(1)) / timed(lambda: run(2)))
    shares = [gain / ceiling for gain, ceiling in zip(gains, ceilings, strict=True)]
    return statistics.median(gains), statistics.median(ceilings), statistics.median(shares)


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
    parser.add_argument("--copies", type=int, default=8, help="copies of each image in the batch (default 8)")
    parser.add_argument("--repeat", type=int, default=5, help="paired runs; the median ratio is reported (odd)")
    args = parser.parse_args()
    images = image_paths(args.images)
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        (work / "in").mkdir()
        paths = batch_folder(images, args.copies, work / "in")
        coded = [work / "rgc" / p.with_suffix(".rgc").name for p in paths]

        def encode(jobs: int) -> None:
            results = regioncodec.encode_many(paths, work / "rgc", jobs=jobs, force=True)
            assert all(r.status == "done" for r in results), [r.error for r in results if r.error]

        def decode(jobs: int) -> None:
            results = regioncodec.decode_many(coded, work / "png", jobs=jobs, force=True)
            assert all(r.status == "done" for r in results), [r.error for r in results if r.error]

        in_bytes = sum(p.stat().st_size for p in paths)
        source = images[0].parent
        print(f"regioncodec {regioncodec.__version__}: {len(paths)} files ({in_bytes / 1e6:.1f} MB) from {source}")
        print(f"cores {os.cpu_count()}, load average before {_load()}")
        warm = {name: timed(lambda run=run, jobs=jobs: run(jobs)) for name, run, jobs in _runs(encode, decode)}
        print("first runs (not counted): " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in warm.items()))
        rows = []
        with concurrent.futures.ProcessPoolExecutor(2) as pool:
            list(pool.map(spin, [1000, 1000]))  # both processes started before timing
            for label, run in (("encode", encode), ("decode to PNG", decode)):
                gain, ceiling, share = paired_gains(run, pool, args.repeat)
                (one, cpu_one), (two, cpu_two) = measured(lambda run=run: run(1)), measured(lambda run=run: run(2))
                per_file = (
                    len(paths) / one,
                    len(paths) / two,
                    1000 * cpu_one / len(paths),
                    1000 * cpu_two / len(paths),
                )
                rows.append((label, *per_file, gain, ceiling, share))
        print(f"load average after {_load()}\n")
        heads = ("files/s 1 job", "2 jobs", "CPU ms/file 1 job", "2 jobs", "gain", "pure CPU gain", "share", "target")
        print(f"{'batch':<14}" + "".join(f"{h:>{len(h) + 2}}" for h in heads) + "  verdict")
        missed = 0
        for label, one, two, cpu_one, cpu_two, gain, ceiling, share in rows:
            target = TARGET if label == "encode" else None
            result = verdict(gain, target, True) if target else "reported"
            missed += result == "MISSED"
            cells = (
                f"{one:.1f}",
                f"{two:.1f}",
                f"{cpu_one:.0f}",
                f"{cpu_two:.0f}",
                f"{gain:.2f}x",
                f"{ceiling:.2f}x",
                f"{share:.0%}",
                f"{target or '-'}",
            )
            print(
                f"{label:<14}"
                + "".join(f"{c:>{len(h) + 2}}" for c, h in zip(cells, heads, strict=True))
                + f"  {result}"
            )
        print("\ngain and pure CPU gain: medians of paired runs; share: median of gain / pure CPU gain per pair")
    return 1 if missed else 0


def _runs(encode: Batch, decode: Batch) -> list[tuple[str, Batch, int]]:
    """The warm-up runs: each direction at each job count, so the forkserver is up before timing."""
    return [
        (f"{name} jobs {jobs}", run, jobs) for name, run in (("encode", encode), ("decode", decode)) for jobs in (1, 2)
    ]


def _load() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main())
