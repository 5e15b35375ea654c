"""The deblocking filter of spec §11.8: low-quality JPEG layers smoothed across their 8x8 block edges.

A JPEG layer coded at a low quality shows its 8x8 blocks: each is flat, or
nearly, and neighbours differ by a step. The filter turns such a step into
a ramp over the eight samples across the edge, where both sides are flat
enough that the step cannot be detail, and the step is small enough for the
layer's quantisation to have made it. How much counts as "small" and "flat"
comes from each block's own quantisation table (its strength, S), so
high-quality layers are left as they are, and an edge between regions is
smoothed by both sides' strengths: no seam shows where a region ends.

Every step is integer arithmetic stated in the spec. The planes are cut into
bands of rows that hold whole edges (band_starts), each filtered on its own,
so bands are independent jobs (threads.py) and the result is the same
however many threads there are. The compiled kernels (kernels.c) filter 8
lines at a time, turning 8 rows around in registers for the vertical edges.
Without them, the eight samples across each edge are eight rows of one array
(the band is transposed for the vertical edges), so every step is one
OpenCV call over every edge at once. Both equal the per-edge transcription
in tests/naive_decoder.py (tests/test_deblock.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import partial

import numpy as np

from . import compiled
from .codecs.jpeg import SOF_HUFFMAN, SOS, TO_FIRST_SCAN, segments
from .errors import FormatError

GRID = 8  # §11.8: the filter works on each plane's own 8x8 DCT block grid
MAX_STRENGTH = 255  # §11.8: S is capped, so that 16-bit tables do not overflow anything
MAX_ALPHA = 120  # §11.8: alpha is capped well below 255, so |d2| saturated to a byte compares exactly
SKIP_BELOW = 24  # §11.8: A Q < 24 means alpha <= 2, where every correction rounds to 0
BAND_ROWS = 512  # rows per job, about (a multiple of 8): a 768x512 image makes 1 job of luma, 1 of chroma; the
# numpy/OpenCV pass's short calls queue for the GIL in more, smaller ones, and 256 or 128 rows gained nothing with the
# compiled pass either (decode / Pillow decode at 768x512: 1.172 at 512 rows, 1.199 at 256, 1.254 at 128)
BAND_SAMPLES = BAND_ROWS * 768  # but no more samples than that per band: the numpy pass's temporaries (a transposed
# copy, its steps, d2 in 16 bits) are several times its samples, and wide planes' bands would hold more than the image
_WEIGHTS = (7, 5, 3, 1)  # §11.8: c_k = (d2 (7 - 2k) + 16) >> 5 for k = 0..3

# T.81 B.2.4.1: DQT segments list their entries in zigzag order; tables are used here in natural (row-major) order
ZIGZAG = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
    28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
    54, 47, 55, 62, 63,
)  # fmt: skip
_ZIGZAG = np.array(ZIGZAG)
_DQT = 0xDB  # T.81 B.1.1.3: define quantisation tables


def stream_table(stream: bytes, what: str) -> tuple[int, ...]:
    """The quantisation table (64 steps, natural order) a one-component JPEG stream's component uses (§11.8).

    It is table Tq of the frame header's component, as the last DQT segment
    defining it before the first SOS marker leaves it: the table libjpeg
    latches when the component's first scan starts. Segments are walked by
    their lengths, as §7.2 walks them to the frame header, and the same
    segments alone may stand between the frame header and the first SOS;
    FormatError if the walk fails or the table is never defined.
    """
    tables: dict[int, tuple[int, ...]] = {}
    wanted: int | None = None
    for marker, _, body in segments(stream, what, TO_FIRST_SCAN, "before its first scan"):
        if marker == SOS:
            if wanted is None or wanted not in tables:
                break
            return tables[wanted]
        if marker == _DQT:
            _read_tables(body, tables, what)
        elif marker in SOF_HUFFMAN:
            if wanted is not None:
                raise FormatError(f"{what} has a second frame header before its first scan")
            if len(body) < 9:
                break
            wanted = body[8]  # the component's Tq (T.81 B.2.2: its third byte)
    raise FormatError(f"{what} does not define the quantisation table of its component before its first scan")


def _read_tables(body: bytes, tables: dict[int, tuple[int, ...]], what: str) -> None:
    """Add the tables of one DQT segment's data (T.81 B.2.4.1: Pq Tq, then 64 entries of 8 or 16 bits each)."""
    position = 0
    while position < len(body):
        precision, index = body[position] >> 4, body[position] & 0x0F
        size = 64 * (2 if precision else 1)
        entries = body[position + 1 : position + 1 + size]
        if precision > 1 or len(entries) < size:
            raise FormatError(f"{what} has a damaged DQT segment")
        natural = np.empty(64, np.int64)
        natural[_ZIGZAG] = np.frombuffer(entries, ">u2" if precision else np.uint8)
        tables[index] = tuple(natural.tolist())
        position += 1 + size


def strength(table: tuple[int, ...] | list[int]) -> int:
    """§11.8: a block's strength S from its table (natural order): the two first AC steps' mean, halves up, capped."""
    return min(MAX_STRENGTH, (table[1] + table[GRID] + 1) >> 1)


@functools.lru_cache(maxsize=16)
def thresholds(a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables from an edge's strength Q (0..255) to its alpha and beta (both uint8), §11.8."""
    q = np.arange(MAX_STRENGTH + 1)
    return np.minimum((a * q) >> 3, MAX_ALPHA).astype(np.uint8), ((b * q) >> 4).astype(np.uint8)


def _corrections() -> list[tuple[int, float]]:
    """For k = 0..3: the smallest |d2| at which c_k is not 0, and the weight (7 - 2k) / 32 of c_k."""
    d2 = np.arange(-MAX_ALPHA, MAX_ALPHA + 1)
    return [(int(np.abs(d2[(d2 * w + 16) >> 5 != 0]).min()), w / 32) for w in _WEIGHTS]


# c_k from |d2| in one OpenCV call, exactly: (|d2| w + 16) >> 5 where d2 > 0 is |d2| w / 32 + 1/64 rounded to nearest,
# and -((-|d2| w + 16) >> 5) where d2 < 0 is |d2| w / 32 - 1/64 rounded: |d2| w / 32 is a multiple of 1/32, so the
# 1/64 is never a tie and every value is exact in floating point (tests/test_deblock.py checks all of them).
_HALF_UP, _HALF_DOWN = 1 / 64, -1 / 64
_CORRECTIONS = _corrections()


def band_starts(rows: int, width: int) -> list[int]:
    """Where the bands of a plane of rows (width samples wide) start: 0, then rows 8k + 4, about BAND_ROWS apart,
    closer in planes wider than 768 (BAND_SAMPLES).

    The eight rows across a horizontal edge at row 8i are 8i - 4 .. 8i + 3,
    so a band from 8a + 4 to 8b + 4 holds every row of its edges, and
    filtering it alone gives exactly what filtering the whole plane gives.
    """
    step = max(GRID, min(BAND_ROWS, BAND_SAMPLES // max(width, 1)) // GRID * GRID)
    return [0, *range(step + 4, rows - GRID, step)]


def plane_jobs(
    plane: np.ndarray,
    strengths: np.ndarray,
    a: int,
    b: int,
    *,
    inside: np.ndarray | None = None,
    cuts: tuple[int, ...] = (),
) -> list[tuple[int, Callable[[], None]]]:
    """(cost, job) of the jobs that filter plane in place (§11.8), one per band; none when no edge could change.
    The cost is the band's samples.

    strengths holds S for each 8x8 block of the plane (one per block);
    inside, if given, is True for the blocks of the last region: an edge
    between two of them is never filtered. cuts are block columns whose left
    edge is not an edge (where two planes side by side meet, so that both are
    filtered at once): they are never filtered.
    """
    strengths = np.asarray(strengths, np.uint8)  # S <= MAX_STRENGTH: bytes keep these grids a quarter of int32's
    if a * int(strengths.max(initial=0)) < SKIP_BELOW:
        return []
    alpha, beta = thresholds(a, b)
    vertical = _mean_up(strengths[:, :-1], strengths[:, 1:])  # Q of each vertical edge, per block row
    for cut in cuts:
        vertical[:, cut - 1] = 0  # alpha 0: only a line with d2 = 0 passes, and c_k is then 0
    horizontal = _mean_up(strengths[:-1], strengths[1:])  # Q of each horizontal edge, per block column
    if inside is not None:  # Q 0, so alpha 0: as with cuts
        vertical[inside[:, :-1] & inside[:, 1:]] = 0
        horizontal[inside[:-1] & inside[1:]] = 0
    height = plane.shape[0]

    across = [_look_up(vertical, table) for table in (alpha, beta)]  # (block rows, edges)
    down = [_look_up(horizontal, table) for table in (alpha, beta)]  # (edges, block columns)
    starts = band_starts(height, plane.shape[1])
    jobs: list[tuple[int, Callable[[], None]]] = []
    for start, end in zip(starts, [*starts[1:], height], strict=True):
        first, last = start // GRID, (end - 1) // GRID  # block rows the band touches
        low, high = (start + 4 + GRID - 1) // GRID, (end - 4) // GRID  # horizontal edges at rows 8i it holds whole
        v, h = vertical[first : last + 1], horizontal[low - 1 : high]  # edge 8i is between block rows i - 1 and i
        largest = (int(alpha[v.max(initial=0)]), int(alpha[h.max(initial=0)]))
        if max(largest) <= 2:  # every correction rounds to 0
            continue
        v_blocks = [values[first : last + 1] for values in across]
        h_blocks = [values[low - 1 : high] for values in down]
        band = partial(_filter_band, plane, start, end, v_blocks, h_blocks, largest)
        jobs.append(((end - start) * plane.shape[1], band))
    return jobs


def _mean_up(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(first + second + 1) >> 1 of two uint8 arrays, in uint8: (x | y) - ((x ^ y) >> 1), which never overflows."""
    return np.bitwise_or(first, second) - (np.bitwise_xor(first, second) >> 1)


def _look_up(grid: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The table's threshold of each edge's Q (a byte: S <= 255) in a grid of edges, which may be empty."""
    import cv2

    return cv2.LUT(grid, table) if grid.size else np.zeros(grid.shape, np.uint8)  # several times numpy's indexing


def _filter_band(
    plane: np.ndarray,
    start: int,
    end: int,
    vertical: list[np.ndarray],
    horizontal: list[np.ndarray],
    largest: tuple[int, int],
) -> None:
    """Filter rows start..end of plane in place: every vertical edge along them, then the horizontal edges inside.

    vertical and horizontal hold alpha and beta of the band's vertical edges for each block row it touches
    (block rows, edges) and of the horizontal edges it holds whole for each block column (edges, block
    columns); largest is the largest alpha of each.
    """
    band = plane[start:end]
    if band.shape[1] > GRID and largest[0] > 2:
        _across(band, vertical[0], vertical[1], start % GRID, largest[0])
    if horizontal[0].size and largest[1] > 2:
        offset = (start + 4 + GRID - 1) // GRID * GRID - 4 - start  # the band's row of p3 of its first edge
        _pass(band[offset : offset + GRID * horizontal[0].shape[0]], horizontal[0], horizontal[1], 0, largest[1])


def _across(band: np.ndarray, alpha: np.ndarray, beta: np.ndarray, first: int, largest: int) -> None:
    """The pass over a band's vertical edges, each row a line: columns 8e + 4 .. 8e + 11 are edge e's samples.
    alpha and beta (block rows, edges) are the thresholds of each block of 8 rows, row l in block (first + l) // 8.

    The compiled kernel turns 8 rows at a time around in registers; without it the band is transposed, so that
    its vertical edges become rows for _pass, and back.
    """
    import cv2

    if compiled.kernels is not None:
        compiled.kernels.filter_across(band, alpha, beta, first)
        return
    turned = cv2.transpose(band)
    _pass(turned[4:-4], np.ascontiguousarray(alpha.T), np.ascontiguousarray(beta.T), first, largest)
    cv2.transpose(turned, dst=band)


def _pass(rows: np.ndarray, alpha: np.ndarray, beta: np.ndarray, first: int, largest: int) -> None:
    """One pass over edges between groups of 8 rows: row 8e + r of rows is sample r (p3 p2 p1 p0 q0 q1 q2 q3) of
    edge e, each column a line. alpha and beta (edges, blocks) are the thresholds of each block of 8 lines, line
    l in block (first + l) // 8; largest is the largest alpha. In place."""
    import cv2

    if compiled.kernels is not None:
        compiled.kernels.filter_edges(rows, alpha, beta, first)
        return
    edges, width = rows.shape[0] // GRID, rows.shape[1]
    alpha, beta = (
        cv2.resize(t, (t.shape[1] * GRID, t.shape[0]), interpolation=cv2.INTER_NEAREST)[:, first : first + width]
        for t in (alpha, beta)
    )  # each line's: INTER_NEAREST repeats exactly
    view = rows.reshape(edges, GRID, width)
    p3, p2, p1, p0, q0, q1, q2, q3 = (view[:, k] for k in range(GRID))
    steps = np.empty((edges * GRID, width), np.uint8)  # |row r + 1 - row r|; the last row of each group unused
    cv2.absdiff(rows[1:], rows[:-1], dst=steps[:-1])
    step = steps.reshape(edges, GRID, width)  # 0: |p2 - p3|, 1: |p1 - p2|, 2: |p0 - p1|, 4..6: q's
    add = cv2.add
    flat_p = add(add(step[:, 0], step[:, 1]), step[:, 2])  # saturates at 255, above any beta
    flat_q = add(add(step[:, 4], step[:, 5]), step[:, 6])
    flat = cv2.compare(cv2.max(flat_p, flat_q), beta, cv2.CMP_LE)
    d2 = np.subtract(q0, p0, dtype=np.int16)  # numpy's mixed-type subtraction is several times OpenCV's
    d2 *= 3
    d2 += np.subtract(p1, q1, dtype=np.int16)  # d2 = 3 (q0 - p0) - (q1 - p1)
    size = cv2.convertScaleAbs(d2)  # |d2|, saturated at 255 (above any alpha)
    on = cv2.bitwise_and(flat, cv2.compare(size, alpha, cv2.CMP_LE))  # the lines filtered
    positive = cv2.compare(d2, 0, cv2.CMP_GT)  # type: ignore[call-overload]  # OpenCV takes a scalar too
    negative = cv2.compare(d2, 0, cv2.CMP_LT)  # type: ignore[call-overload]
    rising = cv2.bitwise_and(size, cv2.bitwise_and(on, positive))  # |d2| where the line is filtered and d2 > 0
    falling = cv2.bitwise_and(size, cv2.bitwise_and(on, negative))  # and where d2 < 0
    for (reach, weight), p, q in zip(_CORRECTIONS, (p0, p1, p2, p3), (q0, q1, q2, q3), strict=True):
        if largest < reach:  # |d2| <= alpha < reach: c_k is 0 on every line
            continue
        rise = cv2.convertScaleAbs(rising, alpha=weight, beta=_HALF_UP)  # c_k where it is positive, else 0
        fall = cv2.convertScaleAbs(falling, alpha=weight, beta=_HALF_DOWN)  # -c_k where it is negative, else 0
        cv2.subtract(add(p, rise), fall, dst=p)  # saturating: clamp(p_k + c_k), as §11.8 clamps
        cv2.subtract(add(q, fall), rise, dst=q)  # clamp(q_k - c_k)
