"""Region coding: an image and its block map become one layer per region, and back.

A layer holds only its own region's blocks, packed into a mosaic (spec §7), so
no bytes go to blocks another region codes. Planes are coded separately
(luma, then Cb over Cr at half size) and chroma is upsampled only after all
layers are put back, so a block decodes exactly as in a uniform JPEG of its
quality, and the chroma filter reads true neighbours across region borders.
"""

from __future__ import annotations

import numpy as np

from . import jpeg, planes
from .container import Header, Layer


def encode_layers(image: np.ndarray, block_map: np.ndarray, qualities: list[int], block_size: int) -> list[Layer]:
    """Code each region of image (L or RGB) at its quality; region i gets qualities[i]."""
    padded = planes.pad_to_blocks(image, block_size)
    if padded.ndim == 2:
        luma, chroma = padded, None
    else:
        luma, chroma = planes.rgb_to_planes(padded)
    layers = []
    for region, quality in enumerate(qualities):
        cells = block_map == region
        streams: tuple[bytes, ...] = ()
        if cells.any():
            streams = (jpeg.encode_plane(planes.pack(luma, cells, block_size), quality, jpeg.LUMA_TABLE),)
            if chroma is not None:
                stack = np.vstack([planes.pack(c, cells, block_size // 2) for c in chroma])
                streams += (jpeg.encode_plane(stack, quality, jpeg.CHROMA_TABLE),)
        layers.append(Layer(region, "jpeg", quality, streams))
    return layers


def decode_layers(header: Header, block_map: np.ndarray, layers: tuple[Layer, ...]) -> np.ndarray:
    """Rebuild the image from its layers: scatter every mosaic, then convert once."""
    rows, cols = header.grid_shape
    b = header.block_size
    luma = np.empty((rows * b, cols * b), dtype=np.uint8)
    chroma = np.empty((2, rows * b // 2, cols * b // 2), dtype=np.uint8) if header.mode == "RGB" else None
    for layer in layers:
        if not layer.streams:
            continue
        cells = block_map == layer.region
        m_rows, m_cols = planes.mosaic_shape(int(cells.sum()), cols)
        where = f"region {layer.region}"
        mosaic = jpeg.decode_plane(layer.streams[0], (m_rows * b, m_cols * b), f"luma stream of {where}")
        planes.unpack(mosaic, cells, b, luma)
        if chroma is not None:
            half = m_rows * b // 2
            stack = jpeg.decode_plane(layer.streams[1], (2 * half, m_cols * b // 2), f"chroma stream of {where}")
            for plane, part in zip(chroma, (stack[:half], stack[half:]), strict=True):
                planes.unpack(part, cells, b // 2, plane)
    if chroma is None:
        return np.ascontiguousarray(luma[: header.height, : header.width])
    return planes.planes_to_rgb(luma, chroma, header.height, header.width)
