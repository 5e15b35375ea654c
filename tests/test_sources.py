"""JPEG inputs (sources.py): the quality cap, the source's coefficients kept, the never-larger guard; and export."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import regioncodec
from regioncodec import api, container, jpegdct, layers, layout, sources, threads
from regioncodec.cli import EX_DATAERR, EX_USAGE, exit_status
from regioncodec.codecs.jpeg import LUMA_TABLE
from regioncodec.errors import InputError, OptionError
from regioncodec.settings import DEFAULT_FG_QUALITY

from .helpers import rcodec
from .test_jpegdct import jpeg_bytes, needs_jpeglib, photo

B = 16


def encode_noting(image: Any, **options: Any) -> tuple[bytes, list[str]]:
    """regioncodec.encode's file and the notes it gave."""
    notes: list[str] = []
    return api.encode(image, notes=notes, **options), notes


def qualities(rgc: bytes) -> list[int]:
    return [region.quality for region in regioncodec.read_info(rgc).regions]


def left_half(height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    mask[:, : width // 2] = True
    return mask


@needs_jpeglib
def test_a_jpeg_files_bytes_are_capped_at_its_quality_and_keep_its_foreground_coefficients() -> None:
    data = jpeg_bytes(photo(96, 160), 80)
    rgc, notes = encode_noting(data, mask=left_half(96, 160), fg_quality=90, bg_quality=30)
    assert qualities(rgc) == [30, 80]
    assert any("quality-80 JPEG" in note for note in notes) and any("keep the source's DCT" in note for note in notes)
    parsed = container.read(rgc)
    grid = jpegdct.grid_planes(jpegdct.read_coefficients(data), B)
    cells = parsed.block_map == 1
    blocks, table = jpegdct.read_greyscale(parsed.layers[1].streams[0])
    assert np.array_equal(table, grid.luma_table) and np.array_equal(blocks, jpegdct.pack_blocks(grid.luma, cells, 2))
    assert grid.chroma is not None
    stack, table = jpegdct.read_greyscale(parsed.layers[1].streams[1])
    assert np.array_equal(table, grid.chroma_table)
    assert np.array_equal(stack, np.concatenate([jpegdct.pack_blocks(c, cells, 1) for c in grid.chroma]))
    # the background is requantised from the coefficients, to the table the pixel coder would choose at 30
    blocks, table = jpegdct.read_greyscale(parsed.layers[0].streams[0])
    samples = jpegdct.samples_of(jpegdct.pack_blocks(grid.luma, ~cells, 2), grid.luma_table)
    assert table.ravel().tolist() == list(layers.layer_table(samples, LUMA_TABLE, 30, matched=False))
    source_blocks = jpegdct.pack_blocks(grid.luma, ~cells, 2)
    assert np.array_equal(blocks, jpegdct.requantise(source_blocks, grid.luma_table, table))
    assert len(rgc) < len(data)


@needs_jpeglib
def test_decoded_foreground_is_within_a_level_of_libjpeg_away_from_the_mask_and_image_edges() -> None:
    height, width = 112, 160
    data = jpeg_bytes(photo(height, width, seed=3), 85)
    rgc = regioncodec.encode(data, mask=left_half(height, width), fg_quality=90, bg_quality=30)
    decoded = regioncodec.decode(rgc).astype(int)
    reference = np.asarray(Image.open(io.BytesIO(data))).astype(int)
    inner = np.zeros((height // B, width // B), bool)
    inner[1:-1, 1:4] = True  # foreground blocks (columns 0-4) whose 3x3 neighbourhood is foreground, off the edge
    keep = layout.expand(inner, (height, width), B)
    assert np.abs(decoded - reference).max(axis=2)[keep].max() <= 1


def test_a_pil_image_opened_from_a_jpeg_gets_the_cap_only() -> None:
    image = Image.open(io.BytesIO(jpeg_bytes(photo(64, 96), 75)))
    rgc, notes = encode_noting(image, mask=left_half(64, 96), fg_quality=90, bg_quality=30)
    assert qualities(rgc) == [30, 75]
    assert any("only the image was given" in note for note in notes)


def test_force_quality_codes_at_the_qualities_asked() -> None:
    data = jpeg_bytes(photo(64, 96), 75)
    rgc, notes = encode_noting(data, mask=left_half(64, 96), fg_quality=90, bg_quality=30, force_quality=True)
    assert qualities(rgc) == [30, 90] and notes == []
    with pytest.raises(OptionError, match="force_quality"):
        regioncodec.EncodeSettings(force_quality=1)


def test_levels_transition_and_quality_maps_are_capped_too() -> None:
    data = jpeg_bytes(photo(256, 384), 70)  # large enough that five regions' headers do not outweigh it
    asked = {"fg_quality": 90, "bg_quality": 30}  # low enough that the never-larger guard leaves the cap alone
    capped = qualities(regioncodec.encode(data, mask=left_half(256, 384), levels=4, transition=True, **asked))
    assert max(capped) == 70 and capped == sorted(capped)
    grey = np.full((256, 384), 255, np.uint8)
    assert max(qualities(regioncodec.encode(data, quality_map=grey))) == 70


def test_tables_that_match_no_quality_are_not_a_cap() -> None:
    odd = [200 + (i % 7) for i in range(64)]
    out = io.BytesIO()
    Image.fromarray(photo(48, 64)).save(out, "JPEG", qtables=[odd, odd])
    rgc, notes = encode_noting(out.getvalue(), fg_quality=90, bg_quality=30, force_quality=False)
    assert max(qualities(rgc)) == 90 or any("lowered" in note for note in notes)
    assert any("match no JPEG quality" in note for note in notes)


@needs_jpeglib
def test_an_output_that_would_be_larger_is_stepped_down_unless_forced() -> None:
    height, width = 128, 160
    noisy = photo(height, width) + np.random.default_rng(0).normal(0, 25, (height, width, 3))
    data = jpeg_bytes(np.clip(noisy, 0, 255).astype(np.uint8), 70, progressive=True, optimize=True)  # small
    everything = np.ones((height, width), bool)
    forced = regioncodec.encode(data, mask=everything, fg_quality=90, bg_quality=30, force_quality=True)
    kept = regioncodec.encode(data, mask=everything, fg_quality=70, bg_quality=30, force_quality=True)
    assert len(kept) > len(data)  # the source's own coefficients, as a mosaic stream in a container: larger
    rgc, notes = encode_noting(data, mask=everything, fg_quality=90, bg_quality=30)
    assert len(rgc) <= len(data) < len(forced)
    assert qualities(rgc)[-1] < 70 and any("lowered from 30/70" in note for note in notes)
    fitted = regioncodec.encode(data, mask=everything, target_size=10 * len(data))
    assert len(fitted) <= len(data)  # a target above the source's size is lowered to it


@needs_jpeglib
@pytest.mark.parametrize(("subsampling", "why"), [(0, "4:4:4"), (1, "4:2:2")])
def test_other_chroma_layouts_are_capped_and_coded_from_pixels(subsampling: int, why: str) -> None:
    data = jpeg_bytes(photo(64, 96), 80, subsampling)
    rgc, notes = encode_noting(data, mask=left_half(64, 96), fg_quality=90, bg_quality=30)
    assert qualities(rgc) == [30, 80] and any(why in note and "from its pixels" in note for note in notes)


@needs_jpeglib
def test_greyscale_jpegs_keep_their_coefficients_with_8_pixel_blocks() -> None:
    data = jpeg_bytes(photo(120, 200), 85, mode="L")
    rgc, notes = encode_noting(data, mask=left_half(120, 200), block_size=8)
    assert any("keep the source's DCT" in note for note in notes)
    grid = jpegdct.grid_planes(jpegdct.read_coefficients(data), 8)
    parsed = container.read(rgc)
    blocks, _ = jpegdct.read_greyscale(parsed.layers[1].streams[0])
    assert np.array_equal(blocks, jpegdct.pack_blocks(grid.luma, parsed.block_map == 1, 1))


def test_without_jpeglib_a_jpeg_is_capped_and_coded_from_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jpegdct, "available", lambda: False)
    asked = {"fg_quality": 90, "bg_quality": 30}
    rgc, notes = encode_noting(jpeg_bytes(photo(64, 96), 80), mask=left_half(64, 96), **asked)
    assert qualities(rgc) == [30, 80] and any("pip install 'regioncodec[jpeg]'" in note for note in notes)


def test_a_source_must_be_the_images_jpeg() -> None:
    data = jpeg_bytes(photo(64, 96), 80)
    with pytest.raises(InputError, match="96x64 but the image is 80x64"):
        regioncodec.encode(photo(64, 80), source=data)
    with pytest.raises(InputError, match="bytes of a JPEG"):
        regioncodec.encode(photo(64, 96), source=_png(photo(64, 96)))
    assert regioncodec.encode(_png(photo(64, 96))) == regioncodec.encode(photo(64, 96))  # a PNG's bytes: pixels
    with pytest.raises(InputError, match="not a readable image"):
        regioncodec.encode(data[: len(data) // 2])  # truncated: refused, never coded as grey blocks


@needs_jpeglib
def test_same_bytes_on_one_thread_or_several() -> None:
    data = jpeg_bytes(photo(384, 512, seed=1), 80)
    previous = threads.set_count(1)
    try:
        alone = regioncodec.encode(data, levels=3)
        threads.set_count(3)
        assert regioncodec.encode(data, levels=3) == alone
    finally:
        threads.set_count(previous)


def _png(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "PNG")
    return out.getvalue()


def test_rcodec_encode_says_what_a_jpeg_input_changed(tmp_path: Path) -> None:
    (tmp_path / "in.jpg").write_bytes(jpeg_bytes(photo(64, 96), 80, 0))
    done = rcodec("encode", tmp_path / "in.jpg", tmp_path / "out.rgc")
    assert done.returncode == 0 and "quality-80 JPEG" in done.stderr and "4:4:4" in done.stderr
    forced = rcodec("encode", tmp_path / "in.jpg", tmp_path / "f.rgc", "--force-quality")
    assert forced.returncode == 0 and forced.stderr.count("note") <= 1  # at most: larger than its input
    assert max(qualities((tmp_path / "f.rgc").read_bytes())) == DEFAULT_FG_QUALITY


@needs_jpeglib
def test_rcodec_export_writes_a_jpeg_and_refuses_alpha(tmp_path: Path) -> None:
    rgb = photo(64, 96)
    (tmp_path / "a.rgc").write_bytes(regioncodec.encode(rgb, mask=left_half(64, 96), xmp=b"<x:xmpmeta/>"))
    done = rcodec("export", tmp_path / "a.rgc", tmp_path / "a.jpg")
    assert done.returncode == 0 and done.stderr == ""
    exported = Image.open(tmp_path / "a.jpg")
    assert exported.format == "JPEG" and exported.size == (96, 64) and exported.info["xmp"] == b"<x:xmpmeta/>"
    stripped = rcodec("export", tmp_path / "a.rgc", "-", "--strip").output
    assert "xmp" not in Image.open(io.BytesIO(stripped)).info
    (tmp_path / "alpha.rgc").write_bytes(regioncodec.encode(np.dstack([rgb, np.full((64, 96), 200, np.uint8)])))
    refused = rcodec("export", tmp_path / "alpha.rgc", tmp_path / "alpha.jpg")
    assert refused.returncode == EX_DATAERR and "rcodec decode" in refused.stderr
    assert not (tmp_path / "alpha.jpg").exists()
    assert rcodec("export", tmp_path / "a.rgc", tmp_path / "a.png").returncode == EX_USAGE


@needs_jpeglib
@pytest.mark.parametrize("options", [{"codec": "webp"}, {"bg_scale": 2}, {"codec": "avif", "bg_scale": 4}])
def test_export_takes_the_pixel_step_for_canvases_and_reduced_layers(tmp_path: Path, options: dict[str, Any]) -> None:
    rgb = photo(96, 128, seed=2)
    rgc = regioncodec.encode(rgb, mask=left_half(96, 128), **options)
    (tmp_path / "in.rgc").write_bytes(rgc)
    done = rcodec("export", tmp_path / "in.rgc", tmp_path / "out.jpg")
    assert done.returncode == 0 and "coded again from decoded pixels" in done.stderr and "region 0" in done.stderr
    exported = np.asarray(Image.open(tmp_path / "out.jpg").convert("RGB")).astype(int)
    error = float(((exported - regioncodec.decode(rgc)) ** 2).mean())
    assert 10 * np.log10(255**2 / error) > 36  # the decoded pixels, as a JPEG at the foreground's tables keeps them
    if "codec" not in options:  # the foreground is still the file's own coefficients
        parsed = container.read(rgc)
        cells = parsed.block_map == 1
        out = jpegdct.grid_planes(jpegdct.read_coefficients((tmp_path / "out.jpg").read_bytes()), B)
        kept = _unpacked(jpegdct.read_greyscale(parsed.layers[1].streams[0])[0], cells, out.luma.shape)
        assert np.array_equal(jpegdct.cell_blocks(out.luma, cells, 2), jpegdct.cell_blocks(kept, cells, 2))


def _unpacked(blocks: np.ndarray, cells: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    plane = np.zeros(shape, np.int16)
    jpegdct.unpack_blocks(blocks, cells, 2, plane)
    return plane


def test_quantised_blocks_invert_samples_of() -> None:
    plane = np.random.default_rng(0).integers(0, 256, (32, 48)).astype(np.uint8)
    steps = np.ones((8, 8), np.uint16)
    back = jpegdct.samples_of(jpegdct.quantised_blocks(plane, steps), steps)
    assert np.abs(back.astype(int) - plane).max() <= 1


def test_missing_jpeglib_is_a_usage_error_naming_the_extra() -> None:
    error = jpegdct.MissingDependency("DCT-domain JPEG needs jpeglib: pip install 'regioncodec[jpeg]'")
    assert isinstance(error, regioncodec.RegionCodecError) and exit_status(error) == EX_USAGE


def test_sources_of_a_non_jpeg_is_none() -> None:
    assert sources.of_image(Image.fromarray(photo(8, 8))) is None
    assert sources.of_bytes(_png(photo(8, 8)))[1] is None
