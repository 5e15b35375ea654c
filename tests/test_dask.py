"""The same batch on a Dask cluster: a LocalCluster of two worker processes, against the local batch.

distributed is in the test extra, so this runs under `make test` as in CI.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client, LocalCluster, get_task_stream

import regioncodec

from .conftest import SAMPLES


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a two-process LocalCluster (no dashboard, any free port)."""
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", scheduler_port=0
    ) as cluster:
        yield cluster.scheduler_address


@pytest.fixture()
def photos(tmp_path: Path) -> list[Path]:
    """The samples, one of them twice under another name, and a broken image."""
    folder = tmp_path / "in"
    folder.mkdir()
    for sample in SAMPLES:
        shutil.copy(sample, folder)
    shutil.copy(SAMPLES[0], folder / "copy.jpg")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a JPEG")
    return sorted(folder.iterdir())


def outcome(results: list[regioncodec.FileResult]) -> list[tuple[str, str, str | None, bytes | None]]:
    """What a batch did to each file, outputs included, comparable between runs."""
    return [(r.source.name, r.status, r.error, r.output.read_bytes() if r.status == "done" else None) for r in results]


@pytest.mark.parametrize("ship_bytes", [False, True])
def test_cluster_batch_matches_the_local_batch(
    scheduler: str, photos: list[Path], tmp_path: Path, ship_bytes: bool
) -> None:
    local = regioncodec.encode_many(photos, tmp_path / "local", jobs=2, fg_quality=85)
    with Client(scheduler) as client, get_task_stream(client) as stream:
        workers = set(client.scheduler_info()["workers"])
        remote = regioncodec.encode_many(
            photos, tmp_path / "cluster", scheduler=scheduler, ship_bytes=ship_bytes, fg_quality=85
        )
    assert len(stream.data) == len(photos)  # one task per file, run by the cluster's workers
    assert {task["worker"] for task in stream.data} <= workers and len(workers) == 2
    assert outcome(remote) == outcome(local)  # byte-identical outputs, and the same failure for the same reason
    statuses = {r.source.name: r.status for r in remote}
    assert statuses.pop("broken.jpg") == "failed" and set(statuses.values()) == {"done"}


def test_cluster_decode_and_skip_existing(scheduler: str, photos: list[Path], tmp_path: Path) -> None:
    coded = [r.output for r in regioncodec.encode_many(photos, tmp_path / "rgc", jobs=1) if r.status == "done"]
    local = regioncodec.decode_many(coded, tmp_path / "local", jobs=1)
    remote = regioncodec.decode_many(coded, tmp_path / "cluster", scheduler=scheduler)
    assert outcome(remote) == outcome(local)
    again = regioncodec.decode_many(coded, tmp_path / "cluster", scheduler=scheduler, skip_existing=True)
    assert {r.status for r in again} == {"skipped"}


def test_cli_on_the_cluster(scheduler: str, photos: list[Path], tmp_path: Path) -> None:
    in_dir = photos[0].parent
    command = [sys.executable, "-m", "regioncodec", "batch", in_dir]
    local = subprocess.run([*command, tmp_path / "local"], capture_output=True, text=True)
    remote = subprocess.run([*command, tmp_path / "cluster", "--scheduler", scheduler], capture_output=True, text=True)
    assert local.returncode == remote.returncode == 1  # broken.jpg
    assert f"on the Dask cluster at {scheduler}" in remote.stdout and "files/s" in remote.stderr
    assert remote.stdout.splitlines()[:4] == local.stdout.splitlines()[:4]  # the same table
    assert [line for line in remote.stdout.splitlines() if line.startswith("failed: ")] == [
        line for line in local.stdout.splitlines() if line.startswith("failed: ")
    ]
    for path in sorted((tmp_path / "local").iterdir()):
        assert (tmp_path / "cluster" / path.name).read_bytes() == path.read_bytes()


def test_unreachable_scheduler_exits_69(tmp_path: Path, photos: list[Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "regioncodec", "batch", photos[0].parent, tmp_path / "out", "--scheduler", "nope://x"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 69 and "cannot reach the Dask scheduler at nope://x" in done.stderr
