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

from regioncodec import compiled, deblock, decoder, layout


def numpy_pass(
    rows: np.ndarray, alpha: np.ndarray, beta: np.ndarray, first: int, monkeypatch: pytest.MonkeyPatch
) -> np.ndarray:
    """rows after deblock's numpy/OpenCV pass over its edges."""
    out = rows.copy()
    with monkeypatch.context() as patch:
        patch.setattr(compiled, "kernels", None)
        deblock._pass(out, alpha, beta, first, int(alpha.max(initial=0)))
    return out


def edge_rows(rng: np.random.Generator, edges: int, lines: int) -> np.ndarray:
    """Rows of edges whose lines are mostly flat on each side with a step between: most pass the filter's tests."""
    sides = rng.integers(20, 236, (edges, 2, 1, lines))
    noise = rng.integers(-2, 3, (edges, 2, 4, lines))
    return np.clip(sides + noise, 0, 255).reshape(edges * 8, lines).astype(np.uint8)


@pytest.mark.parametrize("lines", [1, 5, 8, 13, 64, 67])
@pytest.mark.parametrize("first", [0, 4, 7])
def test_filter_edges_is_the_numpy_pass(
    kernels: object, lines: int, first: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every alpha the spec allows, 0 to 120 (the cut-offs at 2 and 3 included), and beta up to 255, on lines
    of any count starting anywhere in their first block. (Above 120 the two part: the numpy pass saturates
    |d2| at 255, as it may only where alpha stays below that; the kernel takes |d2| as it is.)"""
    rng = np.random.default_rng(lines * 8 + first)
    blocks = -(-(first + lines) // 8)
    for rows in (edge_rows(rng, 4, lines), rng.integers(0, 256, (32, lines), dtype=np.uint8)):
        thresholds = (rng.integers(0, deblock.MAX_ALPHA + 1, (4, blocks)), rng.integers(0, 4, (4, blocks)))
        for alpha in (*thresholds, np.full((4, blocks), 3), np.full((4, blocks), deblock.MAX_ALPHA)):
            alpha = alpha.astype(np.uint8)
            beta = rng.integers(0, 256, (4, blocks), dtype=np.uint8)
            expected = numpy_pass(rows, alpha, beta, first, monkeypatch)
            out = rows.copy()
            deblock._pass(out, alpha, beta, first, int(alpha.max()))
            assert np.array_equal(out, expected)


def test_filter_edges_reads_rows_where_they_lie(kernels: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows that are a view into a wider plane (strides larger than the lines) are filtered in place, and the
    samples beside them are left alone."""
    rng = np.random.default_rng(7)
    plane = rng.integers(0, 256, (24, 40), dtype=np.uint8)
    plane[:16, 4:36] = edge_rows(rng, 2, 32)
    alpha, beta = np.full((2, 4), 60, np.uint8), np.full((2, 4), 40, np.uint8)
    expected = plane.copy()
    expected[:16, 4:36] = numpy_pass(plane[:16, 4:36], alpha, beta, 0, monkeypatch)
    deblock._pass(plane[:16, 4:36], alpha, beta, 0, 60)
    assert np.array_equal(plane, expected)
    assert not np.array_equal(expected[:16, 4:36], edge_rows(np.random.default_rng(7), 2, 32))  # it did filter


def numpy_across(band: np.ndarray, alpha: np.ndarray, beta: np.ndarray, first: int, monkeypatch: pytest.MonkeyPatch):
    """band after deblock's numpy/OpenCV pass over its vertical edges: the band transposed, filtered, and back."""
    out = band.copy()
    with monkeypatch.context() as patch:
        patch.setattr(compiled, "kernels", None)
        deblock._across(out, alpha, beta, first, int(alpha.max(initial=0)))
    return out


@pytest.mark.parametrize("lines", [4, 5, 8, 13, 64, 67])
@pytest.mark.parametrize("first", [0, 4, 7])
def test_filter_across_is_the_transposed_numpy_pass(
    kernels: object, lines: int, first: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vertical edges turned around 8 rows at a time in registers are the transposed band's: groups of rows
    split between two block rows (first), a short last group, 1 to 9 edges, alphas across the cut-offs."""
    rng = np.random.default_rng(lines * 8 + first + 1)
    blocks, changed = -(-(first + lines) // 8), 0
    for edges in (1, 2, 9):
        flat = edge_rows(rng, edges + 1, lines).reshape(edges + 1, 8, lines)
        shifted = np.roll(flat.transpose(2, 0, 1).reshape(lines, -1), 4, axis=1)  # a step at each 8e + 8
        for band in (np.ascontiguousarray(shifted), rng.integers(0, 256, (lines, 8 * (edges + 1)), dtype=np.uint8)):
            thresholds = (rng.integers(0, deblock.MAX_ALPHA + 1, (blocks, edges)), rng.integers(0, 4, (blocks, edges)))
            for alpha in (*thresholds, np.full((blocks, edges), 3)):
                alpha = alpha.astype(np.uint8)
                beta = rng.integers(0, 256, (blocks, edges), dtype=np.uint8)
                expected = numpy_across(band, alpha, beta, first, monkeypatch)
                out = band.copy()
                deblock._across(out, alpha, beta, first, int(alpha.max()))
                assert np.array_equal(out, expected)
                changed += not np.array_equal(out, band)
    assert changed  # the pass did filter


def test_filter_across_leaves_the_plane_beside_the_band_alone(kernels: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """A band that is a view into a taller, wider plane: its rows are filtered in place, nothing beside them."""
    rng = np.random.default_rng(8)
    plane = rng.integers(0, 256, (30, 48), dtype=np.uint8)
    alpha, beta = np.full((3, 3), 80, np.uint8), np.full((3, 3), 255, np.uint8)
    expected = plane.copy()
    expected[3:23, 8:40] = numpy_across(plane[3:23, 8:40], alpha, beta, 3, monkeypatch)
    deblock._across(plane[3:23, 8:40], alpha, beta, 3, 80)
    assert np.array_equal(plane, expected)
    assert not np.array_equal(expected, np.random.default_rng(8).integers(0, 256, (30, 48), dtype=np.uint8))


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


@pytest.mark.parametrize("cell", [4, 8, 16, 32, 12])
def test_move_blocks_is_the_numpy_gather_and_scatter(
    kernels: object, cell: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mosaics with and without spare cells, a plane that is a view into a wider array (Cr beside Cb), a region
    of one block, of none and of every block."""
    rng = np.random.default_rng(cell)
    pair = rng.integers(0, 256, (6 * cell, 14 * cell), dtype=np.uint8)
    plane = pair[:, 7 * cell :]
    for cells in (rng.random((6, 7)) < 0.4, np.eye(6, 7, dtype=bool) & (np.arange(7) == 3), np.ones((6, 7), bool)):
        with monkeypatch.context() as patch:
            patch.setattr(compiled, "kernels", None)
            expected = layout.pack(plane, cells, cell)
            scattered = np.zeros_like(plane)
            layout.unpack(expected, cells, cell, scattered)
        assert np.array_equal(layout.pack(plane, cells, cell), expected)
        rebuilt = np.zeros_like(plane)
        layout.unpack(expected, cells, cell, rebuilt)
        assert np.array_equal(rebuilt, scattered)
    none = np.zeros((6, 7), bool)
    kernels.move_blocks(plane, none.view(np.uint8), cell, np.empty((0, 0), np.uint8), True)


def test_kernels_refuse_what_they_cannot_take(kernels: object) -> None:
    """Wrong dimensions, types or shapes, rows that are not contiguous, rows outside the plane, a read-only
    output: ValueError (BufferError for read-only), and nothing written."""
    rows, alpha = np.zeros((16, 8), np.uint8), np.full((2, 1), 100, np.uint8)
    chroma, out = np.zeros((4, 4), np.uint8), np.zeros((4, 8), np.uint8)
    read_only = np.zeros((16, 8), np.uint8)
    read_only.flags.writeable = False
    calls = [
        lambda: kernels.filter_edges(rows[:15], alpha, alpha, 0),  # not 8 rows per edge
        lambda: kernels.filter_edges(rows, alpha, alpha[:, :0], 0),  # alpha and beta differ
        lambda: kernels.filter_edges(rows, alpha, alpha, 1),  # lines 1..8 need 2 blocks
        lambda: kernels.filter_edges(rows, alpha, alpha, -1),
        lambda: kernels.filter_edges(rows.view(np.int8), alpha, alpha, 0),
        lambda: kernels.filter_edges(rows.astype(np.int16), alpha, alpha, 0),
        lambda: kernels.filter_edges(rows[:, ::2], alpha, alpha, 0),  # rows not contiguous
        lambda: kernels.filter_edges(rows.reshape(2, 8, 8), alpha, alpha, 0),
        lambda: kernels.filter_edges(read_only, alpha, alpha, 0),
        lambda: kernels.filter_across(rows, alpha, alpha, 0),  # 8 columns: no edge, and alpha holds one
        lambda: kernels.filter_across(rows[:, :7], alpha[:, :0], alpha[:, :0], 0),  # not whole blocks
        lambda: kernels.filter_across(rows[:8].reshape(4, 16), alpha[:1], alpha[:1], 5),  # rows 5..8 need 2
        lambda: kernels.filter_across(rows[:8].reshape(4, 16), alpha[:1], alpha, 0),  # beta differs
        lambda: kernels.filter_across(rows[:8].reshape(4, 16), alpha[:1], alpha[:1], 8),
        lambda: kernels.filter_across(read_only.reshape(8, 16), alpha, alpha, 0),
        lambda: kernels.upsample(chroma, 5, out),  # output rows 5..8 of 0..7
        lambda: kernels.upsample(chroma, -1, out),
        lambda: kernels.upsample(chroma, 0, np.zeros((4, 9), np.uint8)),  # 9 columns of 8
        lambda: kernels.upsample(np.zeros((0, 4), np.uint8), 0, np.zeros((0, 8), np.uint8)),
        lambda: kernels.upsample(chroma, 0, out[:, ::-1]),
        lambda: kernels.move_blocks(rows, np.ones((3, 1), np.uint8), 8, out, True),  # 3 block rows of 2
        lambda: kernels.move_blocks(rows, np.ones((2, 1), np.uint8), 8, out[:, :4], True),  # a mosaic of no blocks
        lambda: kernels.move_blocks(rows, np.ones((2, 1), np.uint8), 0, out, True),
        lambda: kernels.move_blocks(rows, np.ones((2, 1), np.uint8), 4, out[:, :6], True),  # not whole cells
        lambda: kernels.move_blocks(rows, np.ones((2, 1), np.uint8), 8, np.zeros((8, 8), np.uint8), True),  # room for 1
        lambda: kernels.move_blocks(rows, np.ones((2, 1), bool), 8, out, True),  # cells must be bytes
        # shapes whose products overflow: broadcast views claim them without the memory
        lambda: kernels.filter_edges(np.zeros((0, 16), np.uint8), np.broadcast_to(alpha, (2**61, 1)), alpha, 0),
        lambda: kernels.filter_across(rows.reshape(2, 64)[:0], *[np.broadcast_to(alpha[:1], (1, 2**63 - 1))] * 2, 0),
        lambda: kernels.move_blocks(
            rows, np.broadcast_to(np.ones((1, 1), np.uint8), (2**32, 1)), 2**31, np.zeros((0, 0), np.uint8), True
        ),
    ]
    for call in calls:
        with pytest.raises((ValueError, BufferError)):
            call()
    assert not rows.any() and not out.any()
    kernels.upsample(chroma + 9, 4, out)  # the last rows it may write are written
    assert (out == 9).all()


def test_a_mosaic_that_is_also_the_cells_moves_no_more_blocks_than_they_held(kernels: object) -> None:
    """The blocks are found before any is copied: copying cannot add blocks to cells that share its memory."""
    mosaic = np.zeros((8, 8), np.uint8)
    cells = mosaic[:1]
    cells[0, 0] = 1  # one block; the copy writes ones over the rest of cells
    kernels.move_blocks(np.ones((8, 64), np.uint8), cells, 8, mosaic, True)
    assert (mosaic == 1).all()
