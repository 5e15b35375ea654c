"""The reference decoder: .rgc bytes to pixels, exactly as spec/format.md §11 says.

It reads alone: the container reader, the payload codecs and the layout of
mosaics and canvases, nothing of the encoder. After the stream decoders,
every step is the spec's integer arithmetic; where an OpenCV call computes it
(checked against the formulas by tests/test_conformance.py), the comment says
which formula it is.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import cast

import numpy as np

from . import compiled, container, layout, threads
from .codecs import CODECS, MOSAIC, MosaicCodec, native
from .codecs.picture import Rows, is_grey
from .container import Container, Deblock, Header, Layer
from .deblock import plane_jobs, stream_table, strength

GREY_WEIGHTS = (19595, 38470, 7471)  # §11.7: libjpeg's luma weights for R, G, B in units of 2^-16
# §11.9: a canvas's chroma among JPEG layers, from the sums of R, G and B over a 2x2 square, in units of 2^-18
CB_WEIGHTS, CR_WEIGHTS = (-11059, -21709, 32768), (32768, -27439, -5329)
CHROMA_BIAS = (128 << 18) + (1 << 17)  # §11.9: 128, and a half for rounding, in those units
PLANE_START = 128  # §11.2: every plane sample before any layer is written
BAND_ROWS = 128  # chroma rows upsampled and converted per job: in cache, and a 768x512 image makes two jobs
CANVAS_EFFORT = 8  # a canvas byte costs about this many JPEG bytes to decode and place (to start the longest first)
BESIDE_FIRST = float("inf")  # the cost of jobs set up beside the streams: above any stream's, so they start first

Planes = list[np.ndarray]  # Y, and Cb and Cr for colour (§11.2)
StreamShape = tuple[tuple[int, int], str]  # a stream's (rows, cols) and its name in errors
StreamShapes = dict[int, list[StreamShape]]  # each coded region's streams' (check_streams)
FilterJobs = list[tuple[int, Callable[[], None]]]  # (cost, job) of the deblocking filter's bands


def decode(data: bytes, *, max_pixels: int = container.DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The image in .rgc data: uint8 H x W (L), H x W x 2 (LA), H x W x 3 (RGB) or H x W x 4 (RGBA)."""
    return decode_container(container.read(data, max_pixels=max_pixels))


def decode_container(parsed: Container) -> np.ndarray:
    """The image of a parsed file: its colour (§11.1 steps 5-9), with the alpha plane last if it has one (step 10)."""
    colour = decode_layers(parsed.header, parsed.block_map, parsed.layers, parsed.deblock)
    if parsed.alpha is None:
        return colour
    channels = 1 if colour.ndim == 2 else colour.shape[2]
    image = np.empty((*colour.shape[:2], channels + 1), np.uint8)
    image[..., :channels] = colour.reshape(*colour.shape[:2], channels)
    del colour  # the image and the alpha plane's zstd content are all that live while alpha is made
    container.alpha_plane(parsed.alpha, parsed.header, out=image[..., channels])
    return image


def decode_layers(
    header: Header, block_map: np.ndarray, layers: tuple[Layer, ...], deblock: Deblock | None = None
) -> np.ndarray:
    """The colour image (L or RGB, cropped to W x H) of a file's layers, deblocked as its DBLK chunk says.

    Every stream's header (and, for the filter, its quantisation table) is
    checked against its mosaic or canvas before anything of the image's size
    is allocated (step 5).
    """
    coded = [layer for layer in layers if layer.streams]
    shapes = check_streams(header, block_map, layers)
    if all(CODECS[layer.codec].layout != MOSAIC for layer in coded):
        return _canvas_image(header, block_map, coded, shapes)
    per_region = None if deblock is None else region_strengths(coded, shapes)  # every table, before the planes
    planes = _start_planes(header, block_map, coded)
    set_up: list[Callable[[], FilterJobs]] = []
    if per_region is not None and deblock is not None:  # the filter's jobs are set up while libjpeg decodes
        set_up.append(partial(_deblock_jobs, header, block_map, per_region, planes, deblock))
    for jobs in _place_layers(header, block_map, coded, shapes, planes, set_up):
        threads.run([job for _, job in jobs], header.width * header.height, [cost for cost, _ in jobs])
    if header.colour == "L":
        return _cropped(planes[0], header.height, header.width)
    return planes_to_rgb(planes, header.height, header.width)


def _cropped(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """The top-left height x width samples of plane, contiguous, moved within the plane's own memory (§11.1 step 9).

    Each row moves to an earlier place than it had, a band at a time, so no
    band overwrites rows still to be moved and no second plane is made.
    """
    if plane.shape[1] == width:
        return plane[:height]
    flat = plane.reshape(-1)
    band = max(1, BAND_BYTES // width)
    for top in range(0, height, band):
        rows = min(band, height - top)
        flat[top * width : (top + rows) * width].reshape(rows, width)[...] = plane[top : top + rows, :width]
    return flat[: height * width].reshape(height, width)


def check_streams(header: Header, block_map: np.ndarray, layers: tuple[Layer, ...] | list[Layer]) -> StreamShapes:
    """Check every stream's header against its mosaic or canvas (§11.1 step 5); the shapes, by region."""
    shapes = {layer.region: stream_shapes(header, block_map, layer) for layer in layers if layer.streams}
    for layer in layers:
        for stream, (shape, what) in zip(layer.streams, shapes.get(layer.region, []), strict=True):
            CODECS[layer.codec].check(stream, shape, what)
    return shapes


def stream_shapes(header: Header, block_map: np.ndarray, layer: Layer) -> list[StreamShape]:
    """(shape, name in errors) of each stream a layer carries: its mosaics (§7.1) or its canvas (§7.5)."""
    cells = block_map == layer.region
    where = f"region {layer.region}"
    if CODECS[layer.codec].layout != MOSAIC:
        box = layout.region_box(cells, header.block_size, (header.height, header.width))
        return [(layout.reduced_shape(layout.box_shape(box), layer.scale), f"picture of {where}")]
    rows, cols = layout.mosaic_shape(int(np.count_nonzero(cells)), header.grid_shape[1])
    b = header.block_size // layer.scale
    luma = ((rows * b, cols * b), f"luma stream of {where}")
    return [luma] if header.colour == "L" else [luma, ((rows * b, cols * b // 2), f"chroma stream of {where}")]


# JPEG layers: planes (§11.2-§11.4, §11.9)


def _start_planes(header: Header, block_map: np.ndarray, layers: list[Layer]) -> Planes:
    """The padded image's planes before any layer is placed (§11.2): Y, and Cb and Cr side by side in one array,
    so that the filter takes both at once."""
    rows, cols = header.grid_shape
    b = header.block_size
    covered = _covers(block_map, layers)
    planes = [start_plane((rows * b, cols * b), covered)]
    if header.colour == "RGB":
        pair = start_plane((rows * b // 2, cols * b), covered)
        planes += [pair[:, : cols * b // 2], pair[:, cols * b // 2 :]]
    return planes


def _place_layers(
    header: Header,
    block_map: np.ndarray,
    layers: list[Layer],
    shapes: StreamShapes,
    planes: Planes,
    beside: list[Callable[[], FilterJobs]],
) -> list[FilterJobs]:
    """Place every layer in the planes: JPEG layers of scale 1 and canvases (§11.3, §11.9) first, then each larger
    scale of JPEG layers (§11.4). The jobs beside run with the first, before them (they need the GIL, which
    libjpeg does not); their results are returned."""
    b = header.block_size
    pixels = header.width * header.height
    mosaics = [layer for layer in layers if CODECS[layer.codec].layout == MOSAIC]
    canvases = [layer for layer in layers if CODECS[layer.codec].layout != MOSAIC]
    results: list[FilterJobs] = []
    for scale in sorted({layer.scale for layer in mosaics} | {1}):
        same = [layer for layer in mosaics if layer.scale == scale]
        target = planes if scale == 1 else [reduce(plane, scale) for plane in planes]
        scatter: list[tuple[float, Callable[[], object]]] = [
            job
            for layer in same
            for job in _scatter_jobs(layer, shapes[layer.region], block_map == layer.region, b // scale, target)
        ]
        if scale == 1:
            scatter += [
                (
                    len(layer.streams[0]) * CANVAS_EFFORT,
                    partial(_place_canvas, header, block_map, layer, shapes[layer.region][0], planes),
                )
                for layer in canvases
            ]
            scatter += [(BESIDE_FIRST, job) for job in beside]
        done = threads.run([work for _, work in scatter], pixels, [size for size, _ in scatter])
        if scale == 1:  # the first
            results = cast(list[FilterJobs], done[len(done) - len(beside) :])
        if scale > 1:
            cells = [block_map == layer.region for layer in same]
            jobs = [
                partial(_place_enlarged, small, scale, plane, cells, b * plane.shape[0] // planes[0].shape[0])
                for plane, small in zip(planes, target, strict=True)  # cell: b for luma, b/2 for chroma
            ]
            threads.run(jobs, pixels)
    return results


def _covers(block_map: np.ndarray, layers: list[Layer]) -> bool:
    """Whether every block of the map is written by a JPEG layer of scale 1 or a canvas (which writes every sample
    of its blocks), so no sample keeps its starting value."""
    if any(layer.scale != 1 and CODECS[layer.codec].layout == MOSAIC for layer in layers):
        return False  # larger scales of JPEG layers filter across the starting values (§11.4)
    return codes_every_block(block_map, layers)


def codes_every_block(block_map: np.ndarray, layers: list[Layer]) -> bool:
    """Whether the layers code every block of the map."""
    coded = np.zeros(256, bool)  # block map entries are bytes (§6)
    coded[[layer.region for layer in layers]] = True
    return bool(coded[block_map].all())


def start_plane(shape: tuple[int, int], covered: bool) -> np.ndarray:
    """A plane before any layer is written (§11.2): PLANE_START, or left unset when the layers write every sample."""
    return np.empty(shape, np.uint8) if covered else np.full(shape, PLANE_START, np.uint8)


def _place_enlarged(small: np.ndarray, scale: int, plane: np.ndarray, cells: list[np.ndarray], cell: int) -> None:
    """Enlarge a reduced plane by scale (§11.4) and copy the blocks where cells are True into plane, in bands.

    A band of rows is enlarged with one row of context either side, so that
    it is exactly what enlarging the whole plane gives, without a whole
    enlarged plane beside the plane.
    """
    band = max(1, BAND_BYTES // (plane.shape[1] * cell)) * cell  # output rows: whole cells, and a multiple of scale
    for top in range(0, plane.shape[0], band):
        bottom = min(top + band, plane.shape[0])
        first, last = top // scale, bottom // scale
        above, below = max(first - 1, 0), min(last + 1, small.shape[0])
        skip = (first - above) * scale
        enlarged = enlarge(small[above:below], scale)[skip : skip + bottom - top]
        rows = slice(top // cell, bottom // cell)
        for where in cells:
            layout.copy_blocks(enlarged, plane[top:bottom], where[rows], cell)


def _scatter_jobs(
    layer: Layer, shapes: list[StreamShape], cells: np.ndarray, cell: int, planes: Planes
) -> list[tuple[int, partial[None]]]:
    """(bytes, job) per stream of a JPEG layer: the job decodes it and copies its blocks into planes (§11.3).

    shapes are its streams' (shape, name), as stream_shapes gives them; cell is the blocks' size in luma pixels.
    """
    parts = [(cell, planes[:1]), (cell // 2, planes[1:])]  # luma; Cb above Cr in the chroma stream
    return [
        (len(stream), partial(_scatter, layer, index, shape, what, cells, part_cell, part_planes))
        for index, (stream, (shape, what), (part_cell, part_planes)) in enumerate(
            zip(layer.streams, shapes, parts[: len(shapes)], strict=True)
        )
    ]


def _scatter(
    layer: Layer, stream: int, shape: tuple[int, int], what: str, cells: np.ndarray, cell: int, planes: Planes
) -> None:
    """Decode one stream of a layer and copy its blocks into planes: luma, or Cb above Cr in one stream (§7.1)."""
    codec = cast(MosaicCodec, CODECS[layer.codec])
    mosaic = codec.decode(layer.streams[stream], shape, what, checked=True)  # by check_streams, first
    rows = mosaic.shape[0] // len(planes)
    for index, plane in enumerate(planes):
        layout.unpack(mosaic[index * rows : (index + 1) * rows], cells, cell, plane)


# Canvases among JPEG layers (§11.9)


def _place_canvas(header: Header, block_map: np.ndarray, layer: Layer, shape: StreamShape, planes: Planes) -> None:
    """Decode a canvas in a file of JPEG layers and write its region's blocks into the planes as YCbCr (§11.9).

    The box's picture (enlarged by the layer's scale, §11.7) is extended to
    whole blocks by repeating its last row and column, then converted: luma
    per pixel, chroma per 2x2 square, both in integers.
    """
    import cv2

    cells = block_map == layer.region
    b = header.block_size
    box = layout.region_box(cells, b, (header.height, header.width))
    rows, cols = layout.box_shape(box)
    picture = CODECS[layer.codec].decode(layer.streams[0], *shape)
    if layer.scale > 1:
        picture = enlarge(picture, layer.scale)[:rows, :cols]
    bottom, right = -rows % b, -cols % b
    if bottom or right:
        picture = cv2.copyMakeBorder(picture, 0, bottom, 0, right, cv2.BORDER_REPLICATE)
    top, left = box[0].start, box[1].start
    grid = (slice(top // b, (top + rows + bottom) // b), slice(left // b, (left + cols + right) // b))
    inside = cells[grid]
    window = (slice(top, top + rows + bottom), slice(left, left + cols + right))
    layout.copy_blocks(to_grey(picture), planes[0][window], inside, b)
    if len(planes) > 1:
        half = (slice(top // 2, (top + rows + bottom) // 2), slice(left // 2, (left + cols + right) // 2))
        for plane, chroma in zip(planes[1:], canvas_chroma(picture), strict=True):
            layout.copy_blocks(chroma, plane[half], inside, b // 2)


def canvas_chroma(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """§11.9: Cb and Cr of each 2x2 square of an even-sized RGB picture, from its sums of R, G and B.

    Cb = clamp((-11059 SR - 21709 SG + 32768 SB + 2^25 + 2^17) >> 18), Cr likewise with 32768, -27439, -5329.
    """
    rows, cols = rgb.shape[0] // 2, rgb.shape[1] // 2
    sums = rgb.reshape(rows, 2, cols, 2, 3).sum(axis=(1, 3), dtype=np.int32)
    out = []
    for weights in (CB_WEIGHTS, CR_WEIGHTS):
        value = sums @ np.array(weights, np.int32) + CHROMA_BIAS
        out.append(np.clip(value >> 18, 0, 255).astype(np.uint8))
    return out[0], out[1]


# Deblocking (§11.8)


def _deblock_jobs(
    header: Header, block_map: np.ndarray, per_region: np.ndarray, planes: Planes, deblock: Deblock
) -> FilterJobs:
    """(cost, job) of the jobs filtering the planes in place: luma, and Cb and Cr as one array (they lie side by
    side, _start_planes), the edge where they meet left out. per_region is each region's S (region_strengths)."""
    grids = block_strengths(header, block_map, per_region)
    strengths, inside = grids[0]
    jobs = plane_jobs(planes[0], strengths, deblock.a, deblock.b, inside=inside)
    if len(planes) == 3:
        pair = planes[1].base  # the array _start_planes made both in
        assert isinstance(pair, np.ndarray) and pair.shape[1] == 2 * planes[1].shape[1]
        strengths, inside = (np.hstack([grid, grid]) for grid in grids[1])
        jobs += plane_jobs(pair, strengths, deblock.a, deblock.b, inside=inside, cuts=(grids[1][0].shape[1],))
    return jobs


def block_strengths(
    header: Header, block_map: np.ndarray, per_region: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """For luma and (RGB) chroma: S for each 8x8 block of the plane (§11.8), from its region's (region_strengths);
    and whether the block is in the last region, inside which no edge is filtered."""
    last = block_map == header.regions - 1
    cells = [header.block_size // 8] + ([header.block_size // 16] if header.colour == "RGB" else [])
    rows, cols = block_map.shape
    return [
        (
            layout.expand(per_region[kind][block_map], (rows * cell, cols * cell), cell),
            layout.expand(last, (rows * cell, cols * cell), cell),
        )
        for kind, cell in enumerate(cells)
    ]


def region_strengths(layers: list[Layer], shapes: StreamShapes) -> np.ndarray:
    """S of each region's luma and chroma (2, 256), read from its streams' tables: FormatError where a stream does
    not define its table before its first scan (§11.8, §11.1 step 5). 0 for canvases and layers of scale > 1."""
    per_region = np.zeros((2, 256), np.uint8)  # luma, chroma; block map entries are bytes (§6)
    for layer in layers:
        if CODECS[layer.codec].layout == MOSAIC and layer.scale == 1:
            for kind, (stream, (_, what)) in enumerate(zip(layer.streams, shapes[layer.region], strict=True)):
                per_region[kind, layer.region] = strength(stream_table(stream, what))
    return per_region


def reduce(plane: np.ndarray, scale: int) -> np.ndarray:
    """§11.4: the rounded mean of each scale x scale square, (sum + s^2/2) >> log2(s^2), halves up."""
    rows, cols = plane.shape[0] // scale, plane.shape[1] // scale
    sums = plane.reshape(rows, scale, cols, scale).sum(axis=(1, 3), dtype=np.uint16)
    return ((sums + scale * scale // 2) >> (2 * (scale.bit_length() - 1))).astype(np.uint8)


def enlarge(plane: np.ndarray, scale: int) -> np.ndarray:
    """§11.4: the separable triangle filter, centres aligned, edges repeated, one rounding (+2s^2) >> log2(4s^2).

    OpenCV's INTER_LINEAR_EXACT computes exactly this for 8-bit samples and
    factors 2 and 4: its weights are multiples of 1/(2s) and it rounds once.
    """
    import cv2

    return cv2.resize(plane, (plane.shape[1] * scale, plane.shape[0] * scale), interpolation=cv2.INTER_LINEAR_EXACT)


# JPEG layers: colour (§11.5, §11.6)

# §11.5 as four 3x3 filters, one per output phase (row parity, column parity), in sixteenths: the own sample
# weighs 9, the neighbour above (even rows) or below (odd rows) 3, the one left (even columns) or right (odd
# columns) 3, and their diagonal 1. The bias of +8 (even columns) or +7 (odd) becomes an offset of +1/32 or
# -1/32: the exact sum in sixteenths is then never a half away from an integer, so rounding to nearest (what
# filter2D does) gives exactly (sum + 8) >> 4 or (sum + 7) >> 4.
_PHASE_OFFSETS = (1 / 32, -1 / 32)  # even, odd output columns


def _phase_kernel(row_phase: int, col_phase: int) -> np.ndarray:
    """The 3x3 weights (in units of 1/16) of output phase (row parity, column parity) of §11.5."""
    kernel = np.zeros((3, 3), np.float32)
    row, col = (0, 2)[row_phase], (0, 2)[col_phase]  # above or below, left or right
    kernel[1, 1], kernel[row, 1], kernel[1, col], kernel[row, col] = 9, 3, 3, 1
    return kernel / 16


_PHASE_KERNELS = [[_phase_kernel(r, c) for c in (0, 1)] for r in (0, 1)]


def upsample(chroma: np.ndarray) -> np.ndarray:
    """§11.5: a chroma plane doubled in both directions with libjpeg's h2v2 fancy filter, exactly."""
    rows, cols = chroma.shape
    out = np.empty((2 * rows, 2 * cols), np.uint8)
    _upsample_into(chroma, 0, out)
    return out


def _upsample_into(chroma: np.ndarray, skip: int, out: np.ndarray) -> None:
    """Write into out (contiguous rows) the upsampled rows of chroma from its row skip on, and as many columns as
    fit; rows above skip and below what out holds are context.

    The compiled kernel works out each row in turn; without it, each output
    phase (row parity, column parity) is one OpenCV filter over the whole of
    chroma.
    """
    import cv2

    if compiled.kernels is not None:
        compiled.kernels.upsample(chroma, 2 * skip, out)
        return
    for row_phase in (0, 1):
        for col_phase in (0, 1):
            phase = out[row_phase::2, col_phase::2]
            filtered = cv2.filter2D(
                chroma,
                -1,
                _PHASE_KERNELS[row_phase][col_phase],
                delta=_PHASE_OFFSETS[col_phase],
                borderType=cv2.BORDER_REPLICATE,
            )
            phase[...] = filtered[skip : skip + phase.shape[0], : phase.shape[1]]


def to_rgb(luma: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """§11.6: full-size Y, Cb, Cr to RGB with the 14-bit factors 1.403, 0.344, 0.714, 1.773, halves up.

    This is exactly OpenCV's YCrCb -> RGB conversion of 8-bit samples (the
    conformance tests check every one of the 2^24 inputs).
    """
    import cv2

    return cv2.cvtColor(cv2.merge([luma, cr, cb]), cv2.COLOR_YCrCb2RGB)


def planes_to_rgb(planes: Planes, height: int, width: int) -> np.ndarray:
    """The RGB image of the planes, cropped to height x width (§11.5, §11.6, §11.1 step 9), in bands of rows.

    Bands are independent jobs (threads.py), each converting straight into
    its rows of the image.
    """
    rgb = np.empty((height, width, 3), np.uint8)
    chroma_rows = -(-height // 2)
    bands = range(0, chroma_rows, BAND_ROWS)
    threads.run(
        [partial(_colour_band, planes, first, min(first + BAND_ROWS, chroma_rows), rgb) for first in bands],
        rgb.size // 3,
    )
    return rgb


def _colour_band(planes: Planes, first: int, last: int, rgb: np.ndarray) -> None:
    """Rows 2 first .. 2 last of rgb from chroma rows first .. last (§11.5, §11.6).

    The band is upsampled with one row of its neighbours on either side, so
    that every output row sees the rows the filter needs and the result is
    exactly that of upsampling the whole plane at once. The upsampled chroma
    and the luma are merged into a Y, Cr, Cb band (what OpenCV's conversion
    of §11.6 reads), which is converted straight into the image.
    """
    import cv2

    luma, cb, cr = planes
    height, width = rgb.shape[:2]
    rows = slice(2 * first, min(2 * last, height))
    top, bottom = max(first - 1, 0), min(last + 1, cb.shape[0])  # one row of context each side
    upsampled = [np.empty((rows.stop - rows.start, width), np.uint8) for _ in range(2)]
    for chroma, out in zip((cr, cb), upsampled, strict=True):
        _upsample_into(chroma[top:bottom], first - top, out)
    band = cv2.merge([luma[rows, :width], *upsampled])
    cv2.cvtColor(band, cv2.COLOR_YCrCb2RGB, dst=rgb[rows])


# WebP and AVIF layers (§11.7)

BAND_BYTES = 1 << 20  # bands of rows are cut so that their temporaries stay near 1 MB (a canvas's: per image byte)
GREY_PARTS = 3  # a grey image's WebP canvases are decoded in thirds: a third of an RGB picture (the grey image's
# bytes) beside the image, not a whole one (3x), for 2 decodes' time (libwebp decodes down to each part's end);
# its AVIF canvases on one thread (dav1d's state for two threads is 2 MB more at 12 MP, and no faster on 2 cores)


def _canvas_image(header: Header, block_map: np.ndarray, layers: list[Layer], shapes: StreamShapes) -> np.ndarray:
    """Paste each canvas's region into the image, enlarged by its scale; grey for modes 1 and 2 (§11.7).

    The image is the only array of its size: each picture is enlarged, turned
    grey and pasted a band of rows at a time, so a grey image costs its bytes
    and one picture's, not an RGB image's too.
    """
    grey = header.colour == "L"
    image = np.zeros((header.height, header.width) if grey else (header.height, header.width, 3), np.uint8)
    for layer in layers:
        _paste_layer(layer, block_map == layer.region, shapes[layer.region][0], header.block_size, image)
    return image


def _paste_layer(layer: Layer, cells: np.ndarray, stream: StreamShape, block: int, image: np.ndarray) -> None:
    """Decode one canvas and paste its region into image; the picture is freed on return, before the next one."""
    box = layout.region_box(cells, block, image.shape[:2])
    shape, what = stream
    parts = GREY_PARTS if image.ndim == 2 else 1
    with CODECS[layer.codec].opened(layer.streams[0], shape, what, parts=parts) as picture:  # type: ignore[union-attr]
        _paste(picture, shape, layer.scale, cells, box, block, image[box])
    del picture
    native.release_freed_memory()


def _paste(
    picture: Rows,
    shape: tuple[int, int],
    scale: int,
    cells: np.ndarray,
    box: layout.Box,
    block: int,
    target: np.ndarray,
) -> None:
    """Copy the region's pixels of a canvas of shape (enlarged by scale, grey if target is) into target, in bands."""
    rows, cols = target.shape[:2]
    band = _band_rows(shape[1] * scale, block, 1 if target.ndim == 2 else target.shape[2])
    first_cell_row, first_cell_col = box[0].start // block, box[1].start // block
    cell_cols = slice(first_cell_col, -(-box[1].stop // block))
    for top in range(0, rows, band):
        bottom = min(top + band, rows)
        pixels = _enlarged_rows(picture, shape[0], scale, top, bottom, grey=target.ndim == 2)[:, :cols]
        if pixels.ndim > target.ndim:
            pixels = to_grey(pixels)
        cell_rows = slice(first_cell_row + top // block, first_cell_row + -(-bottom // block))
        keep = layout.expand(cells[cell_rows, cell_cols], (bottom - top, cols), block)
        np.copyto(target[top:bottom], pixels, where=keep if target.ndim == 2 else keep[..., None])


def _band_rows(width: int, block: int, channels: int) -> int:
    """Rows of a band of a canvas width pixels wide, pasted into an image of channels bytes a pixel.

    Bands are whole block rows (so also whole rows of every scale, which
    divides the block size, §7.6). Their temporaries (the picture's rows,
    their conversion, the grey sums, the mask: counted as 12 bytes a pixel)
    come to about BAND_BYTES for each byte of the image's pixel: a grey
    image, whose bytes are a third of a colour one's, gets bands a third as
    tall, and a colour image's bands are taller and fewer.
    """
    return max(1, BAND_BYTES * channels // (12 * width * block)) * block


def _enlarged_rows(picture: Rows, height: int, scale: int, top: int, bottom: int, *, grey: bool) -> np.ndarray:
    """Rows top..bottom of the picture enlarged by scale (§11.4, §11.7), made from its rows that they need only;
    with grey, one channel of them where their R, G and B are equal (as in a monochrome canvas), which is what
    enlarging them and §11.7's grey give (each channel is enlarged alone, and the grey weights sum to 2^16).

    top is a multiple of scale. Output row s*i + k draws on input rows i - 1,
    i and i + 1: one row of context either side makes the band exactly what
    enlarging the whole picture gives.
    """
    first, last = top // scale, -(-bottom // scale)
    context = 0 if scale == 1 else 1
    above, below = max(first - context, 0), min(last + context, height)
    rows = picture.rows(above, below)
    if grey and is_grey(rows):
        rows = np.ascontiguousarray(rows[..., 0])  # a copy: a view would keep a WebP part alive beside the next
    if scale == 1:
        return rows
    skip = (first - above) * scale
    return enlarge(rows, scale)[skip : skip + bottom - top]


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """§11.7: Y = (19595 R + 38470 G + 7471 B + 32768) >> 16, in bands whose two uint32 sums are about BAND_BYTES."""
    grey = np.empty(rgb.shape[:2], np.uint8)
    red, green, blue = GREY_WEIGHTS
    rows = max(1, BAND_BYTES // (8 * max(1, rgb.shape[1])))
    for top in range(0, rgb.shape[0], rows):
        band = rgb[top : top + rows]
        total = np.multiply(band[..., 0], red, dtype=np.uint32)  # each term and the sum stay below 2^24
        total += np.multiply(band[..., 1], green, dtype=np.uint32)
        total += np.multiply(band[..., 2], blue, dtype=np.uint32)
        total += 1 << 15
        total >>= 16
        grey[top : top + rows] = total
    return grey
