"""The codec's thread pool: same bytes and pixels whatever the thread count, safe from several threads, lazy."""

from __future__ import annotations

import concurrent.futures as cf
import subprocess
import sys
import threading
from collections.abc import Iterator

import numpy as np
import pytest

import regioncodec
from regioncodec import threads
from regioncodec.batch import local


@pytest.fixture
def restore_count() -> Iterator[None]:
    """Give the pool back its size after a test that sets it."""
    previous = threads.set_count(None)
    threads.set_count(previous)
    yield
    threads.set_count(previous)


@pytest.fixture(scope="module")
def large(photo: np.ndarray) -> np.ndarray:
    """A photo large enough for its jobs to go to the pool (over PARALLEL_PIXELS), with an odd size."""
    image = np.vstack([photo, photo[::-1]])[:1021, :747]
    assert image.shape[0] * image.shape[1] >= threads.PARALLEL_PIXELS
    return np.ascontiguousarray(image)


def test_results_come_in_job_order_whatever_the_costs(restore_count: None) -> None:
    threads.set_count(2)
    jobs = [lambda i=i: i * i for i in range(20)]
    assert threads.run(jobs, threads.PARALLEL_PIXELS, costs=[i % 7 for i in range(20)]) == [i * i for i in range(20)]


def test_the_first_error_in_job_order_is_raised(restore_count: None) -> None:
    threads.set_count(2)

    def fails(message: str) -> int:
        raise ValueError(message)

    jobs = [lambda: 1, lambda: fails("second"), lambda: fails("third")]
    with pytest.raises(ValueError, match="second"):
        threads.run(jobs, threads.PARALLEL_PIXELS, costs=[0, 1, 2])  # the third job starts first


def test_jobs_on_a_helper_run_their_own_jobs_in_turn(restore_count: None) -> None:
    threads.set_count(2)
    inner = [lambda: threads.run([lambda: 1, lambda: 2], threads.PARALLEL_PIXELS) for _ in range(6)]
    assert threads.run(inner, threads.PARALLEL_PIXELS) == [[1, 2]] * 6


@pytest.mark.parametrize(
    "options",
    [{}, {"bg_scale": 2}, {"levels": 3}, {"fg_quality": 80, "bg_quality": 20}, {"bg_codec": "webp", "deblock": True}],
)
def test_bytes_and_pixels_are_the_same_on_one_thread_or_two(
    large: np.ndarray, options: dict[str, object], restore_count: None
) -> None:
    threads.set_count(1)
    one = regioncodec.encode(large, **options)
    pixels = regioncodec.decode(one)
    threads.set_count(2)
    assert regioncodec.encode(large, **options) == one
    assert np.array_equal(regioncodec.decode(one), pixels)


def test_several_threads_may_encode_and_decode_at_once(large: np.ndarray, restore_count: None) -> None:
    threads.set_count(2)
    images = [large, large[::-1].copy(), large[:, ::-1].copy(), np.ascontiguousarray(large[:600])]
    expected = [regioncodec.encode(image) for image in images]

    def round_trip(index: int) -> tuple[bytes, np.ndarray]:
        data = regioncodec.encode(images[index % 4])
        return data, regioncodec.decode(data)

    with cf.ThreadPoolExecutor(4) as users:
        results = list(users.map(round_trip, range(12)))
    for index, (data, pixels) in enumerate(results):
        assert data == expected[index % 4]
        assert np.array_equal(pixels, regioncodec.decode(expected[index % 4]))


def test_no_thread_starts_at_import_or_with_one_thread() -> None:
    code = (
        "import threading, numpy as np, regioncodec\n"
        "from regioncodec import threads\n"
        "before = threading.active_count()\n"
        "threads.set_count(1)\n"
        "data = regioncodec.encode(np.zeros((512, 512, 3), np.uint8))\n"
        "regioncodec.decode(data)\n"
        "print(before, threading.active_count())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["1", "1"]


def test_calls_reuse_the_pool(large: np.ndarray, restore_count: None) -> None:
    threads.set_count(2)
    regioncodec.encode(large)
    started = threading.active_count()
    for _ in range(3):
        regioncodec.decode(regioncodec.encode(large))
    assert threading.active_count() == started


def test_a_one_job_batch_runs_on_one_thread_and_gives_the_count_back(restore_count: None) -> None:
    threads.set_count(2)
    with local._one_thread():
        assert threads.count() == 1
    assert threads.count() == 2


def test_set_count_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        threads.set_count(0)
