"""What a .rgc file says about itself without decoding its pixels: read_info, read_mask, read_metadata.

These decode no stream, so they are quick. read_info and read_metadata read
the container only; read_mask also checks every stream's header, as decode
does, so that it builds no mask of a file decode would refuse (Pillow opens
the headers of WebP and AVIF canvases).
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import container, layout
from .container import Container, Metadata

BACKGROUND = 0  # region index of the background; the others rise in quality
MASK_BAND_BYTES = 1 << 22  # read_mask expands the map a band at a time: its temporaries stay near 4 MB


@dataclass(frozen=True)
class RegionInfo:
    """What inspect reports about one region."""

    index: int
    role: str
    codec: str
    quality: int
    scale: int
    bytes: int
    fraction: float  # share of the image's pixels this region codes


@dataclass(frozen=True)
class Info:
    """What inspect reports about a .rgc file, read without decoding pixels."""

    width: int
    height: int
    mode: str
    block_size: int
    fg_fraction: float  # share of the pixels above the lowest level (read_mask's), not only the top region
    regions: tuple[RegionInfo, ...]
    file_bytes: int
    alpha_bytes: int = 0  # the lossless alpha plane, compressed (modes LA and RGBA)
    metadata: dict[str, int] = field(default_factory=dict)  # bytes stored for exif, icc_profile, xmp

    @property
    def overhead_bytes(self) -> int:
        """Bytes of the file that are not pixels or metadata: signature, chunk framing, header, map."""
        return self.file_bytes - sum(r.bytes for r in self.regions) - self.alpha_bytes - sum(self.metadata.values())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field, overhead included."""
        return {**asdict(self), "overhead_bytes": self.overhead_bytes}


def read_info(data: bytes, /) -> Info:
    """Size, mode, block size, foreground share, per-region coding, alpha and metadata of .rgc data."""
    raw = container.as_bytes(data)
    parsed = container.read(raw, max_pixels=container.MAX_DIMENSION**2)
    areas = _region_areas(parsed)
    infos = tuple(
        RegionInfo(
            layer.region,
            _role(layer.region, len(parsed.layers)),
            layer.codec,
            layer.quality,
            layer.scale,
            layer.payload_bytes,
            areas[i],
        )
        for i, layer in enumerate(parsed.layers)
    )
    h = parsed.header
    alpha_bytes = len(parsed.alpha) if parsed.alpha is not None else 0
    stored = {container.METADATA_FIELDS[kind]: len(body) for kind, body in container.metadata_chunks(parsed.metadata)}
    return Info(h.width, h.height, h.mode, h.block_size, 1.0 - areas[BACKGROUND], infos, len(raw), alpha_bytes, stored)


def read_mask(data: bytes, /, *, max_pixels: int = container.DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The boolean H x W mask of the blocks above the lowest level in .rgc data: the foreground and any middle
    level (subjects, levels splitting the background, the transition ring), which the file does not tell apart.

    The mask has a byte per pixel, so it has decode's pixel limit (LimitError).
    A file decode would refuse is refused: every stream's header is checked
    against its mosaic or canvas, as decode checks them, before the mask is made.
    """
    from . import decoder  # only read_mask checks streams: rcodec info starts without the decoder

    parsed = container.read(data, max_pixels=max_pixels)
    decoder.check_streams(parsed.header, parsed.block_map, parsed.layers)
    h = parsed.header
    return _expanded(parsed.block_map != BACKGROUND, (h.height, h.width), h.block_size)


def _expanded(cells: np.ndarray, shape: tuple[int, int], block: int) -> np.ndarray:
    """The pixel mask of shape from a grid of block x block cells, made a band of block rows at a time."""
    mask = np.empty(shape, bool)
    band = max(1, MASK_BAND_BYTES // (cells.shape[1] * block * block))  # block rows at a time
    for top in range(0, cells.shape[0], band):
        rows = slice(top * block, min((top + band) * block, shape[0]))
        mask[rows] = layout.expand(cells[top : top + band], (rows.stop - rows.start, shape[1]), block)
    return mask


def read_metadata(data: bytes, /) -> Metadata:
    """The EXIF, ICC profile and XMP stored in .rgc data, reading only the chunks before the pixels."""
    return container.read_front(io.BytesIO(container.as_bytes(data)), max_pixels=container.MAX_DIMENSION**2)[1]


def _region_areas(parsed: Container) -> list[float]:
    """Share of the image's pixels in each region, counting edge blocks by their visible part.

    Every block counts B x B pixels, less what the bottom row and right column
    of blocks hide past the image's edge (the corner block's hidden part added
    back once): counts of the map only, so no temporary is larger than it.
    """
    h = parsed.header
    b, regions = h.block_size, h.regions
    rows, cols = h.grid_shape
    hidden_rows, hidden_cols = rows * b - h.height, cols * b - h.width
    bm = parsed.block_map
    visible = (
        container.block_counts(bm, regions) * b * b
        - container.block_counts(bm[-1:, :], regions) * hidden_rows * b
        - container.block_counts(np.ascontiguousarray(bm[:, -1:]), regions) * hidden_cols * b
        + container.block_counts(bm[-1:, -1:], regions) * hidden_rows * hidden_cols
    )
    return [float(area) / (h.width * h.height) for area in visible]


def _role(region: int, regions: int) -> str:
    """Name of a region: background (0), foreground (the last), or its level between."""
    if region == BACKGROUND:
        return "background"
    return "foreground" if region == regions - 1 else f"level {region}"
