"""Choices the encoder makes by coding and measuring: the qualities for a target size, the background's scale.

File sizes and errors are measured on real layers, never predicted, so a
target is never exceeded and a reduced background never loses fidelity.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from . import container, decoder, layout, metrics, plan
from .container import Container, Deblock, Header, Layer, Metadata
from .layers import LayerCoder

AUTO_SCALES = (2, 4)  # reductions auto tries against full resolution


def file_size(
    coder: LayerCoder,
    header: Header,
    scales: list[int],
    *,
    alpha: bytes | None = None,
    metadata: Metadata | None = None,
    deblock: Deblock | None = None,
) -> Callable[[list[int]], int]:
    """The size of the file a list of qualities (one per region) makes: its chunks, and its layers coded (once
    each: the coder keeps them). alpha, metadata and deblock are the file's other chunks (see Container).

    The target-size search (plan.fit_to_size) and the never-larger guard (sources.step_down) measure with it.
    """
    empty = tuple(Layer(r, coder.codecs[r], 1, s, ()) for r, s in enumerate(scales))
    overhead = len(container.write(Container(header, coder.block_map, empty, alpha, metadata or Metadata(), deblock)))

    def size(qualities: list[int]) -> int:
        layers = coder.layers(list(zip(range(len(qualities)), qualities, scales, strict=True)))
        return overhead + sum(layer.payload_bytes for layer in layers)

    return size


def auto_background(
    coder: LayerCoder, header: Header, qualities: list[int], deblock: Deblock | None = None
) -> tuple[int, int]:
    """(scale, quality) of the smallest background layer that makes no more error than full resolution does.

    Full resolution at the asked quality sets the error to match, measured on
    the background's pixels of the image decoded as the file will be
    (deblock is its DBLK chunk); each reduced scale then takes the lowest
    quality that matches it (by bisection), if any does.
    """
    background = layout.expand(coder.block_map == 0, (header.height, header.width), header.block_size)
    if not background.any():
        return 1, qualities[0]
    upper = [coder.layer(region, quality, 1) for region, quality in enumerate(qualities) if region > 0]

    def error(layer: Layer) -> float:
        decoded = decoder.decode_layers(header, coder.block_map, (layer, *upper), deblock)
        return metrics.mse(coder.image, decoded, background)

    full = coder.layer(0, qualities[0], 1)
    target = error(full)

    def as_faithful(layer: Layer) -> bool:
        return error(layer) <= target

    best = (full.payload_bytes, 1, qualities[0])
    for scale in AUTO_SCALES:
        found = plan.lowest_quality(partial(coder.layer, 0, scale=scale), as_faithful)
        if found is not None and found.payload_bytes < best[0]:
            best = (found.payload_bytes, scale, found.quality)
    return best[1], best[2]
