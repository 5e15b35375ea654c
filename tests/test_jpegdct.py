"""DCT-domain JPEG (regioncodec.jpegdct): quality estimates, requantisation, mosaics of coefficients, export."""

from __future__ import annotations

import importlib.util
import io
import os
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import regioncodec
from regioncodec import container, imagefiles, jpegdct, layout
from regioncodec.codecs.jpeg import JPEG, LUMA_TABLE, quant_table
from regioncodec.container import Container, Header, Layer
from regioncodec.errors import InputError
from regioncodec.layers import layer_table

# Without jpeglib (a laptop without the extra) these skip with one line; under CI=true they run and fail, as CI
# installs the test extra, which holds jpeglib.
needs_jpeglib = pytest.mark.skipif(
    importlib.util.find_spec("jpeglib") is None and os.environ.get("CI") != "true",
    reason="jpeglib (the optional extra regioncodec[jpeg]) is not installed",
)

B = 16


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth colour picture with texture: gradients, a disc and noise, like a photo's content."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    disc = ((y - height / 2) ** 2 + (x - width / 3) ** 2 < (min(height, width) / 4) ** 2) * 90.0
    channels = [x / width * 200 + disc, y / height * 180 + 30, 128 + 60 * np.sin(x / 7) * np.cos(y / 5)]
    rgb = np.stack(channels, axis=-1) + rng.normal(0, 6, (height, width, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def layout_problem(source: jpegdct.Coefficients, block: int) -> str | None:
    """jpegdct.layout_problem of coefficients libjpeg read."""
    return jpegdct.layout_problem(source.colour_space, source.sampling, source.tables, block)


def jpeg_bytes(rgb: np.ndarray, quality: int, subsampling: int = 2, mode: str = "RGB", **options: object) -> bytes:
    """Pillow's JPEG of rgb (as mode) at quality."""
    out = io.BytesIO()
    Image.fromarray(rgb).convert(mode).save(out, "JPEG", quality=quality, subsampling=subsampling, **options)
    return out.getvalue()


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_estimate_quality_matches_every_pillow_quality(mode: str) -> None:
    rgb = photo(32, 32)
    for quality in range(1, 101):
        tables = Image.open(io.BytesIO(jpeg_bytes(rgb, quality, mode=mode))).quantization  # type: ignore[attr-defined]
        assert jpegdct.estimate_quality(tables) == quality


def test_estimate_quality_of_unknown_tables_is_zero() -> None:
    coarse_odd = [200 + (i % 7) for i in range(64)]  # coarse and unlike libjpeg's at any quality
    assert jpegdct.estimate_quality([coarse_odd, coarse_odd]) == 0
    with pytest.raises(InputError):
        jpegdct.estimate_quality([])


def test_requantise_rounds_halves_away_from_zero_exactly_within_baselines_limits() -> None:
    values = np.zeros((8, 8), np.int16)
    values[0, 1:7] = [1, -1, 3, -3, 0, 7]
    source, target = np.full((8, 8), 10, np.uint16), np.full((8, 8), 20, np.uint16)
    assert jpegdct.requantise(values, source, target)[0, 1:7].tolist() == [1, -1, 2, -2, 0, 4]
    assert np.array_equal(jpegdct.requantise(values, source, source), values)
    rng = np.random.default_rng(0)
    for _ in range(20):  # against integer arithmetic, over the whole range of real coefficients
        source = rng.integers(1, 256, (8, 8)).astype(np.uint16)
        target = rng.integers(1, 256, (8, 8)).astype(np.uint16)
        blocks = (rng.integers(-1100, 1100, (16, 16, 8, 8)) // source).astype(np.int16)
        scaled = blocks.astype(np.int64) * source
        exact = np.sign(scaled) * np.minimum((np.abs(scaled) + target // 2) // target, jpegdct.COEFFICIENT_LIMIT)
        assert np.array_equal(jpegdct.requantise(blocks, source, target), exact.astype(np.int16))


def test_pack_and_unpack_blocks_round_trip_with_flat_spare_cells() -> None:
    rng = np.random.default_rng(3)
    cells = rng.random((5, 7)) < 0.4
    plane = rng.integers(-50, 50, (5 * 2, 7 * 2, 8, 8)).astype(np.int16)
    mosaic = jpegdct.pack_blocks(plane, cells, 2)
    count = int(cells.sum())
    rows, cols = layout.mosaic_shape(count, 7)
    assert mosaic.shape == (rows * 2, cols * 2, 8, 8)
    back = np.zeros_like(plane)
    jpegdct.unpack_blocks(mosaic, cells, 2, back)
    assert np.array_equal(jpegdct.cell_blocks(back, cells, 2), jpegdct.cell_blocks(plane, cells, 2))
    tiles = mosaic.reshape(rows, 2, cols, 2, 8, 8).swapaxes(1, 2).reshape(-1, 2, 2, 8, 8)
    for spare in tiles[count:]:
        assert not spare[..., 1:].any() and not spare[..., 1:, 0].any()  # AC all zero: a flat block


@needs_jpeglib
@pytest.mark.parametrize(("height", "width"), [(96, 128), (75, 101)])
def test_lossless_foreground_keeps_the_source_coefficients_and_planes(height: int, width: int) -> None:
    data = jpeg_bytes(photo(height, width), 80)
    source = jpegdct.read_coefficients(data)
    assert layout_problem(source, B) is None
    grid = jpegdct.grid_planes(source, B)
    cells = np.zeros((-(-height // B), -(-width // B)), bool)
    cells[1:, 2:] = True
    luma_stream, chroma_stream = layer_streams(grid, cells, B)
    blocks, luma_table = jpegdct.read_greyscale(luma_stream)
    stack, chroma_table = jpegdct.read_greyscale(chroma_stream)
    assert np.array_equal(luma_table, source.tables[0]) and np.array_equal(chroma_table, source.tables[1])
    assert np.array_equal(blocks, jpegdct.pack_blocks(grid.luma, cells, 2))
    assert grid.chroma is not None
    assert np.array_equal(stack, np.concatenate([jpegdct.pack_blocks(c, cells, 1) for c in grid.chroma]))
    # decoded luma equals libjpeg's own luma plane of the source (Pillow's YCbCr output: luma is not resampled)
    decoder = Image.open(io.BytesIO(data))
    decoder.draft("YCbCr", decoder.size)
    assert decoder.mode == "YCbCr"
    source_luma = np.asarray(decoder)[..., 0]
    count = int(cells.sum())
    rows, cols = layout.mosaic_shape(count, cells.shape[1])
    luma = np.zeros((cells.shape[0] * B, cells.shape[1] * B), np.uint8)
    layout.unpack(JPEG.decode(luma_stream, (rows * B, cols * B), "luma"), cells, B, luma)
    keep = layout.expand(cells, (height, width), B)
    assert np.array_equal(luma[:height, :width][keep], source_luma[keep])


@needs_jpeglib
def test_rgc_of_source_coefficients_decodes_like_the_source_inside_the_foreground() -> None:
    height, width = 80, 112
    rgb = photo(height, width, seed=5)
    data = jpeg_bytes(rgb, 85)
    source = jpegdct.read_coefficients(data)
    grid = jpegdct.grid_planes(source, B)
    cells = np.zeros((height // B, width // B), bool)
    cells[:, :4] = True
    background = jpegdct.standard_tables(30)
    layers = (
        Layer(0, "jpeg", 30, 1, layer_streams(grid, ~cells, B, background)),
        Layer(1, "jpeg", 85, 1, layer_streams(grid, cells, B)),
    )
    rgc = container.write(Container(Header(width, height, "RGB", B, 2), cells.astype(np.uint8), layers))
    decoded = regioncodec.decode(rgc).astype(int)
    reference = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    inner = np.zeros_like(cells)
    inner[1:-1, 1:3] = True  # foreground blocks whose 3x3 neighbourhood is all foreground
    keep = layout.expand(inner, (height, width), B)
    # libjpeg and OpenCV round upsampling and colour conversion differently: at most 2 levels apart
    assert np.abs(decoded - reference).max(axis=2)[keep].max() <= 2


@needs_jpeglib
@pytest.mark.parametrize(
    ("subsampling", "mode", "block", "why"),
    [(0, "RGB", 16, "not 4:2:0"), (1, "RGB", 16, "not 4:2:0"), (2, "RGB", 8, "whole 16x16"), (2, "CMYK", 16, "CMYK")],
)
def test_layouts_that_cannot_keep_coefficients_say_why(subsampling: int, mode: str, block: int, why: str) -> None:
    source = jpegdct.read_coefficients(jpeg_bytes(photo(48, 48), 80, subsampling, mode))
    problem = layout_problem(source, block)
    assert problem is not None and why in problem
    with pytest.raises(InputError):
        jpegdct.grid_planes(source, block)


@needs_jpeglib
def test_greyscale_and_progressive_sources_keep_their_coefficients() -> None:
    grey = jpegdct.read_coefficients(jpeg_bytes(photo(40, 56), 75, mode="L"))
    assert grey.colour_space == "L" and layout_problem(grey, 8) is None
    assert jpegdct.grid_planes(grey, 8).chroma is None
    progressive = jpegdct.read_coefficients(jpeg_bytes(photo(40, 56), 75, progressive=True))
    baseline = jpegdct.read_coefficients(jpeg_bytes(photo(40, 56), 75))
    assert progressive.progressive and layout_problem(progressive, B) is None
    assert all(np.array_equal(p, b) for p, b in zip(progressive.planes, baseline.planes, strict=True))


@needs_jpeglib
def test_requantised_background_stream_uses_the_target_tables() -> None:
    source = jpegdct.read_coefficients(jpeg_bytes(photo(64, 64), 90))
    grid = jpegdct.grid_planes(source, B)
    cells = np.ones((4, 4), bool)
    target = jpegdct.standard_tables(30)
    luma_stream, chroma_stream = layer_streams(grid, cells, B, target)
    blocks, luma_table = jpegdct.read_greyscale(luma_stream)
    assert np.array_equal(luma_table, target[0])
    assert np.array_equal(blocks, jpegdct.requantise(grid.luma, grid.luma_table, target[0]))
    assert np.array_equal(jpegdct.read_greyscale(chroma_stream)[1], target[1])


@needs_jpeglib
def test_requantised_streams_use_the_table_the_pixel_path_would_choose() -> None:
    """Below the source's quality, the encoder picks from coefficients the table layer_table picks for the pixels
    libjpeg decodes: the expectation here comes from those pixels, not from the coefficient path's own steps."""
    data = jpeg_bytes(photo(64, 96, seed=4), 95)
    with Image.open(io.BytesIO(data)) as picture:
        picture.draft("YCbCr", picture.size)  # libjpeg's own Y plane: no colour conversion after the IDCT
        luma = np.ascontiguousarray(np.asarray(picture)[..., 0])
    grid = jpegdct.grid_planes(jpegdct.read_coefficients(data), B)
    cells = np.ones((4, 6), bool)
    choose = partial(layer_table, base=LUMA_TABLE, quality=90, matched=True)
    expected = np.array(choose(layout.pack(luma, cells, B)), np.uint16)
    assert 1 <= int(expected.min()) and int(expected.max()) <= 255  # a baseline table
    assert not np.array_equal(expected, grid.luma_table.ravel())  # a requantised stream, not the source's table
    stream = jpegdct.region_stream([grid.luma], grid.luma_table, cells, B // jpegdct.DCT, choose)
    assert b"JFIF" not in stream  # a layer's stream carries no metadata segment (§7.2)
    coefficients, table = jpegdct.read_greyscale(stream)
    assert np.array_equal(table.ravel(), expected)
    blocks = jpegdct.pack_blocks(grid.luma, cells, B // jpegdct.DCT)
    assert np.array_equal(coefficients, jpegdct.requantise(blocks, grid.luma_table, expected.reshape(8, 8)))


def layer_streams(
    grid: jpegdct.GridPlanes, cells: np.ndarray, block: int, tables: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[bytes, ...]:
    """A JPEG layer's streams of cells from grid's coefficients: kept exactly, or requantised to tables."""
    per = block // jpegdct.DCT
    luma_table = None if tables is None else (lambda _: tables[0].ravel())
    streams = [jpegdct.region_stream([grid.luma], grid.luma_table, cells, per, luma_table)]
    if grid.chroma is not None and grid.chroma_table is not None:
        chroma_table = None if tables is None else (lambda _: tables[1].ravel())
        streams.append(jpegdct.region_stream(list(grid.chroma), grid.chroma_table, cells, per // 2, chroma_table))
    return tuple(streams)


@needs_jpeglib
@pytest.mark.parametrize(("height", "width"), [(64, 96), (70, 90)])
def test_export_is_one_standard_jpeg_with_the_foreground_coefficients(height: int, width: int) -> None:
    rgb = photo(height, width, seed=7)
    mask = np.zeros((height, width), bool)
    mask[: height // 2, : width // 2] = True
    rgc = regioncodec.encode(rgb, mask=mask, fg_quality=90, bg_quality=30)
    exported = jpegdct.export_jpeg(rgc)
    assert Image.open(io.BytesIO(exported)).size == (width, height)
    opened = cv2.imdecode(np.frombuffer(exported, np.uint8), cv2.IMREAD_COLOR)
    assert opened is not None and opened.shape == (height, width, 3)
    out = jpegdct.read_coefficients(exported)
    assert out.sampling == jpegdct.SUBSAMPLING_420 and not out.progressive
    parsed = container.read(rgc)
    foreground = parsed.layers[-1]
    cells = parsed.block_map == foreground.region
    blocks, luma_table = jpegdct.read_greyscale(foreground.streams[0])
    assert np.array_equal(out.tables[0], luma_table)
    grid = jpegdct.grid_planes(out, B)
    kept = np.zeros_like(grid.luma)
    jpegdct.unpack_blocks(blocks, cells, 2, kept)
    assert np.array_equal(jpegdct.cell_blocks(grid.luma, cells, 2), jpegdct.cell_blocks(kept, cells, 2))
    decoded = np.asarray(Image.open(io.BytesIO(exported)).convert("RGB")).astype(int)
    inside = layout.expand(cells, (height, width), B)
    assert np.abs(decoded - regioncodec.decode(rgc).astype(int))[inside].mean() < 1


def test_missing_jpeglib_is_reported_with_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def refuse(name: str, *args: object, **kwargs: object) -> object:
        if name == "jpeglib":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", refuse)
    with pytest.raises(jpegdct.MissingDependency, match=r"regioncodec\[jpeg\]"):
        jpegdct.read_coefficients(b"\xff\xd8")


def test_standard_tables_are_libjpegs() -> None:
    luma, chroma = jpegdct.standard_tables(50)
    assert luma.shape == chroma.shape == (8, 8)
    assert luma.ravel().tolist() == quant_table(LUMA_TABLE, 50) and int(chroma[7, 7]) == 99


@needs_jpeglib
@pytest.mark.parametrize("item", ["exif", "xmp"])
def test_metadata_no_jpeg_holds_is_left_out_with_a_note(item: str) -> None:
    """EXIF or XMP past one 64 KB segment: a valid .rgc that export and decoding to JPEG refused (exit 65)."""
    exif = Image.Exif()
    exif[0x010E] = "x" * 70_000  # ImageDescription
    big = {"exif": exif.tobytes(), "xmp": b"<x:xmpmeta>" + b" " * 70_000 + b"</x:xmpmeta>"}[item]
    rgc = regioncodec.encode(photo(32, 48), **{item: big})
    unwritten: list[str] = []
    exported = jpegdct.export_jpeg(rgc, unwritten=unwritten)
    assert unwritten == [item] and Image.open(io.BytesIO(exported)).size == (48, 32)
    written, left_out = imagefiles.decode_data(rgc, Path("x.rgc"), "JPEG")
    assert left_out == (item,) and Image.open(io.BytesIO(written)).format == "JPEG"


def test_export_of_greyscale_keeps_its_size_and_metadata() -> None:
    grey = photo(45, 77, seed=2)[..., 1]
    mask = np.zeros(grey.shape, bool)
    mask[10:30, 20:60] = True
    icc = b"\0" * 36 + b"acsp" + bytes(range(256)) * 400  # over 100 kB: several APP2 segments
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: kept as it is, not applied
    rgc = regioncodec.encode(grey, mask=mask, block_size=8, exif=exif.tobytes(), icc_profile=icc, xmp=b"<x:xmpmeta/>")
    exported = jpegdct.export_jpeg(rgc)
    opened = Image.open(io.BytesIO(exported))
    assert opened.mode == "L" and opened.size == (77, 45)
    assert opened.info["icc_profile"] == icc and opened.getexif()[0x0112] == 6
    assert opened.info["xmp"] == b"<x:xmpmeta/>"
    assert np.abs(np.asarray(opened).astype(int) - regioncodec.decode(rgc)).mean() < 1
