"""Region coding: what the codec is for, measured against uniform JPEG on a real photograph; layouts and planes."""

from __future__ import annotations

import io
import itertools
import os

import numpy as np
import pytest
from PIL import Image

import regioncodec
from regioncodec import container, decoder, layout, planes
from regioncodec.codecs.jpeg import APP_AND_COM, FRAME_WALK, JPEG, SOF_HUFFMAN, segments, without_metadata

from .helpers import importance_mask, pillow_jpeg, psnr


def test_foreground_loses_nothing_to_region_coding(photo: np.ndarray) -> None:
    mask = importance_mask(photo)
    out = regioncodec.decode(regioncodec.encode(photo, mask=mask, fg_quality=90, bg_quality=30))
    assert psnr(out, photo, mask) >= psnr(pillow_jpeg(photo, 90), photo, mask) - 0.05


def test_background_keeps_its_quality(photo: np.ndarray) -> None:
    mask = importance_mask(photo)
    out = regioncodec.decode(regioncodec.encode(photo, mask=mask, fg_quality=90, bg_quality=30))
    assert psnr(out, photo, ~mask) >= psnr(pillow_jpeg(photo, 30), photo, ~mask) - 0.5


def test_region_coded_file_is_much_smaller_than_uniform_jpeg(photo: np.ndarray) -> None:
    data = regioncodec.encode(photo, mask=importance_mask(photo), fg_quality=90, bg_quality=30)
    out = io.BytesIO()
    Image.fromarray(photo).save(out, "JPEG", quality=90, optimize=True)
    assert len(data) < 0.8 * len(out.getvalue())


def test_blocks_of_other_regions_cost_almost_nothing(photo: np.ndarray) -> None:
    """Splitting an image into two regions of the same quality costs little more than one region (the background's,
    whose standard tables cost more than the foreground's matched ones: layers.py)."""
    rng = np.random.default_rng(1)
    scattered = np.repeat(np.repeat(rng.random((48, 32)) < 0.5, 16, 0), 16, 1)
    one = regioncodec.read_info(
        regioncodec.encode(photo, mask=np.zeros(photo.shape[:2], bool), fg_quality=60, bg_quality=60)
    )
    two = regioncodec.read_info(regioncodec.encode(photo, mask=scattered, fg_quality=60, bg_quality=60))
    one_bytes = sum(r.bytes for r in one.regions)
    two_bytes = sum(r.bytes for r in two.regions)
    assert two_bytes < 1.08 * one_bytes


def test_layer_streams_open_in_pillow_as_mosaics(photo: np.ndarray) -> None:
    mask = importance_mask(photo)
    parsed = container.read(regioncodec.encode(photo, mask=mask))
    for layer in parsed.layers:
        count = int((parsed.block_map == layer.region).sum())
        rows, cols = layout.mosaic_shape(count, parsed.block_map.shape[1])
        luma, chroma = (Image.open(io.BytesIO(s)) for s in layer.streams)
        assert (luma.format, luma.mode, luma.size) == ("JPEG", "L", (cols * 16, rows * 16))
        assert (chroma.format, chroma.mode, chroma.size) == ("JPEG", "L", (cols * 8, rows * 16))
        assert luma.quantization[0] != chroma.quantization[0]  # chroma has its own table


def test_streams_carry_no_metadata_segments(photo: np.ndarray) -> None:
    """No APPn or COM segment (JFIF's APP0 is 18 bytes a stream), and the bare streams still open anywhere."""
    parsed = container.read(regioncodec.encode(photo, mask=importance_mask(photo), bg_scale=2))
    for stream in (stream for layer in parsed.layers for stream in layer.streams):
        walk = segments(stream, "stream", FRAME_WALK, "before its frame header")
        markers = [marker for marker, _, _ in itertools.takewhile(lambda m: m[0] not in SOF_HUFFMAN, walk)]
        assert markers and not set(markers) & APP_AND_COM
        assert Image.open(io.BytesIO(stream)).format == "JPEG"
    out = io.BytesIO()
    Image.fromarray(photo).save(out, "JPEG", quality=80, comment=b"made here")
    original = out.getvalue()
    bare = without_metadata(original)
    assert len(bare) == len(original) - 18 - 13  # JFIF's APP0, and the COM segment: marker, length, 9 bytes
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(bare))), np.asarray(Image.open(io.BytesIO(original))))


def test_streams_are_the_same_coded_into_memory_or_into_python(
    photo: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the system has no in-memory file (memfd), or refuses one, streams are coded into BytesIO, byte for
    byte the same."""
    luma = np.ascontiguousarray(photo[..., 1])
    table = list(range(1, 65))
    into_memory = JPEG.encode(luma, table)

    def refused(name: str, flags: int) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "memfd_create", refused, raising=False)
    assert JPEG.encode(luma, table) == into_memory
    monkeypatch.delattr(os, "memfd_create", raising=False)
    into_python = JPEG.encode(luma, table)
    assert into_memory == into_python
    assert np.array_equal(JPEG.decode(into_python, luma.shape, "stream"), JPEG.decode(into_memory, luma.shape, "s"))


@pytest.mark.parametrize("cell", [4, 8, 16, 32, 12])
def test_pack_and_unpack_are_inverse(cell: int, passes: str) -> None:
    rng = np.random.default_rng(cell)
    plane = rng.integers(0, 256, (5 * cell, 7 * cell), dtype=np.uint8)
    cells = rng.random((5, 7)) < 0.4
    mosaic = layout.pack(plane, cells, cell)
    assert mosaic.shape == tuple(n * cell for n in layout.mosaic_shape(int(cells.sum()), 7))
    rebuilt = np.zeros_like(plane)
    layout.unpack(mosaic, cells, cell, rebuilt)
    whole = np.repeat(np.repeat(cells, cell, 0), cell, 1)
    assert np.array_equal(rebuilt[whole], plane[whole]) and not rebuilt[~whole].any()


def test_colour_conversion_round_trip_is_near_lossless_on_smooth_colour() -> None:
    """Without quantisation, only rounding and the 4:2:0 filters separate input and output."""
    y, x = np.mgrid[0:32, 0:48]
    rgb = np.dstack([4 * x + 20, 6 * y + 10, 200 - 2 * x - 3 * y]).astype(np.uint8)
    luma, chroma = planes.rgb_to_planes(rgb)
    assert luma.shape == (32, 48) and chroma.shape == (2, 16, 24)
    assert np.abs(decoder.planes_to_rgb([luma, *chroma], 32, 48).astype(int) - rgb)[1:-1, 1:-1].max() <= 2


def test_importance_mask_takes_the_busiest_share_of_blocks(textured_scene: tuple[np.ndarray, np.ndarray]) -> None:
    image, truth = textured_scene
    mask = importance_mask(image, share=0.25)
    assert mask.mean() == pytest.approx(0.25, abs=1 / 192)
    assert (mask & truth).sum() / mask.sum() > 0.95


def test_banded_conversion_equals_converting_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(9)
    luma = rng.integers(0, 256, (64, 48), dtype=np.uint8)
    chroma = rng.integers(0, 256, (2, 32, 24), dtype=np.uint8)
    whole = decoder.planes_to_rgb([luma, *chroma], 61, 45)
    for band_rows in (1, 2, 3, 17):
        monkeypatch.setattr(decoder, "BAND_ROWS", band_rows)
        assert np.array_equal(decoder.planes_to_rgb([luma, *chroma], 61, 45), whole)
    assert whole.shape == (61, 45, 3)


def test_an_exif_orientation_inside_a_plane_stream_is_ignored() -> None:
    plane = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (8, 1))  # a ramp left to right: a flip shows
    exif = Image.Exif()
    exif[0x0112] = 2  # mirror horizontally
    out = io.BytesIO()
    Image.fromarray(plane, "L").save(out, "JPEG", quality=95, exif=exif)
    decoded = JPEG.decode(out.getvalue(), plane.shape, "test plane")
    assert np.abs(decoded.astype(int) - plane).max() <= 4
