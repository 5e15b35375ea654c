"""Region coding: an image and its block map become one layer per region, and back.

JPEG layers (spec §7.1) hold only their own region's blocks, packed into a
mosaic, so no bytes go to blocks another region codes. Planes are coded
separately (luma, then Cb over Cr at half size) and chroma is upsampled only
after all layers are put back, so a block decodes at least as faithfully as in
a JPEG of its quality, and the chroma filter reads true neighbours across
region borders.

WebP and AVIF layers (spec §7.5) are canvases: the region's bounding box with
the rest smoothly filled (see canvas.py).

A layer of scale s is coded at 1/s of the image's resolution and enlarged
after the full-resolution layers are in place, so its interpolation reads
their pixels across the border.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import canvas, container, jpeg, metrics, planes
from .container import PLANE_CODECS, Header, Layer

Planes = tuple[np.ndarray, np.ndarray | None]  # luma, and chroma (2, H/2, W/2) for RGB


class LayerCoder:
    """Codes the layers of one image, preparing its planes once and coding each layer once (searches ask again)."""

    def __init__(self, image: np.ndarray, block_map: np.ndarray, block_size: int, codec: str) -> None:
        self.image = image
        self.block_map = block_map
        self.block_size = block_size
        self.codec = codec
        self._layers: dict[tuple[int, int, int], Layer] = {}
        if codec in PLANE_CODECS:
            padded = planes.pad_to_blocks(image, block_size)
            full: Planes = (padded, None) if padded.ndim == 2 else planes.rgb_to_planes(padded)
            self._planes = {1: full}
        else:
            canvas.check_available(codec)
            self._rgb = planes.to_rgb(image)

    def layer(self, region: int, quality: int, scale: int) -> Layer:
        """The layer of region at quality, its pixels reduced by scale."""
        key = (region, quality, scale)
        if key not in self._layers:
            cells = self.block_map == region
            streams: tuple[bytes, ...] = ()
            if cells.any():
                code = self._plane_streams if self.codec in PLANE_CODECS else self._canvas_streams
                streams = code(cells, quality, scale)
            self._layers[key] = Layer(region, self.codec, quality, scale, streams)
        return self._layers[key]

    def _plane_streams(self, cells: np.ndarray, quality: int, scale: int) -> tuple[bytes, ...]:
        """JPEG: a luma mosaic and (RGB) a Cb-over-Cr chroma mosaic of the region's blocks."""
        if scale not in self._planes:
            self._planes[scale] = _resize_planes(self._planes[1], 1 / scale)
        luma, chroma = self._planes[scale]
        cell = self.block_size // scale
        luma_stream = jpeg.encode_plane(planes.pack(luma, cells, cell), quality, jpeg.LUMA_TABLE)
        if chroma is None:
            return (luma_stream,)
        stack = np.vstack([planes.pack(c, cells, cell // 2) for c in chroma])
        return luma_stream, jpeg.encode_plane(stack, quality, jpeg.CHROMA_TABLE)

    def _canvas_streams(self, cells: np.ndarray, quality: int, scale: int) -> tuple[bytes, ...]:
        """WebP/AVIF: the region's bounding box with the outside filled, reduced by scale."""
        box, keep = _region_box(cells, self.block_size, self._rgb.shape[:2])
        original = self._rgb[box]
        picture = canvas.fill_outside(original, keep)
        if scale > 1:
            rows, cols = _reduced_size(keep.shape, scale)
            picture = cv2.resize(picture, (cols, rows), interpolation=cv2.INTER_AREA)
        if self.codec not in canvas.MATCHED_CODECS:
            return (canvas.encode_canvas(picture, self.codec, quality),)

        def error(data: bytes, shape: tuple[int, ...] = picture.shape) -> float:
            decoded = canvas.decode_canvas(data, self.codec, (shape[0], shape[1]), "canvas")
            if decoded.shape != original.shape:
                decoded = cv2.resize(decoded, (keep.shape[1], keep.shape[0]), interpolation=cv2.INTER_LINEAR)
            return metrics.mse(original, decoded, keep)

        target = error(canvas.encode_canvas(original, self.codec, quality), original.shape)
        return (canvas.matched_quality(lambda q: canvas.encode_canvas(picture, self.codec, q), error, target),)


def decode_layers(header: Header, block_map: np.ndarray, layers: tuple[Layer, ...]) -> np.ndarray:
    """Rebuild the image from its layers (all JPEG, or all WebP/AVIF: the container checks).

    Every stream's size is read from its own header and checked before the
    image is allocated, so a file whose streams do not fit its header costs
    no image-sized memory (spec §11 step 5, §12).
    """
    coded = [layer for layer in layers if layer.streams]
    if coded and coded[0].codec not in PLANE_CODECS:
        return _decode_canvas_layers(header, block_map, coded)
    return _decode_plane_layers(header, block_map, coded)


def _decode_plane_layers(header: Header, block_map: np.ndarray, layers: list[Layer]) -> np.ndarray:
    """Check every mosaic's size, scatter the mosaics into the planes, smallest scale first, then convert once."""
    rows, cols = header.grid_shape
    b = header.block_size
    counts = container.block_counts(block_map, header.regions)
    shapes = {layer.region: _stream_shapes(layer, int(counts[layer.region]), cols, b) for layer in layers}
    for layer in layers:  # a greyscale layer has no chroma stream, hence strict=False
        for stream, (shape, what) in zip(layer.streams, shapes[layer.region], strict=False):
            jpeg.check_plane(stream, shape, what)
    luma = np.zeros((rows * b, cols * b), dtype=np.uint8)
    chroma = np.zeros((2, rows * b // 2, cols * b // 2), dtype=np.uint8) if header.colour == "RGB" else None
    full: Planes = (luma, chroma)
    for scale in sorted({layer.scale for layer in layers}):
        target = full if scale == 1 else _resize_planes(full, 1 / scale)
        same_scale = [layer for layer in layers if layer.scale == scale]
        for layer in same_scale:
            _unpack_layer(layer, block_map == layer.region, b // scale, target, shapes[layer.region])
        if scale > 1:
            enlarged = _resize_planes(target, scale)
            for layer in same_scale:
                cells = block_map == layer.region
                planes.copy_blocks(enlarged[0], luma, cells, b)
                if chroma is not None and enlarged[1] is not None:  # both or neither: RGB
                    for source, plane in zip(enlarged[1], chroma, strict=True):
                        planes.copy_blocks(source, plane, cells, b // 2)
    if chroma is None:
        return np.ascontiguousarray(luma[: header.height, : header.width])
    return planes.planes_to_rgb(luma, chroma, header.height, header.width)


def _stream_shapes(layer: Layer, count: int, grid_cols: int, block_size: int) -> list[tuple[tuple[int, int], str]]:
    """(shape, name) of a JPEG layer's luma and chroma streams: mosaics of its count blocks at its scale (§7.1)."""
    m_rows, m_cols = planes.mosaic_shape(count, grid_cols)
    cell = block_size // layer.scale
    where = f"region {layer.region}"
    return [
        ((m_rows * cell, m_cols * cell), f"luma stream of {where}"),
        ((m_rows * cell, m_cols * cell // 2), f"chroma stream of {where}"),
    ]


def _unpack_layer(
    layer: Layer, cells: np.ndarray, cell: int, target: Planes, shapes: list[tuple[tuple[int, int], str]]
) -> None:
    """Decode a JPEG layer's streams of the given shapes and scatter its blocks (cell pixels square) into target."""
    luma, chroma = target
    planes.unpack(jpeg.decode_plane(layer.streams[0], *shapes[0]), cells, cell, luma)
    if chroma is not None:
        stack = jpeg.decode_plane(layer.streams[1], *shapes[1])
        for plane, part in zip(chroma, np.vsplit(stack, 2), strict=True):
            planes.unpack(part, cells, cell // 2, plane)


def _resize_planes(source: Planes, factor: float) -> Planes:
    """Planes resized by factor: box-averaged when reducing, triangle-filtered when enlarging."""
    luma, chroma = source
    method = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR

    def resize(plane: np.ndarray) -> np.ndarray:
        size = (round(plane.shape[1] * factor), round(plane.shape[0] * factor))
        return cv2.resize(plane, size, interpolation=method)

    return resize(luma), None if chroma is None else np.stack([resize(c) for c in chroma])


def _decode_canvas_layers(header: Header, block_map: np.ndarray, layers: list[Layer]) -> np.ndarray:
    """Check every canvas's size, then paste the region's pixels of every canvas into the image."""
    shape = (header.height, header.width)
    boxes = [_box(block_map == layer.region, header.block_size, shape) for layer in layers]
    for layer, box in zip(layers, boxes, strict=True):
        canvas.check_canvas(layer.streams[0], layer.codec, _canvas_size(box, layer.scale), _canvas_name(layer))
    rgb = np.zeros((*shape, 3), dtype=np.uint8)
    for layer, box in zip(layers, boxes, strict=True):
        keep = _box_mask(block_map == layer.region, box, header.block_size)
        size = _canvas_size(box, layer.scale)
        picture = canvas.decode_canvas(layer.streams[0], layer.codec, size, _canvas_name(layer))
        if layer.scale > 1:
            picture = cv2.resize(picture, (keep.shape[1], keep.shape[0]), interpolation=cv2.INTER_LINEAR)
        rgb[box][keep] = picture[keep]
    return rgb if header.colour == "RGB" else planes.to_grey(rgb)


def _canvas_name(layer: Layer) -> str:
    """How errors name a layer's canvas."""
    return f"picture of region {layer.region}"


def _canvas_size(box: tuple[slice, slice], scale: int) -> tuple[int, int]:
    """(rows, cols) of the canvas of a box, coded at 1/scale."""
    return _reduced_size((box[0].stop - box[0].start, box[1].stop - box[1].start), scale)


def _region_box(cells: np.ndarray, block_size: int, shape: tuple[int, int]) -> tuple[tuple[slice, slice], np.ndarray]:
    """The pixel bounding box of a region's blocks (clipped to the image), and its mask inside the box."""
    box = _box(cells, block_size, shape)
    return box, _box_mask(cells, box, block_size)


def _box(cells: np.ndarray, block_size: int, shape: tuple[int, int]) -> tuple[slice, slice]:
    """The pixel bounding box of a region's blocks, clipped to an image of shape."""
    rows = np.flatnonzero(cells.any(axis=1))
    cols = np.flatnonzero(cells.any(axis=0))
    top, left = rows[0] * block_size, cols[0] * block_size
    bottom = min((rows[-1] + 1) * block_size, shape[0])
    right = min((cols[-1] + 1) * block_size, shape[1])
    return slice(top, bottom), slice(left, right)


def _box_mask(cells: np.ndarray, box: tuple[slice, slice], block_size: int) -> np.ndarray:
    """The region's pixels inside box, made from the blocks it spans only (not a whole-image mask)."""
    rows = slice(box[0].start // block_size, -(-box[0].stop // block_size))
    cols = slice(box[1].start // block_size, -(-box[1].stop // block_size))
    return planes.expand(cells[rows, cols], (box[0].stop - box[0].start, box[1].stop - box[1].start), block_size)


def _reduced_size(shape: tuple[int, ...], scale: int) -> tuple[int, int]:
    """(rows, cols) of a picture of shape coded at 1/scale (rounded up)."""
    return -(-shape[0] // scale), -(-shape[1] // scale)
