"""Where a region's pixels go in its layer, and back: mosaics (spec §7.1) and canvas boxes (§7.5).

Both the encoder and the decoder use these, so the two cannot disagree on a
layout. Blocks are addressed on the block grid: a boolean `cells` array with
one entry per block, True where the region has the block.
"""

from __future__ import annotations

import numpy as np

from . import compiled

Box = tuple[slice, slice]  # rows, columns of a rectangle of pixels


def mosaic_shape(count: int, grid_cols: int) -> tuple[int, int]:
    """Rows and columns of the mosaic that holds count blocks of a grid grid_cols wide (§7.1)."""
    cols = min(count, grid_cols)
    return -(-count // cols), cols


def pack(plane: np.ndarray, cells: np.ndarray, cell: int, out: np.ndarray | None = None) -> np.ndarray:
    """Gather the cell x cell blocks where cells is True, in raster order, into a mosaic (§7.1).

    The mosaic is as wide as the grid (or narrower); cells past the last block
    are flat at the last block's mean, which JPEG codes almost for free. out,
    if given, is where the mosaic goes (a contiguous array of its shape).
    """
    count = int(np.count_nonzero(cells))
    rows, cols = mosaic_shape(count, cells.shape[1])
    mosaic = np.empty((rows * cell, cols * cell), plane.dtype) if out is None else out
    if compiled.kernels is not None:
        compiled.kernels.move_blocks(plane, cells.view(np.uint8), cell, mosaic, True)
    else:
        blocks = _block_rows(plane, cell)[cells]  # (count, cell): the region's blocks in raster order
        full = count // cols  # mosaic rows every column of which holds a block
        places = _block_rows(mosaic, cell)
        places[:full] = blocks[: full * cols].reshape(full, cols, cell)
        if count > full * cols:
            places[full, : count - full * cols] = blocks[full * cols :]
    spare = rows * cols - count
    if spare:
        last = _blocks(mosaic, cell)[-1]
        last[cols - spare :] = round(float(last[cols - spare - 1].mean()))
    return mosaic


def unpack(mosaic: np.ndarray, cells: np.ndarray, cell: int, plane: np.ndarray) -> None:
    """Scatter the blocks of a mosaic back to where cells is True in plane; spare cells are dropped (§11.3)."""
    if compiled.kernels is not None:
        compiled.kernels.move_blocks(plane, cells.view(np.uint8), cell, mosaic, False)
        return
    rows, cols = np.nonzero(cells)  # where each block of the mosaic goes, in raster order
    blocks = _block_rows(mosaic, cell)
    width = blocks.shape[1]
    full = len(rows) // width  # mosaic rows every column of which holds a block
    placed = full * width
    target = _block_rows(plane, cell)
    target[rows[:placed].reshape(full, width), cols[:placed].reshape(full, width)] = blocks[:full]
    if len(rows) > placed:
        target[rows[placed:], cols[placed:]] = blocks[full, : len(rows) - placed]


def copy_blocks(source: np.ndarray, target: np.ndarray, cells: np.ndarray, cell: int) -> None:
    """Copy the cell x cell blocks where cells is True from source to target (same shape)."""
    _blocks(target, cell)[cells] = _blocks(source, cell)[cells]


def expand(cells: np.ndarray, shape: tuple[int, int], cell: int) -> np.ndarray:
    """Pixel mask (or any per-pixel value) of shape (height, width) from a grid of cell x cell blocks."""
    full = np.repeat(np.repeat(cells, cell, axis=0), cell, axis=1)
    return np.ascontiguousarray(full[: shape[0], : shape[1]])


def region_box(cells: np.ndarray, block_size: int, shape: tuple[int, int]) -> Box:
    """The pixel bounding box of a region's blocks, clipped to an image of shape (§7.5)."""
    rows = np.flatnonzero(cells.any(axis=1))
    cols = np.flatnonzero(cells.any(axis=0))
    top, left = rows[0] * block_size, cols[0] * block_size
    bottom = min((rows[-1] + 1) * block_size, shape[0])
    right = min((cols[-1] + 1) * block_size, shape[1])
    return slice(top, bottom), slice(left, right)


def box_mask(cells: np.ndarray, box: Box, block_size: int) -> np.ndarray:
    """The region's pixels inside box, made from the blocks it spans only (not a whole-image mask)."""
    rows = slice(box[0].start // block_size, -(-box[0].stop // block_size))
    cols = slice(box[1].start // block_size, -(-box[1].stop // block_size))
    return expand(cells[rows, cols], box_shape(box), block_size)


def box_shape(box: Box) -> tuple[int, int]:
    """(rows, cols) of a box."""
    return box[0].stop - box[0].start, box[1].stop - box[1].start


def reduced_shape(shape: tuple[int, ...], scale: int) -> tuple[int, int]:
    """(rows, cols) of a picture of shape coded at 1/scale, rounded up (§7.6)."""
    return -(-shape[0] // scale), -(-shape[1] // scale)


def _blocks(plane: np.ndarray, cell: int) -> np.ndarray:
    """A (rows, cols, cell, cell) view of a plane whose sides are multiples of cell."""
    height, width = plane.shape
    return plane.reshape(height // cell, cell, width // cell, cell).swapaxes(1, 2)


def _block_rows(plane: np.ndarray, cell: int) -> np.ndarray:
    """A (rows, cols, cell) view of a plane's blocks, each row of a block one opaque item of cell pixels.

    Gathering and scattering blocks then moves whole block rows at a time,
    not single pixels: 3-4x faster than indexing a (rows, cols, cell, cell) view.
    """
    height, width = plane.shape
    items = plane.view(np.dtype((np.void, cell * plane.itemsize)))
    return items.reshape(height // cell, cell, width // cell).swapaxes(1, 2)
