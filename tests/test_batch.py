"""Batches: encode_many / decode_many and `rcodec batch`, locally (the Dask runs are in test_dask.py)."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageCms, features

import regioncodec
from regioncodec import batch, files, imagefiles
from regioncodec.batch import runner
from regioncodec.batch.tasks import ENCODE, Task

from .conftest import SAMPLES
from .helpers import random_image, rcodec


@pytest.fixture()
def photos(tmp_path: Path) -> Path:
    """A folder of the three samples, one in a subfolder as PNG, a broken image and a text file."""
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for sample in SAMPLES:
        shutil.copy(sample, folder)
    Image.open(SAMPLES[0]).save(folder / "sub" / "nested.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a JPEG")
    (folder / "notes.txt").write_text("not an image")
    return folder


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file and folder under folder (and folder): modification time (ns) and content hash."""
    return {
        str(p.relative_to(folder)): (
            p.stat().st_mtime_ns,
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "",
        )
        for p in sorted([folder, *folder.rglob("*")])
    }


def images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in {".jpg", ".png"})


def test_encode_many_codes_each_file_as_encode_does(photos: Path, tmp_path: Path) -> None:
    paths = images_in(photos)
    results = regioncodec.encode_many(paths, tmp_path / "out", root=photos, jobs=1, fg_quality=80, bg_quality=20)
    assert [r.source for r in results] == [p.resolve() for p in paths]  # in order
    by_name = {r.source.name: r for r in results}
    assert by_name["broken.jpg"].status == "failed" and "not a readable image" in by_name["broken.jpg"].error
    for sample in SAMPLES:
        result = by_name[sample.name]
        assert result.status == "done" and result.output == (tmp_path / "out" / sample.stem).with_suffix(".rgc")
        expected = regioncodec.encode(sample.read_bytes(), fg_quality=80, bg_quality=20)  # the file: a JPEG source
        assert result.output.read_bytes() == expected
        assert (result.in_bytes, result.out_bytes) == (sample.stat().st_size, len(expected))
        assert result.saved_bytes == result.in_bytes - result.out_bytes > 0
    assert (tmp_path / "out" / "sub" / "nested.rgc").exists()  # the layout under root is kept


def test_processes_give_the_same_bytes_as_one(photos: Path, tmp_path: Path) -> None:
    paths = images_in(photos)
    one = regioncodec.encode_many(paths, tmp_path / "one", root=photos, jobs=1)
    two = regioncodec.encode_many(paths, tmp_path / "two", root=photos, jobs=2)
    assert [r.status for r in one] == [r.status for r in two]
    assert [r.error for r in one] == [r.error for r in two]
    for a, b in zip(one, two, strict=True):
        if a.status == "done":
            assert a.output.read_bytes() == b.output.read_bytes()


def test_input_folder_is_never_modified(photos: Path, tmp_path: Path) -> None:
    before = snapshot(photos)
    regioncodec.encode_many(images_in(photos), tmp_path / "out", root=photos, jobs=2)
    regioncodec.decode_many(sorted((tmp_path / "out").rglob("*.rgc")), tmp_path / "back", root=tmp_path / "out")
    assert snapshot(photos) == before


def test_existing_outputs_are_skipped_refused_or_replaced(photos: Path, tmp_path: Path) -> None:
    paths = [photos / s.name for s in SAMPLES]
    out = tmp_path / "out"
    regioncodec.encode_many(paths[:1], out, jobs=1)
    first = out.joinpath(SAMPLES[0].stem + ".rgc").stat().st_mtime_ns
    skipped = regioncodec.encode_many(paths, out, skip_existing=True, jobs=1)
    assert [r.status for r in skipped] == ["skipped", "done", "done"]
    assert out.joinpath(SAMPLES[0].stem + ".rgc").stat().st_mtime_ns == first
    refused = regioncodec.encode_many(paths, out, jobs=1, fg_quality=50)
    assert {r.status for r in refused} == {"failed"} and all("--force" in r.error for r in refused)
    replaced = regioncodec.encode_many(paths, out, jobs=1, fg_quality=50, force=True)
    assert {r.status for r in replaced} == {"done"}
    assert regioncodec.read_info(replaced[0].output.read_bytes()).regions[-1].quality == 50


def test_two_inputs_with_one_output_name(tmp_path: Path) -> None:
    Image.fromarray(random_image((16, 16, 3))).save(tmp_path / "a.png")
    Image.fromarray(random_image((16, 16, 3))).save(tmp_path / "a.jpg")
    results = regioncodec.encode_many([tmp_path / "a.jpg", tmp_path / "a.png"], tmp_path / "out", jobs=1)
    assert [r.status for r in results] == ["done", "failed"]
    assert "is also" in results[1].error and "a.jpg" in results[1].error


def test_an_output_folder_that_cannot_be_created_fails_its_files(photos: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "sub").write_text("a file where the subfolder should go")
    results = regioncodec.encode_many(images_in(photos), tmp_path / "out", root=photos, jobs=1)
    failed = {r.source.name: r.error for r in results if r.status == "failed"}
    assert sorted(failed) == ["broken.jpg", "nested.png"]  # the broken image fails anyway
    assert "cannot create the folder" in failed["nested.png"]
    assert sum(r.status == "done" for r in results) == len(results) - 2


def test_cli_batch_into_a_file_exits_73(photos: Path, tmp_path: Path) -> None:
    (tmp_path / "out").write_text("not a folder")
    done = rcodec("batch", photos, tmp_path / "out")
    assert done.returncode == 73 and "not a folder" in done.stderr
    assert (tmp_path / "out").read_text() == "not a folder"


def test_decode_many_writes_metadata_and_alpha_back(tmp_path: Path) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    rgba = random_image((24, 40, 4), seed=3)
    (tmp_path / "a.rgc").write_bytes(regioncodec.encode(rgba, icc_profile=icc))
    (tmp_path / "bad.rgc").write_bytes(b"\x89RGC\r\n\x1a\n")
    results = regioncodec.decode_many([tmp_path / "a.rgc", tmp_path / "bad.rgc"], tmp_path / "out", jobs=1)
    assert [r.status for r in results] == ["done", "failed"] and "HEAD" in results[1].error
    with Image.open(tmp_path / "out" / "a.png") as back:
        assert back.mode == "RGBA" and back.info["icc_profile"] == icc
        assert np.array_equal(np.asarray(back)[..., 3], rgba[..., 3])
    stripped = regioncodec.decode_many([tmp_path / "a.rgc"], tmp_path / "s", image_format="tif", strip=True)
    with Image.open(stripped[0].output) as back:
        assert stripped[0].output.suffix == ".tif" and "icc_profile" not in back.info


@pytest.mark.parametrize("image_format", sorted(set().union(*imagefiles.METADATA_FORMATS.values())))
def test_metadata_table_matches_pillow(image_format: str) -> None:
    """Each format the table names really holds each item, written as save_options writes it."""
    if image_format == "AVIF" and not features.check("avif"):
        pytest.skip("this Pillow was built without AVIF")
    exif = Image.Exif()
    exif[0x0112] = 8
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
    data = regioncodec.encode(random_image((16, 16, 3)), exif=exif.tobytes(), icc_profile=icc, xmp=xmp)
    written, unwritten = imagefiles.decode_data(data, Path("x.rgc"), image_format)
    assert unwritten == ()
    with Image.open(io.BytesIO(written)) as back:
        assert back.format == image_format
        assert back.getexif()[0x0112] == 8
        assert back.info["icc_profile"] == icc
        assert back.info["xmp"].strip(b"\0 ") == xmp


def test_batch_argument_errors() -> None:
    with pytest.raises(regioncodec.InputError, match="jobs must be a positive integer"):
        regioncodec.encode_many([], "out", jobs=0)
    with pytest.raises(regioncodec.InputError, match="image_format 'xyz'"):
        regioncodec.decode_many([], "out", image_format="xyz")
    with pytest.raises(regioncodec.InputError, match="not inside root"):
        regioncodec.encode_many([SAMPLES[0]], "out", root="/nonexistent")
    with pytest.raises(regioncodec.InputError, match="ship_bytes is for a scheduler"):
        regioncodec.encode_many([], "out", ship_bytes=True)
    with pytest.raises(regioncodec.InputError, match="jobs is for local batches"):  # before the scheduler is sought
        regioncodec.decode_many([], "out", jobs=2, scheduler="tcp://127.0.0.1:1")


def test_scheduler_without_distributed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the [dask] extra were not installed
    with pytest.raises(regioncodec.SchedulerError, match=r"pip install 'regioncodec\[dask\]'"):
        regioncodec.encode_many([SAMPLES[0]], tmp_path, scheduler="tcp://127.0.0.1:1")


def test_progress_bar(capsys: pytest.CaptureFixture[str], photos: Path, tmp_path: Path) -> None:
    regioncodec.encode_many(images_in(photos), tmp_path / "out", root=photos, jobs=1, progress=True)
    err = capsys.readouterr().err
    assert "files/s" in err and "saved" in err and "kB" in err
    assert "rcodec: failed: " in err and "broken.jpg" in err


def test_cli_batch(photos: Path, tmp_path: Path) -> None:
    before = snapshot(photos)
    done = rcodec("batch", photos, tmp_path / "out", "--recursive", "--fg-quality", 85, "--jobs", 2)
    assert done.returncode == 1  # broken.jpg failed ...
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.rgc")) == sorted(
        [s.stem + ".rgc" for s in SAMPLES] + ["nested.rgc"]
    )  # ... and the others were coded; notes.txt was not taken for an image
    lines = done.stdout.splitlines()
    assert lines[1].split()[:2] == ["encoded", "4"] and lines[3].split() == ["failed", "1"]
    assert "on 2 processes" in done.stdout and "failed: " in done.stdout and "broken.jpg" in done.stdout
    assert "files/s" in done.stderr and "rcodec: failed: " in done.stderr and "1 of 5 files failed" in done.stderr
    assert snapshot(photos) == before
    info = json.loads(rcodec("info", tmp_path / "out" / "sub" / "nested.rgc", "--json").stdout)
    assert info["regions"][-1]["quality"] == 85

    again = rcodec("batch", photos, tmp_path / "out", "--recursive", "--skip-existing", "--quiet")
    assert again.returncode == 1 and again.stdout.splitlines()[2].split() == ["skipped", "4"]
    assert "files/s" not in again.stderr  # --quiet: no bar
    assert again.stdout.splitlines()[4].endswith("on 1 process")  # only broken.jpg ran, and none was coded
    assert "files/s" not in again.stdout

    back = rcodec("batch", tmp_path / "out", tmp_path / "back", "--decode", "--recursive", "--format", "webp")
    assert back.returncode == 0, back.stderr
    assert sorted(p.name for p in (tmp_path / "back").rglob("*")) == sorted(
        [s.stem + ".webp" for s in SAMPLES] + ["nested.webp", "sub"]
    )


def test_cli_batch_that_finds_no_images(tmp_path: Path) -> None:
    (tmp_path / "in" / "sub").mkdir(parents=True)
    shutil.copy(SAMPLES[0], tmp_path / "in" / "sub")
    done = rcodec("batch", tmp_path / "in", tmp_path / "out")
    assert done.returncode == 0 and not done.stdout and not (tmp_path / "out").exists()
    assert "no images Pillow reads in" in done.stderr and "read with --recursive" in done.stderr
    done = rcodec("batch", tmp_path / "in", tmp_path / "out", "--decode")
    assert done.returncode == 0 and "no .rgc files in" in done.stderr
    for bad in (("--decode", "--format", "xyz"), ("--levels", "8", "--transition")):
        assert rcodec("batch", tmp_path / "in", tmp_path / "out", *bad).returncode == 2  # options checked all the same


@pytest.mark.parametrize(
    "args, code, message",
    [
        (("{in}", "{in}/out"), 2, "must be outside IN_DIR"),
        (("{in}", "{in}"), 2, "must be outside IN_DIR"),
        (("{tmp}/none", "{tmp}/out"), 66, "not a folder"),
        (("{in}", "{tmp}/out", "--ship-bytes"), 2, "ship_bytes is for a scheduler"),
        (("{in}", "{tmp}/out", "--jobs", "0"), 2, "positive integer"),
        (("{in}", "{tmp}/out", "--decode", "--format", "xyz"), 2, "image_format 'xyz'"),
        (("{in}", "{tmp}/out", "--decode", "--fg-quality", "90", "--no-subjects"), 2, "--fg-quality, --no-subjects:"),
        (("{in}", "{tmp}/out", "--format", "jpg"), 2, "--format and --max-pixels are for --decode"),
        (("{in}", "{tmp}/out", "--max-pixels", "10"), 2, "--format and --max-pixels are for --decode"),
    ],
)
def test_cli_batch_usage_errors(photos: Path, tmp_path: Path, args: tuple[str, ...], code: int, message: str) -> None:
    done = rcodec("batch", *(a.format(**{"in": photos, "tmp": tmp_path}) for a in args))
    assert done.returncode == code and message in done.stderr
    assert not (tmp_path / "out").exists() and not (photos / "out").exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_interrupted_batch_resumes(tmp_path: Path, jobs: str) -> None:
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) leaves only whole outputs;
    --skip-existing then finishes the job, as a clean run would have."""
    folder = tmp_path / "in"
    folder.mkdir()
    count = 120  # about 12 ms each: Ctrl-C, sent within 20 ms of the first output, lands well before the end
    for index in range(count):
        shutil.copy(SAMPLES[index % len(SAMPLES)], folder / f"{index:03}.jpg")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "regioncodec", "batch", folder, out, "--jobs", jobs, "--quiet"]
    running = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while not list(out.glob("*.rgc")) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(running.pid, signal.SIGINT)
    _, stderr = running.communicate(timeout=60)
    written = sorted(out.glob("*.rgc"))
    assert running.returncode == 130 and "interrupted" in stderr
    assert 0 < len(written) < count, "the batch should have been stopped part way"
    assert not [p for p in out.iterdir() if p.suffix != ".rgc"]  # no temporary files left
    for path in written:
        regioncodec.decode(path.read_bytes())  # every output is whole
    resumed = rcodec("batch", folder, out, "--skip-existing", "--quiet")
    assert resumed.returncode == 0 and resumed.stdout.splitlines()[2].split() == ["skipped", str(len(written))]
    clean = rcodec("batch", folder, tmp_path / "clean", "--quiet")
    assert clean.returncode == 0
    for path in sorted((tmp_path / "clean").iterdir()):
        assert (out / path.name).read_bytes() == path.read_bytes()


def test_cli_batch_takes_the_encoder_options(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SAMPLES[0], folder)
    out = tmp_path / "out" / (SAMPLES[0].stem + ".rgc")
    done = rcodec("batch", folder, tmp_path / "out", "--codec", "webp", "--levels", 3, "--quiet")
    assert done.returncode == 0, done.stderr
    info = regioncodec.read_info(out.read_bytes())
    assert {r.codec for r in info.regions} == {"webp"} and len(info.regions) == 3
    done = rcodec("batch", folder, tmp_path / "out", "--target-bpp", "1.5", "--force", "--quiet")
    assert done.returncode == 0, done.stderr
    assert len(out.read_bytes()) <= 1.5 * info.width * info.height / 8
    assert rcodec("batch", folder, tmp_path / "x", "--target-bpp", "0").returncode == 2


def test_script_calling_encode_many(tmp_path: Path) -> None:
    """From a script (under the __main__ guard multiprocessing asks for), with a pool of two processes."""
    paths = [str(s) for s in SAMPLES]
    script = tmp_path / "script.py"
    script.write_text(
        "import regioncodec\n"
        "if __name__ == '__main__':\n"
        f"    results = regioncodec.encode_many({paths!r}, {str(tmp_path / 'out')!r}, jobs=2)\n"
        "    print([r.status for r in results])\n"
    )
    done = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == str(["done"] * len(SAMPLES)), done.stderr


def test_one_job_runs_opencv_on_one_thread_and_restores_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--jobs 1 means one core: OpenCV's threads are held to one during the batch, then given back."""
    import cv2

    seen = []
    encode = regioncodec.api.encode
    monkeypatch.setattr(regioncodec.api, "encode", lambda *a, **k: seen.append(cv2.getNumThreads()) or encode(*a, **k))
    cv2.setNumThreads(2)
    regioncodec.encode_many(SAMPLES[:2], tmp_path, jobs=1)
    assert seen == [1, 1] and cv2.getNumThreads() == 2


def finished(results: object = None, error: BaseException | None = None) -> cf.Future[Any]:
    future: cf.Future[Any] = cf.Future()
    if error is None:
        future.set_result(results)
    else:
        future.set_exception(error)
    return future


def tasks_for(count: int) -> dict[int, Task]:
    return {i: Task(ENCODE, Path(f"{i}.jpg"), Path(f"{i}.rgc")) for i in range(count)}


@pytest.mark.parametrize("grouped", [True, False])
def test_calls_to_local_workers_take_several_small_files(grouped: bool) -> None:
    """Grouped (local processes): a call takes as many files as last about CALL_SECONDS (one round trip costs
    far less), and shrinks to one file at the end so the workers finish together. Dask gets a task per file."""
    sizes = []

    def submit(tasks: list[Task]) -> cf.Future[Any]:
        sizes.append(len(tasks))
        return finished([(batch.FileResult(t.source, t.output, batch.DONE, seconds=0.01), None) for t in tasks])

    results = list(runner.Runner(tasks_for(300), runner.Workers(submit, 2, grouped)).results())
    assert sorted(index for index, _ in results) == list(range(300))
    assert all(result.source == Path(f"{index}.jpg") for index, result in results)
    if grouped:
        assert max(sizes) == round(runner.CALL_SECONDS / 0.01) and sizes[0] == sizes[-1] == 1
        assert len(sizes) < 300 / 3
    else:
        assert sizes == [1] * 300


@pytest.mark.parametrize(
    ("error", "message"),
    [(BrokenProcessPool(), "a worker process died"), (OSError("lost the worker"), "worker failed: OSError")],
)
def test_a_failed_call_fails_each_of_its_files(error: BaseException, message: str) -> None:
    group = list(tasks_for(3).values())
    results = runner._collect(group, finished(error=error))
    assert [r.source for r in results] == [t.source for t in group]
    assert all(r.status == batch.FAILED and message in r.error for r in results)


def test_batch_arguments_refused_before_any_work(tmp_path: Path) -> None:
    """A misspelt option would otherwise fail every file with an internal error; one path string would be
    iterated letter by letter."""
    with pytest.raises(regioncodec.InputError, match="unknown encode options fg_qualty; choose from fg_quality"):
        regioncodec.encode_many(SAMPLES, tmp_path / "out", fg_qualty=80)
    for one in (str(SAMPLES[0]), SAMPLES[0]):
        with pytest.raises(regioncodec.InputError, match="paths must be several paths"):
            regioncodec.encode_many(one, tmp_path / "out")  # type: ignore[arg-type]
        with pytest.raises(regioncodec.InputError, match="paths must be several paths"):
            regioncodec.decode_many(one, tmp_path / "out")  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


class FakePool:
    """Finishes each call at once. A call holding a file named kill-*.jpg kills its worker and breaks the pool: that
    call fails, and so does every later submit until restart, as in a ProcessPoolExecutor."""

    def __init__(self) -> None:
        self.broken = False
        self.restarts = 0
        self.calls: list[list[str]] = []

    def submit(self, tasks: list[Task]) -> cf.Future[Any]:
        if self.broken:
            raise BrokenProcessPool("A child process terminated abruptly")
        self.calls.append([task.source.name for task in tasks])
        if any(task.source.name.startswith("kill-") for task in tasks):
            for task in tasks:  # the worker codes the call's files in turn, up to the one that kills it
                if task.source.name.startswith("kill-"):
                    task.output.with_name(f".{task.output.name}.0badcafe.tmp").write_bytes(b"half")
                    break
                if task.output.parent.is_dir():
                    task.output.write_bytes(b"whole")
            self.broken = True
            return finished(error=BrokenProcessPool("A child process terminated abruptly"))
        return finished([(batch.FileResult(t.source, t.output, batch.DONE, seconds=0.01), None) for t in tasks])

    def restart(self) -> None:
        self.broken = False
        self.restarts += 1


def test_a_file_that_kills_its_worker_fails_alone_and_the_batch_goes_on(tmp_path: Path) -> None:
    """The files of the calls a dying worker broke run again one at a time in a new pool: only the file that
    kills a worker by itself fails. Outputs the worker wrote whole before it died are kept (as skipped), and
    its half-written temporary file is removed."""
    tasks = {i: Task(ENCODE, Path(f"{i}.jpg"), tmp_path / f"{i}.rgc") for i in range(300)}
    tasks[57] = Task(ENCODE, Path("kill-57.jpg"), tmp_path / "57.rgc")
    pool = FakePool()
    results = dict(runner.Runner(tasks, runner.Workers(pool.submit, 2, True, pool.restart)).results())
    assert sorted(results) == list(range(300))
    assert results.pop(57).error == runner.WORKER_DIED
    broken_call = next(call for call in pool.calls if "kill-57.jpg" in call)
    written = broken_call[: broken_call.index("kill-57.jpg")]
    assert len(broken_call) > 1 and ["kill-57.jpg"] in pool.calls
    assert {r.source.name for r in results.values() if r.status == batch.SKIPPED} == set(written)
    assert {r.status for r in results.values() if r.source.name not in written} == {batch.DONE}
    assert pool.restarts == 2  # after the call that held it, and after it alone
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_pool_found_broken_before_any_call_is_replaced() -> None:
    pool = FakePool()
    pool.broken = True  # its workers died at start, before the first call could be sent
    results = dict(runner.Runner(tasks_for(20), runner.Workers(pool.submit, 2, True, pool.restart)).results())
    assert sorted(results) == list(range(20)) and {r.status for r in results.values()} == {batch.DONE}
    assert pool.restarts == 1


def test_a_pool_whose_workers_always_die_is_given_up_after_max_restarts(tmp_path: Path) -> None:
    tasks = {i: Task(ENCODE, Path(f"kill-{i}.jpg"), tmp_path / f"{i}.rgc") for i in range(40)}
    pool = FakePool()
    results = dict(runner.Runner(tasks, runner.Workers(pool.submit, 2, True, pool.restart)).results())
    assert sorted(results) == list(range(40))
    assert {result.error for result in results.values()} == {runner.WORKER_DIED}
    assert pool.restarts == runner.MAX_RESTARTS
    assert not list(tmp_path.iterdir())  # the temporary files of the calls that died are gone


def test_a_worker_killed_mid_batch_loses_no_file(tmp_path: Path) -> None:
    """SIGKILL to a worker process (as the kernel's out-of-memory killer sends it): the batch replaces the pool,
    runs the files of the broken calls again, and finishes every file."""
    psutil = pytest.importorskip("psutil")
    folder = tmp_path / "in"
    folder.mkdir()
    count = 120
    for index in range(count):
        shutil.copy(SAMPLES[index % len(SAMPLES)], folder / f"{index:03}.jpg")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "regioncodec", "batch", folder, out, "--jobs", "2", "--quiet"]
    running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    workers: list[Any] = []
    while not workers and time.monotonic() < deadline:
        if list(out.glob("*.rgc")):
            with contextlib.suppress(psutil.Error):  # a process that ends while it is looked at
                children = psutil.Process(running.pid).children()
                servers = [child for child in children if "forkserver" in " ".join(child.cmdline())]
                workers = [worker for server in servers for worker in server.children()]
        time.sleep(0.01)
    assert workers, "no worker process found"
    assert running.poll() is None, "the batch ended before a worker could be killed"
    workers[0].kill()
    stdout, stderr = running.communicate(timeout=120)
    assert running.returncode == 0, stderr
    lines = stdout.splitlines()
    encoded, skipped = int(lines[1].split()[1]), int(lines[2].split()[1])  # skipped: written before it died
    assert encoded + skipped == count and encoded > count / 2
    assert sorted(p.name for p in out.iterdir()) == [f"{index:03}.rgc" for index in range(count)]  # no temporaries
    for path in out.iterdir():
        regioncodec.decode(path.read_bytes())


def test_remove_temporaries_takes_only_write_atomics_leftovers(tmp_path: Path) -> None:
    names = [".a.rgc.0123abcd.tmp", ".a.rgc.tmp", ".a.rgc.0123abcd.tmp.keep", ".b.rgc.0123abcd.tmp", "a.rgc"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    files.remove_temporaries(tmp_path / "a.rgc")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:])
