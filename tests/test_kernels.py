"""The decoder's compiled kernels (regioncodec/kernels.c) against the numpy/OpenCV code they stand in for.

Both compute the spec's samples (the conformance and deblocking tests run
each of them against the spec's transcription, through the `passes`
fixture); here the kernels meet what those tests do not reach: lines that
are not a multiple of eight, thresholds on either side of every cut-off,
rows that are views into wider planes, and arguments a kernel must refuse
before it touches a sample.
"""

from __future__ import annotations

import numpy as np
import pytest

from regioncodec import compiled, deblock, decoder

from .helpers import unavailable


@pytest.fixture
def kernels(monkeypatch: pytest.MonkeyPatch) -> object:
    """The compiled kernels; skip (fail under CI) where they were not built."""
    if compiled.kernels is None:
        unavailable("regioncodec was installed without a C compiler: its compiled kernels were not built")
    return compiled.kernels


def numpy_pass(rows: np.ndarray, alpha: np.ndarray, beta: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> np.ndarray:
    """rows after deblock's numpy/OpenCV pass over its edges."""
    out = rows.copy()
    with monkeypatch.context() as patch:
        patch.setattr(compiled, "kernels", None)
        deblock._pass(out, alpha, beta, int(alpha.max(initial=0)))
    return out


def edge_rows(rng: np.random.Generator, edges: int, lines: int) -> np.ndarray:
    """Rows of edges whose lines are mostly flat on each side with a step between: most pass the filter's tests."""
    sides = rng.integers(20, 236, (edges, 2, 1, lines))
    noise = rng.integers(-2, 3, (edges, 2, 4, lines))
    return np.clip(sides + noise, 0, 255).reshape(edges * 8, lines).astype(np.uint8)


@pytest.mark.parametrize("lines", [1, 5, 8, 13, 64, 67])
def test_filter_edges_is_the_numpy_pass(kernels: object, lines: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every alpha from 0 to 255 (the cut-offs at 2 and 3 included) and beta up to 255, on lines of any count."""
    rng = np.random.default_rng(lines)
    for rows in (edge_rows(rng, 4, lines), rng.integers(0, 256, (32, lines), dtype=np.uint8)):
        for alpha in (rng.integers(0, 256, (4, lines)), rng.integers(0, 4, (4, lines)), np.full((4, lines), 3)):
            alpha = alpha.astype(np.uint8)
            beta = rng.integers(0, 256, (4, lines), dtype=np.uint8)
            expected = numpy_pass(rows, alpha, beta, monkeypatch)
            out = rows.copy()
            deblock._pass(out, alpha, beta, int(alpha.max()))
            assert np.array_equal(out, expected)


def test_filter_edges_reads_rows_where_they_lie(kernels: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows that are a view into a wider plane (strides larger than the lines) are filtered in place, and the
    samples beside them are left alone."""
    rng = np.random.default_rng(7)
    plane = rng.integers(0, 256, (24, 40), dtype=np.uint8)
    plane[:16, 4:36] = edge_rows(rng, 2, 32)
    alpha, beta = np.full((2, 32), 60, np.uint8), np.full((2, 32), 40, np.uint8)
    expected = plane.copy()
    expected[:16, 4:36] = numpy_pass(plane[:16, 4:36], alpha, beta, monkeypatch)
    deblock._pass(plane[:16, 4:36], alpha, beta, 60)
    assert np.array_equal(plane, expected)
    assert not np.array_equal(expected[:16, 4:36], edge_rows(np.random.default_rng(7), 2, 32))  # it did filter


@pytest.mark.parametrize(("shape", "skip", "out_shape"), [((1, 1), 0, (2, 2)), ((5, 7), 1, (7, 13)),
                                                          ((9, 4), 3, (5, 7)), ((33, 65), 0, (66, 130))])  # fmt: skip
def test_upsample_is_the_opencv_filters(
    kernels: object, shape: tuple[int, int], skip: int, out_shape: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows from any chroma row on, as many columns as the output holds (odd counts too)."""
    chroma = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    expected = np.empty(out_shape, np.uint8)
    with monkeypatch.context() as patch:
        patch.setattr(compiled, "kernels", None)
        decoder._upsample_into(chroma, skip, expected)
    out = np.empty(out_shape, np.uint8)
    decoder._upsample_into(chroma, skip, out)
    assert np.array_equal(out, expected)


def test_kernels_refuse_what_they_cannot_take(kernels: object) -> None:
    """Wrong dimensions, types or shapes, rows that are not contiguous, rows outside the plane, a read-only
    output: ValueError (BufferError for read-only), and nothing written."""
    rows, alpha = np.zeros((16, 8), np.uint8), np.full((2, 8), 100, np.uint8)
    chroma, out = np.zeros((4, 4), np.uint8), np.zeros((4, 8), np.uint8)
    read_only = np.zeros((16, 8), np.uint8)
    read_only.flags.writeable = False
    calls = [
        lambda: kernels.filter_edges(rows[:15], alpha, alpha),  # not 8 rows per edge
        lambda: kernels.filter_edges(rows, alpha[:, :7], alpha),  # lines differ
        lambda: kernels.filter_edges(rows.view(np.int8), alpha, alpha),
        lambda: kernels.filter_edges(rows.astype(np.int16), alpha, alpha),
        lambda: kernels.filter_edges(rows[:, ::2], alpha[:, :4], alpha[:, :4]),  # rows not contiguous
        lambda: kernels.filter_edges(rows.reshape(2, 8, 8), alpha, alpha),
        lambda: kernels.filter_edges(read_only, alpha, alpha),
        lambda: kernels.upsample(chroma, 5, out),  # output rows 5..8 of 0..7
        lambda: kernels.upsample(chroma, -1, out),
        lambda: kernels.upsample(chroma, 0, np.zeros((4, 9), np.uint8)),  # 9 columns of 8
        lambda: kernels.upsample(np.zeros((0, 4), np.uint8), 0, np.zeros((0, 8), np.uint8)),
        lambda: kernels.upsample(chroma, 0, out[:, ::-1]),
    ]
    for call in calls:
        with pytest.raises((ValueError, BufferError)):
            call()
    assert not rows.any() and not out.any()
    kernels.upsample(chroma + 9, 4, out)  # the last rows it may write are written
    assert (out == 9).all()
