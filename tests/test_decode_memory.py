"""Decoding in bounded memory (issue "round two", defect 2): no whole-image intermediates, and the same pixels.

Canvases are decoded straight into numpy arrays (libwebp, libavif) and pasted a band at a time; reduced JPEG
layers are enlarged a band at a time. The pixels must be exactly what decoding whole gives, at any band size,
and exactly what Pillow's plugins give for each canvas. benchmarks/bench_memory.py measures peak RSS at 12 and
50 megapixels; here numpy's allocations (tracemalloc) guard the same on small images, quickly.
"""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

import regioncodec
from regioncodec import container, deblock, decoder, threads
from regioncodec.codecs import CODECS, native

from . import naive_decoder
from .helpers import random_image

MODES = {"L": (), "LA": (2,), "RGB": (3,), "RGBA": (4,)}
# numpy's peak while decoding with small bands, as a multiple of the image's bytes (tracemalloc sees numpy and the
# file's bytes, not the codecs' own buffers): the image, a part or band of a picture, a mosaic, temporaries.
# Measured: at most 3.03 (JPEG L, scale 1: the plane and the background's mosaic), 1.89, 2.22 and 1.80; grey
# canvases 2.1-2.8. Before, grey canvases took 8x (a whole RGB picture, an RGB image, then the grey one).
NUMPY_PEAK = {"L": 3.3, "LA": 2.1, "RGB": 2.5, "RGBA": 2.0}
SMALL_BANDS = {"BAND_BYTES": 1 << 14, "BAND_ROWS": 16}  # so that a 389 x 517 image is cut into bands as 12 MP are


def available(codec: str) -> bool:
    return CODECS[codec].available()


def image_of(mode: str, shape: tuple[int, int] = (389, 517)) -> np.ndarray:
    """A smooth random image of mode, with a ramp of alpha where the mode has one."""
    rgb = random_image((*shape, 3), seed=len(mode))
    colour = np.ascontiguousarray(rgb[..., 1]) if mode.startswith("L") else rgb
    if not mode.endswith("A"):
        return colour
    return np.dstack([colour, np.linspace(0, 255, shape[1], dtype=np.uint8)[None, :].repeat(shape[0], 0)])


@pytest.fixture(scope="module")
def files() -> dict[tuple[str, str, int], bytes]:
    """A file for every codec, mode and background scale, of a size that is not a multiple of the blocks."""
    made = {}
    for codec in ("jpeg", "webp", "avif"):
        if not available(codec):
            continue
        for mode in MODES:
            mask = np.zeros((389, 517), bool)
            mask[100:250, 150:400] = True
            for scale in (1, 2, 4):
                made[(codec, mode, scale)] = regioncodec.encode(image_of(mode), codec=codec, bg_scale=scale, mask=mask)
    return made


def test_band_sizes_do_not_change_a_pixel(
    files: dict[tuple[str, str, int], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The smallest bands (one block row of canvas, 2 rows of AVIF conversion, WebP in 5 parts) give the same
    image."""
    whole = {key: regioncodec.decode(data) for key, data in files.items()}
    monkeypatch.setattr(decoder, "BAND_BYTES", 1)
    monkeypatch.setattr(decoder, "GREY_PARTS", 5)
    monkeypatch.setattr(native, "AVIF_BAND_ROWS", 2)
    for key, data in files.items():
        assert np.array_equal(regioncodec.decode(data), whole[key]), key


@pytest.mark.parametrize("codec", ["webp", "avif"])
@pytest.mark.parametrize("block_size", [8, 64])
def test_canvas_bands_of_any_block_size_give_the_spec_s_pixels(
    codec: str, block_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bands of one block row (§7.6: every scale divides the block), grey or not, equal the naive decoder's image."""
    if not available(codec):
        pytest.skip(f"this Pillow has no {codec}")
    monkeypatch.setattr(decoder, "BAND_BYTES", 1)
    monkeypatch.setattr(native, "AVIF_BAND_ROWS", 2)
    mask = np.zeros((131, 203), bool)
    mask[40:90, 60:150] = True
    for mode, block in (("L", block_size), ("RGB", max(block_size, 16))):  # 8-pixel blocks: grey images only
        for scale in (2, 4):
            data = regioncodec.encode(
                image_of(mode, (131, 203)), codec=codec, bg_scale=scale, mask=mask, block_size=block
            )
            assert np.array_equal(regioncodec.decode(data), naive_decoder.decode(data)), (mode, block, scale)


@pytest.mark.parametrize("codec", ["webp", "avif"])
def test_canvases_decode_to_pillows_pixels(files: dict[tuple[str, str, int], bytes], codec: str) -> None:
    """libwebp and libavif called directly give what Pillow's plugins give, for every canvas of every file."""
    if not available(codec):
        pytest.skip(f"this Pillow has no {codec}")
    if not (native.webp_available() if codec == "webp" else native.avif_available()):
        pytest.skip(f"{codec} is decoded through OpenCV here")
    for (kind, _, _), data in files.items():
        if kind != codec:
            continue
        parsed = container.read(data)
        for layer in parsed.layers:
            if not layer.streams:
                continue
            (shape, what) = decoder.stream_shapes(parsed.header, parsed.block_map, layer)[0]
            with Image.open(io.BytesIO(layer.streams[0])) as image:
                pillows = np.asarray(image.convert("RGB"))  # a monochrome AVIF canvas opens as L: R = G = B
            assert np.array_equal(CODECS[codec].decode(layer.streams[0], shape, what), pillows)
            with CODECS[codec].opened(layer.streams[0], shape, what, parts=3) as picture:  # type: ignore[union-attr]
                cut = min(100, shape[0])
                assert np.array_equal(np.vstack([picture.rows(0, cut), picture.rows(cut, shape[0] + 5)]), pillows)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Decoding in the calling thread alone, for the test's duration."""
    previous = threads.set_count(1)
    yield
    threads.set_count(previous)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("mode", MODES)
def test_no_whole_image_intermediates(
    files: dict[tuple[str, str, int], bytes], mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """numpy's peak while decoding stays near the image's own bytes, for every codec and scale.

    In one thread: with two, how far their jobs' temporaries overlap depends on
    the machine's load (up to 2.6x for JPEG RGBA at scale 2 under load), which
    bench_memory.py measures, in RSS, at 12 and 50 MP.
    """
    for name, value in SMALL_BANDS.items():
        monkeypatch.setattr(decoder, name, value)
    monkeypatch.setattr(deblock, "BAND_ROWS", SMALL_BANDS["BAND_ROWS"] * 4)  # the filter's bands (whole 8-row edges)
    for (codec, kind, scale), data in files.items():
        if kind != mode:
            continue
        regioncodec.decode(data)  # libraries loaded
        tracemalloc.start()
        try:
            image = regioncodec.decode(data)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        ratio = peak / image.nbytes
        assert ratio < NUMPY_PEAK[mode], f"{codec} {mode} scale {scale}: {ratio:.2f}x the image"
