"""Segmentation: which blocks of an image matter. Pure functions of the pixels.

The encoder codes whole blocks, so masks live on the block grid: one boolean
cell per block (True = foreground); `layout.expand` turns a grid into pixels.

Every method scores each block from 0 to 1 (its share of edge pixels, of
object pixels, of a face...) and proposes its own level: blocks scoring above
it are foreground. The shared controls (SegmentOptions) then override the
level or aim at a foreground share, clean the grid up, drop small regions and
add a margin, the same way for every method. Methods joined with "+" unite
what each of them picks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np

from .errors import OptionError, RegionCodecError
from .fields import check_int, check_share, is_int, option
from .planes import pad_to_blocks, to_grey, to_rgb

EDGE_SCALE = 2  # edges are found at half resolution, where any detail a 16-pixel block holds still shows
EDGE_STEP = 16  # grey levels between neighbours (at half resolution) that make an edge pixel; noise stays below
MIN_CONTRAST = 40  # grey levels between Otsu's two classes; less is noise or shading on a blank page, not an object
SIDE_TIE = 0.05  # threshold: sides within 5% of half the frame count as equal in size; detail decides
WORK_SIDE = 256  # kmeans clusters the image shrunk to about this many pixels on its longer side: enough for colour
BORDER_PRIOR = 0.25  # kmeans: foreground clusters hold under a quarter as much of the border as of the frame
SALIENCY_SIDE = 64  # spectral residual works at 64 pixels on the longer side (Hou & Zhang 2007)
SALIENCY_MEAN_FACTOR = 2.0  # salient means at least twice the mean saliency (Achanta et al. 2009's adaptive level)
SALIENCY_BLUR = 2.5  # Gaussian sigma at SALIENCY_SIDE smoothing the map; wider blurs lose objects under 5% of the frame
FACE_SIDE = 640  # faces are looked for in the image shrunk to at most this on its longer side (cost, false hits)
FACE_MIN = 0.04  # smallest face looked for: 4% of the shorter side of that image...
FACE_MIN_PIXELS = 24  # ...and never under the cascade's 24x24 window, the smallest face it can see
FACE_GROWTH = 0.02  # each face box grows by 2% of its width on every side (Haar boxes already run brow to chin)
FACE_STEP = 1.1  # the cascade's window grows 10% between sizes: coarser steps missed kodim04's face at 640 pixels
FACE_NEIGHBOURS = 6  # overlapping hits a face needs (OpenCV examples use 3 to 5): a false face costs bytes
FACE_CASCADE = "haarcascade_frontalface_default.xml"  # ships in opencv-python's cv2.data: no download
# Skin, in OpenCV's full-range YCrCb at half resolution: the box of Chai & Ngan (1999), Cr 133-173 and Cb 77-127,
# tightened to Cr 136-170, Cb 80-122 (fewer sand and wood hits on Kodak) and cut to Y 60-245 (no shadows or glare)
SKIN_LOW, SKIN_HIGH = (60, 136, 80), (245, 170, 122)  # Y, Cr, Cb
SKIN_SHARE = 0.5  # a block is skin when more than half its pixels are
SUBJECT_KERNEL = 3  # skin blocks are cleaned up like the foreground: close, then open, 3 x 3 blocks


MAX_CLUSTERS = 16  # kmeans: more colour clusters than this only split the subject


@dataclass(frozen=True)
class SegmentOptions:
    """Controls shared by every segmentation method; the defaults suit photographs.

    threshold and fraction are two ways to ask for more or less foreground:
    give at most one. Every argument is checked when the options are made.
    """

    threshold: float | None = option(
        None, float, "block score from 0 to 1 above which a block is foreground (default: each method's own level)"
    )
    fraction: float | None = option(
        None, float, "aim at this share of the frame as foreground, 0 to 1, after clean-up and margin (default: off)"
    )
    kernel: int = option(3, int, "side in blocks of the close-then-open clean-up, odd; 1 turns it off (default 3)")
    min_area: float = option(0.0, float, "drop regions smaller than this share of the frame, 0 to 1 (default 0)")
    margin: int = option(0, int, "pixels of background added around the foreground, in whole blocks (default 0)")
    clusters: int = option(3, int, f"colour clusters for kmeans, 2 to {MAX_CLUSTERS} (default 3)")

    def __post_init__(self) -> None:
        check_share("threshold", self.threshold, optional=True)
        check_share("fraction", self.fraction, optional=True)
        if self.threshold is not None and self.fraction is not None:
            raise OptionError("give threshold or fraction, not both: each sets how much is foreground")
        if not is_int(self.kernel) or self.kernel < 1 or self.kernel % 2 == 0 or self.kernel > 255:
            raise OptionError(f"kernel must be an odd integer from 1 to 255 (blocks), not {self.kernel!r}")
        check_share("min_area", self.min_area, optional=False)
        check_int("margin (pixels)", self.margin, 0, 65_500)
        check_int("clusters", self.clusters, 2, MAX_CLUSTERS)


def method_names(method: Any) -> list[str]:
    """The method names in "a" or "a+b", or OptionError listing the valid ones."""
    names = method.split("+") if isinstance(method, str) else [method]
    for name in names:
        if not isinstance(name, str) or name not in METHODS:
            raise OptionError(
                f"unknown segmentation method {name!r}; choose from {', '.join(METHODS)}, "
                "or join several with + (faces+edges)"
            )
    return names


class Scores(NamedTuple):
    """What a method finds: a score from 0 to 1 per block, and the level above which it calls a block foreground."""

    grid: np.ndarray  # float32, one cell per block
    level: float


Method = Callable[[np.ndarray, int, SegmentOptions], Scores]


def block_grid(image: np.ndarray, method: str, block_size: int, options: SegmentOptions) -> np.ndarray:
    """The boolean block grid that method (one name, or several joined with "+") picks as foreground."""
    scored = [METHODS[name](image, block_size, options) for name in method_names(method)]
    weights = block_weights(image.shape[:2], block_size)
    if options.fraction is None:
        levels = [s.level if options.threshold is None else options.threshold for s in scored]
        return _pick(scored, levels, options, weights, block_size)
    return _pick_fraction(scored, options.fraction, options, weights, block_size)


def block_weights(shape: tuple[int, ...], block_size: int) -> np.ndarray:
    """How many of the image's pixels each block of the grid holds (edge blocks hold fewer)."""
    height, width = shape[:2]
    rows, cols = -(-height // block_size), -(-width // block_size)
    row_px = np.minimum(block_size, height - block_size * np.arange(rows))
    col_px = np.minimum(block_size, width - block_size * np.arange(cols))
    return np.outer(row_px, col_px)


# The methods. Each scores blocks from 0 to 1 and proposes a level.


def edges(image: np.ndarray, block_size: int, options: SegmentOptions) -> Scores:
    """Blocks dense in edges; the level splits dense from sparse blocks by Otsu.

    Edge density (the share of edge pixels per block) is high where detail
    is, which is where JPEG spends its bytes and where eyes look. An edge
    pixel is one that differs from its right or lower neighbour by more than
    EDGE_STEP grey levels in the image at half resolution. On photographs
    this picks about the blocks that Canny edges at full resolution do, for
    a small fraction of the cost (benchmarks/bench_segment.py).
    """
    density = edge_density(image, block_size)
    return Scores(density, _otsu(density))


def edge_density(image: np.ndarray, block_size: int) -> np.ndarray:
    """Share of edge pixels in each block, 0 to 1: how detailed each block is (edges scores, levels ranks)."""
    small, cell = _shrink(pad_to_blocks(to_grey(image), block_size), block_size, EDGE_SCALE)
    _, edge_map = cv2.threshold(_steps(small), EDGE_STEP, 255, cv2.THRESH_BINARY)
    return _block_means(edge_map, cell)


def threshold(image: np.ndarray, block_size: int, options: SegmentOptions) -> Scores:
    """Blocks mostly on the object's side of Otsu's grey threshold (object vs page or backdrop).

    The object is the side that covers less of the frame; when both sides
    are about as large, the one with more grey-level variation (detail). An
    image whose two classes differ by less than MIN_CONTRAST grey levels (a
    blank page, a constant image) has no object.
    """
    grey = to_grey(image)
    level, bright = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    dark_side, bright_side = _grey_classes(grey, int(level))
    if min(dark_side.share, bright_side.share) == 0 or bright_side.mean - dark_side.mean < MIN_CONTRAST:
        return Scores(np.zeros(block_weights(grey.shape, block_size).shape, np.float32), 0.5)
    if abs(bright_side.share - 0.5) > SIDE_TIE:
        object_is_bright = bright_side.share < 0.5
    else:
        object_is_bright = bright_side.spread > dark_side.spread
    side = bright if object_is_bright else cv2.bitwise_not(bright)
    return Scores(_block_means(side, block_size), 0.5)


def kmeans(image: np.ndarray, block_size: int, options: SegmentOptions) -> Scores:
    """Blocks mostly in colour clusters (k-means in Lab) that shun the frame border.

    Rule: a cluster is foreground when its share of the pixels along the
    frame border is under BORDER_PRIOR times its share of the whole frame;
    backgrounds run to the edges of a picture, subjects rarely do.
    """
    small, cell = _shrink(to_rgb(image), block_size, _factor(image.shape, block_size, WORK_SIDE))
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2Lab).reshape(-1, 3).astype(np.float32)
    labels = _cluster(lab, options.clusters).reshape(small.shape[:2])
    count = int(labels.max()) + 1
    overall = np.bincount(labels.ravel(), minlength=count) / labels.size
    ring = np.concatenate([labels[0], labels[-1], labels[1:-1, 0], labels[1:-1, -1]])
    on_border = np.bincount(ring, minlength=count) / ring.size
    foreground = on_border < BORDER_PRIOR * overall
    return Scores(_block_means(foreground[labels].astype(np.uint8) * np.uint8(255), cell), 0.5)


def saliency(image: np.ndarray, block_size: int, options: SegmentOptions) -> Scores:
    """Blocks that stand out by the spectral residual (Hou & Zhang 2007).

    What is common in an image has a smooth log spectrum; the residual left
    after smoothing it, transformed back, lights up what is unusual. The
    level is Otsu's, but at least SALIENCY_MEAN_FACTOR times the mean score,
    so that a map where nothing stands out (a blank page) picks nothing.
    """
    grey = to_grey(image)
    rows, cols = block_weights(grey.shape, block_size).shape
    small = cv2.resize(grey, _scaled_size(grey.shape, SALIENCY_SIDE / max(grey.shape)), interpolation=cv2.INTER_AREA)
    if int(small.min()) == int(small.max()):  # nothing stands out of a flat image
        return Scores(np.zeros((rows, cols), np.float32), 0.0)
    spectrum = np.fft.fft2(small.astype(np.float32) / 255)
    log_amplitude = np.log(np.abs(spectrum) + 1e-9).astype(np.float32)  # + 1e-9: no log of 0
    residual = log_amplitude - cv2.blur(log_amplitude, (3, 3))
    salient = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))).astype(np.float32) ** 2
    smooth = cv2.GaussianBlur(salient, (0, 0), SALIENCY_BLUR)
    grid = cv2.resize(np.asarray(smooth / smooth.max(), np.float32), (cols, rows), interpolation=cv2.INTER_AREA)
    return Scores(np.clip(grid, 0, 1), max(_otsu(grid), SALIENCY_MEAN_FACTOR * float(grid.mean())))


def faces(image: np.ndarray, block_size: int, options: SegmentOptions) -> Scores:
    """Blocks touched by a frontal face (OpenCV's Haar cascade), each face box grown by FACE_GROWTH.

    A block scores the share of it that the face box covering most of it
    covers; the level is 0, so any block a face touches is foreground.
    """
    grey = to_grey(image)
    scale = min(1.0, FACE_SIDE / max(grey.shape))
    small = grey if scale == 1 else cv2.resize(grey, _scaled_size(grey.shape, scale), interpolation=cv2.INTER_AREA)
    smallest = max(FACE_MIN_PIXELS, round(FACE_MIN * min(small.shape)))
    found = _face_cascade().detectMultiScale(
        small, scaleFactor=FACE_STEP, minNeighbors=FACE_NEIGHBOURS, minSize=(smallest, smallest)
    )
    weights = block_weights(grey.shape, block_size)
    cover = np.zeros(weights.shape, np.float32)
    for x, y, w, h in np.asarray(found, np.float64).reshape(-1, 4) / scale:
        grow = FACE_GROWTH * w
        box = _box_cover(grey.shape, block_size, (y - grow, y + h + grow), (x - grow, x + w + grow))
        np.maximum(cover, box / weights, out=cover)
    return Scores(cover, 0.0)


METHODS: dict[str, Method] = {
    "edges": edges,
    "threshold": threshold,
    "kmeans": kmeans,
    "saliency": saliency,
    "faces": faces,
}


# Subjects: what must not fall to the lowest level although a method leaves it out of the foreground.


def subject_grid(image: np.ndarray, foreground: np.ndarray, block_size: int) -> np.ndarray:
    """Blocks outside the foreground that belong to a subject: skin, and the holes inside the foreground's outline.

    Edges find detail, so the smooth parts of a subject (a cheek, an arm, the
    flat middle of a sign) fall out of the foreground; coded at the lowest
    quality they show blocks right where people look. Skin is found by
    colour (SKIN_LOW..SKIN_HIGH, more than SKIN_SHARE of a block, cleaned up
    with SUBJECT_KERNEL); holes are the background's 4-connected pieces that
    do not touch the frame, once skin is added: what the outline encloses.
    Greyscale images have no skin colour; their holes still count.
    """
    skin = np.zeros(foreground.shape, bool) if image.ndim == 2 else _skin(image, block_size)
    lifted = foreground | skin
    return (skin | _holes(lifted)) & ~foreground


def _skin(image: np.ndarray, block_size: int) -> np.ndarray:
    """Blocks more than SKIN_SHARE of whose pixels (at half resolution) are skin-coloured, cleaned up."""
    small, cell = _shrink(pad_to_blocks(image, block_size), block_size, EDGE_SCALE)
    inside = cv2.inRange(cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb), SKIN_LOW, SKIN_HIGH)
    cells = (_block_means(inside, cell) > SKIN_SHARE).astype(np.uint8)
    square = np.ones((SUBJECT_KERNEL, SUBJECT_KERNEL), np.uint8)
    return cv2.morphologyEx(cv2.morphologyEx(cells, cv2.MORPH_CLOSE, square), cv2.MORPH_OPEN, square).astype(bool)


def _holes(grid: np.ndarray) -> np.ndarray:
    """The cells outside grid that no 4-connected path of such cells links to the frame's border."""
    outside = (~grid).astype(np.uint8)
    count, labels = cv2.connectedComponents(outside, connectivity=4)
    border = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    enclosed = np.ones(count, bool)
    enclosed[0] = False  # label 0: the grid's own cells
    enclosed[border] = False
    return np.asarray(enclosed[labels])


# From scores to the grid: the shared controls.


def _pick(
    scored: Sequence[Scores], levels: Sequence[float], options: SegmentOptions, weights: np.ndarray, block_size: int
) -> np.ndarray:
    """Union of each method's cleaned-up blocks above its level, grown by the margin."""
    grid = np.zeros(weights.shape, bool)
    for scores, level in zip(scored, levels, strict=True):
        grid |= _clean(scores.grid > level, options, weights)
    return _grow(grid, options.margin, block_size)


def _pick_fraction(
    scored: Sequence[Scores], target: float, options: SegmentOptions, weights: np.ndarray, block_size: int
) -> np.ndarray:
    """The grid whose foreground share comes closest to target, with one level for every method.

    Each step of _pick can only keep less as the level rises, so the share
    falls with the level and a binary search over the scores finds it.
    """
    levels = np.concatenate([[-1.0], np.unique(np.concatenate([s.grid.ravel() for s in scored]))])
    total = float(weights.sum())

    def grid_at(index: int) -> np.ndarray:
        return _pick(scored, [float(levels[index])] * len(scored), options, weights, block_size)

    def share(grid: np.ndarray) -> float:
        return float(weights[grid].sum()) / total

    low, high = 0, len(levels) - 1  # share(low) is the largest, share(high) the smallest
    while high - low > 1:
        middle = (low + high) // 2
        if share(grid_at(middle)) > target:
            low = middle
        else:
            high = middle
    above, below = grid_at(low), grid_at(high)
    return above if share(above) - target < target - share(below) else below


def _clean(grid: np.ndarray, options: SegmentOptions, weights: np.ndarray) -> np.ndarray:
    """Close then open with a kernel x kernel square (fills holes, removes specks), then drop small regions."""
    cells: np.ndarray = grid.astype(np.uint8)
    if options.kernel > 1:
        square = np.ones((options.kernel, options.kernel), np.uint8)
        cells = cv2.morphologyEx(cv2.morphologyEx(cells, cv2.MORPH_CLOSE, square), cv2.MORPH_OPEN, square)
    if options.min_area > 0 and cells.any():
        count, labels = cv2.connectedComponents(cells, connectivity=8)
        areas = np.bincount(labels.ravel(), weights=weights.ravel(), minlength=count)
        keep = areas >= options.min_area * float(weights.sum())
        keep[0] = False  # label 0 is the background
        return np.asarray(keep[labels])
    return cells.astype(bool)


def _grow(grid: np.ndarray, margin: int, block_size: int) -> np.ndarray:
    """grid dilated by margin pixels, rounded up to whole blocks (and never past the grid's own size)."""
    reach = min(-(-margin // block_size), max(grid.shape))
    if reach == 0 or not grid.any():
        return grid
    square = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    return cv2.dilate(grid.astype(np.uint8), square).astype(bool)


# Helpers of the methods.


def _factor(shape: tuple[int, ...], block_size: int, side: int) -> int:
    """The power of two that shrinks the longer side of shape to about side, at most block_size."""
    factor = 1
    while max(shape[:2]) / factor > side and factor < block_size:
        factor *= 2
    return factor


def _shrink(image: np.ndarray, block_size: int, factor: int) -> tuple[np.ndarray, int]:
    """image shrunk factor times by area averaging (padded as JPEG pads), and the block size at that scale.

    factor divides block_size, so the blocks of the small image are exactly
    those of the image.
    """
    factor = min(factor, block_size)
    if factor == 1:
        return image, block_size
    padded = pad_to_blocks(image, factor)
    size = (padded.shape[1] // factor, padded.shape[0] // factor)
    return cv2.resize(padded, size, interpolation=cv2.INTER_AREA), block_size // factor


def _block_means(plane: np.ndarray, block_size: int) -> np.ndarray:
    """Mean of each block of a uint8 plane scaled to 0..1 (in steps of 1/255), edges padded as JPEG pads them."""
    padded = pad_to_blocks(plane, block_size)
    rows, cols = padded.shape[0] // block_size, padded.shape[1] // block_size
    means = cv2.resize(padded, (cols, rows), interpolation=cv2.INTER_AREA)  # uint8: rounded, and fast
    return np.asarray(means, np.float32).reshape(rows, cols) / 255


def _steps(grey: np.ndarray) -> np.ndarray:
    """Largest grey-level step from each pixel to its right or lower neighbour (0 past the last row or column).

    grey must be at least 2 x 2.
    """
    step = np.zeros_like(grey)
    step[:, :-1] = cv2.absdiff(grey[:, 1:], grey[:, :-1])
    step[:-1] = cv2.max(step[:-1], cv2.absdiff(grey[1:], grey[:-1]))
    return step


def _scaled_size(shape: tuple[int, ...], scale: float) -> tuple[int, int]:
    """(width, height) of shape scaled by scale, at least 1 x 1, as cv2.resize takes it."""
    return max(1, round(shape[1] * scale)), max(1, round(shape[0] * scale))


def _box_cover(
    shape: tuple[int, ...], block_size: int, rows: tuple[float, float], cols: tuple[float, float]
) -> np.ndarray:
    """Pixels of each block inside the box spanning rows and cols (pixel edges, clipped to the image)."""
    spans = []
    for (start, stop), size in zip((rows, cols), shape[:2], strict=False):
        edges = np.minimum(np.arange(-(-size // block_size) + 1) * block_size, size)
        spans.append(np.clip(np.minimum(edges[1:], stop) - np.maximum(edges[:-1], start), 0, None))
    return np.outer(spans[0], spans[1])


def _otsu(scores: np.ndarray) -> float:
    """Otsu's level (0..1) between the two populations of scores."""
    quantised = np.round(np.clip(scores, 0, 1) * 255).astype(np.uint8)
    level, _ = cv2.threshold(quantised, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return float(level) / 255


class GreyClass(NamedTuple):
    """One side of a grey threshold: its share of the pixels, mean grey level and standard deviation."""

    share: float
    mean: float
    spread: float


def _grey_classes(grey: np.ndarray, level: int) -> tuple[GreyClass, GreyClass]:
    """The pixels at or below level, and those above, described from the histogram (no copies of the image)."""
    counts = cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel().astype(np.float64)
    values = np.arange(256, dtype=np.float64)
    classes = []
    for part in (slice(0, level + 1), slice(level + 1, 256)):
        n = float(counts[part].sum())
        mean = float(counts[part] @ values[part]) / n if n else 0.0
        spread = (float(counts[part] @ (values[part] - mean) ** 2) / n) ** 0.5 if n else 0.0
        classes.append(GreyClass(n / grey.size, mean, spread))
    return classes[0], classes[1]


def _cluster(samples: np.ndarray, clusters: int) -> np.ndarray:
    """k-means labels of samples (N x 3 float32), deterministic.

    Clusters start as equal slices along the samples' main axis of
    variation, so the same pixels always give the same labels (OpenCV's own
    seeding draws from a shared random state).
    """
    if len(samples) < 2 or not np.ptp(samples, axis=0).any():  # one colour: one cluster
        return np.zeros(len(samples), np.int32)
    k = min(clusters, len(samples))
    centred = samples - samples.mean(axis=0)
    axis = np.linalg.svd(centred[:: max(1, len(samples) // 4096)], full_matrices=False)[2][0]
    order = np.argsort(centred @ axis, kind="stable")
    initial = np.empty(len(samples), np.int32)
    initial[order] = np.arange(len(samples)) * k // len(samples)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    _, labels, _ = cv2.kmeans(samples, k, initial.reshape(-1, 1), criteria, 1, cv2.KMEANS_USE_INITIAL_LABELS)
    return labels.ravel()


_cascades = threading.local()  # one classifier per thread: detectMultiScale is not documented as thread-safe


def _face_cascade() -> Any:
    """OpenCV's frontal face cascade, loaded once per thread."""
    if not hasattr(_cascades, "face"):
        path = Path(getattr(getattr(cv2, "data", None), "haarcascades", "")) / FACE_CASCADE
        classifier = cv2.CascadeClassifier(str(path)) if hasattr(cv2, "CascadeClassifier") else None
        if classifier is None or classifier.empty():
            raise RegionCodecError(f"faces needs OpenCV's Haar cascade {FACE_CASCADE} (opencv-python-headless 4.x)")
        _cascades.face = classifier
    return _cascades.face
