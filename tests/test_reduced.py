"""Reduced-scale decoding (decode(reduce=N), spec §11.10): sizes, closeness to the full decode box-reduced, alpha,
layers of every scale and codec, hostile input, threads, memory, and the command line's --reduce."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import regioncodec
from regioncodec import FormatError, OptionError, RegionCodecError, reduced, threads
from regioncodec.codecs import CODECS
from regioncodec.codecs.jpeg import JPEG

from .conftest import DATA, ROOT
from .craft import LAYR, build, chunks_of, fix_crcs, frame, grey_jpeg, layer, replace
from .helpers import ENCODER_SIDE, modules_loaded, psnr, random_image, rcodec

FACTORS = (2, 4, 8)
CLOSE_DB = 37.0  # PSNR to the full decode box-reduced: every case measures 38.6 dB or more on kodim04 (report)
BYTES_PER_PIXEL = 12  # measured 8 at 1/4 (planes, RGB, decoded mosaics), so 1/8 stays under a sixteenth of a plane
SEEDS = sorted([*DATA.glob("*.rgc"), *(ROOT / "fuzz" / "corpus").glob("*.rgc"), *(DATA / "regressions").glob("*.rgc")])


def reference(data: bytes, factor: int) -> np.ndarray:
    """What a reduced decode approximates: the exact decode, each factor x factor square averaged."""
    return reduced.box_reduce(regioncodec.decode(data), factor)


@pytest.fixture(scope="module")
def crop(photo: np.ndarray) -> np.ndarray:
    """A 251x373 piece of a photograph: neither side a multiple of a block or of 8."""
    return photo[100:351, 50:423]


@pytest.mark.parametrize("factor", [1, *FACTORS])
@pytest.mark.parametrize("channels", [(), (2,), (3,), (4,)])
def test_size_is_each_side_divided_and_rounded_up(factor: int, channels: tuple[int, ...]) -> None:
    data = regioncodec.encode(random_image((45, 29, *channels)))
    out = regioncodec.decode(data, reduce=factor)
    assert out.shape == (-(-45 // factor), -(-29 // factor), *channels) and out.dtype == np.uint8
    assert reduced.reduced_size(29, 45, factor) == out.shape[1::-1]


def test_reduce_1_is_the_exact_decode(crop: np.ndarray) -> None:
    data = regioncodec.encode(crop, bg_scale=2)
    assert np.array_equal(regioncodec.decode(data, reduce=1), regioncodec.decode(data))
    assert np.array_equal(reduced.decode(data, 1), regioncodec.decode(data))


@pytest.mark.parametrize("factor", FACTORS)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"block_size": 32},
        {"bg_scale": 2},
        {"bg_scale": 4},
        {"block_size": 64, "bg_scale": 4},
        {"levels": 3, "bg_scale": 4},
        {"codec": "webp", "bg_scale": 2},
        {"codec": "avif", "bg_scale": 4},
    ],
    ids=lambda options: "-".join(f"{k}={v}" for k, v in options.items()) or "defaults",
)
def test_close_to_the_full_decode_box_reduced(crop: np.ndarray, options: dict[str, Any], factor: int) -> None:
    if not CODECS[str(options.get("codec", "jpeg"))].available():
        pytest.skip(f"this Pillow has no {options['codec']}")
    data = regioncodec.encode(crop, **options)
    out = regioncodec.decode(data, reduce=factor)
    assert psnr(reference(data, factor), out) >= CLOSE_DB


@pytest.mark.parametrize("factor", FACTORS)
@pytest.mark.parametrize("options", [{"block_size": 8}, {"block_size": 8, "bg_scale": 4}])
def test_greyscale_close_to_the_full_decode_box_reduced(crop: np.ndarray, options: dict[str, Any], factor: int) -> None:
    """Blocks of 8 at 1/8 are one sample a side: each is its DCT block's mean."""
    grey = np.asarray(Image.fromarray(crop).convert("L"))
    data = regioncodec.encode(grey, **options)
    assert psnr(reference(data, factor), regioncodec.decode(data, reduce=factor)) >= CLOSE_DB


@pytest.mark.parametrize("factor", FACTORS)
@pytest.mark.parametrize("channels", [2, 4])
def test_alpha_is_the_exact_alpha_box_reduced_band_by_band(
    monkeypatch: pytest.MonkeyPatch, factor: int, channels: int
) -> None:
    """Alpha is lossless, so the reduced alpha is exactly box_reduce of the decoded one, across band edges too."""
    monkeypatch.setattr(reduced, "ALPHA_BAND_BYTES", 600)  # bands of a few rows: several, the last one short
    image = random_image((77, 53, channels), seed=3)
    data = regioncodec.encode(image)
    out = regioncodec.decode(data, reduce=factor)
    assert np.array_equal(out[..., -1], reduced.box_reduce(image[..., -1], factor))


@pytest.mark.parametrize(
    "body",
    [
        b"\1" + frame(bytes(512)) + b"x",
        b"\1" + frame(bytes(512))[:-3],
        b"\1" + frame(bytes(512))[:12] + bytes(20) + frame(bytes(512))[32:],
    ],
    ids=["trailing byte", "cut short", "damaged"],
)
def test_bad_alpha_planes_are_refused_as_by_decode(body: bytes) -> None:
    data = replace((DATA / "alpha-metadata.rgc").read_bytes(), b"ALPH", body)
    with pytest.raises(RegionCodecError):
        regioncodec.decode(data)
    for factor in FACTORS:
        with pytest.raises(RegionCodecError):
            regioncodec.decode(data, reduce=factor)


@pytest.mark.parametrize("factor", [0, 3, 16, 2.0, True, "2", None])
def test_other_reductions_are_refused(factor: object) -> None:
    with pytest.raises(OptionError, match="reduce must be one of 1, 2, 4, 8"):
        regioncodec.decode((DATA / "smallest.rgc").read_bytes(), reduce=factor)  # type: ignore[arg-type]


def square_means(image: np.ndarray, factor: int) -> np.ndarray:
    """Each factor x factor square's mean (edge squares: of the pixels they hold), halves up, one square at a time."""
    rows, cols = -(-image.shape[0] // factor), -(-image.shape[1] // factor)
    out = np.empty((rows, cols, *image.shape[2:]), np.uint8)
    for row in range(rows):
        for col in range(cols):
            square = image[row * factor : (row + 1) * factor, col * factor : (col + 1) * factor].astype(np.int64)
            count = square.shape[0] * square.shape[1]
            out[row, col] = (square.sum(axis=(0, 1)) + count // 2) // count
    return out


def test_box_reduce_is_each_squares_mean_rounded_half_up() -> None:
    """Exactly, in any number of channels: INTER_AREA rounded a mean of k + 1/2 to even at factors 4 and 8 (and 2
    for two channels), so alpha rows alternating 3 and 2 came out 2 in some squares and 3 in others."""
    rng = np.random.default_rng(1)
    for shape in [(37, 23), (37, 23, 3), (64, 48), (5, 3, 3), (1, 1), (1, 30, 3), (30, 1), (40, 40, 2), (24, 24, 4)]:
        for factor in FACTORS:
            for high in (256, 4, 2):  # few values: many means exactly halfway
                image = rng.integers(0, high, shape, dtype=np.uint8)
                assert np.array_equal(reduced.box_reduce(image, factor), square_means(image, factor)), (shape, factor)
    ties = np.where(np.arange(9)[:, None] % 2 == 0, 3, 2).astype(np.uint8).repeat(9, axis=1)
    for factor in FACTORS:
        assert (reduced.box_reduce(ties, factor) == 3).all()
        assert (reduced.box_reduce(np.dstack([ties, ties]), factor) == 3).all()


def test_box_reduce_is_pillow_reduce_within_a_level() -> None:
    rng = np.random.default_rng(1)
    for shape in [(37, 23), (37, 23, 3), (64, 48), (5, 3, 3), (1, 1), (1, 30, 3), (30, 1)]:
        for factor in FACTORS:
            image = rng.integers(0, 256, shape, dtype=np.uint8)
            ours, pillows = reduced.box_reduce(image, factor), np.asarray(Image.fromarray(image).reduce(factor))
            assert ours.shape == pillows.shape and np.abs(ours.astype(int) - pillows).max() <= 1, (shape, factor)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda path: path.name)
def test_seeds_decode_reduced_or_are_refused_as_by_decode(seed: Path) -> None:
    data = seed.read_bytes()
    try:
        full = regioncodec.decode(data)
    except RegionCodecError:
        full = None
    for factor in FACTORS:
        if full is None:
            with pytest.raises(RegionCodecError):
                regioncodec.decode(data, reduce=factor)
        else:
            out = regioncodec.decode(data, reduce=factor)
            assert out.shape == reduced.box_reduce(full, factor).shape


def test_damage_behind_the_crc_is_refused_exactly_when_decode_refuses(photo: np.ndarray) -> None:
    """Flips in a file rewritten with right CRCs: a reduced decode refuses what decode refuses, and only that."""
    data = regioncodec.encode(photo[300:364, 200:296])
    rng = random.Random(4)
    outcomes = set()
    for bit in rng.sample(range(64, len(data) * 8), 300):
        damaged = bytearray(data)
        damaged[bit // 8] ^= 1 << (bit % 8)
        variant = fix_crcs(bytes(damaged))
        try:
            regioncodec.decode(variant)
            refused = False
        except RegionCodecError:
            refused = True
        for factor in FACTORS:
            try:
                out = regioncodec.decode(variant, reduce=factor)
                assert out.shape == (-(-64 // factor), -(-96 // factor), 3)
                outcomes.add((refused, False))
            except RegionCodecError:
                outcomes.add((refused, True))
    assert outcomes == {(False, False), (True, True)}


def test_a_stream_of_the_wrong_size_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """As decode: every stream's header is checked against its mosaic at full size before any stream is decoded."""
    chunks = chunks_of((DATA / "two-regions.rgc").read_bytes())  # 32x16 RGB, one 16x16 block per region
    index = [kind for kind, _ in chunks].index(b"LAYR") + 1
    body = chunks[index][1]
    region, codec, quality, scale, length = LAYR.unpack_from(body)
    chunks[index] = (
        b"LAYR",
        layer(region, grey_jpeg(24, 16), body[LAYR.size + length :], codec=codec, quality=quality),
    )
    decoded: list[object] = []
    monkeypatch.setattr(type(JPEG), "decode_reduced", lambda *args: decoded.append(args))
    for factor in FACTORS:
        with pytest.raises(FormatError, match="luma stream of region 1 is a 1-component JPEG of 24x16"):
            regioncodec.decode(build(chunks), reduce=factor)
    assert not decoded


@pytest.mark.parametrize("factor", FACTORS)
def test_same_pixels_on_one_thread_or_two(photo: np.ndarray, factor: int) -> None:
    data = regioncodec.encode(photo, bg_scale=4)
    previous = threads.set_count(1)
    try:
        alone = regioncodec.decode(data, reduce=factor)
        threads.set_count(2)
        assert np.array_equal(regioncodec.decode(data, reduce=factor), alone)
    finally:
        threads.set_count(previous)


@pytest.mark.parametrize("factor", FACTORS)
def test_memory_follows_the_reduced_size(factor: int) -> None:
    """No plane of the full size is made: beyond the file's bytes (held twice, as given and as the container's
    streams), traced memory peaks under BYTES_PER_PIXEL per reduced pixel; the full decode takes 5 per full pixel."""
    image = random_image((2048, 2048, 3))
    data = regioncodec.encode(image, fg_quality=90, bg_quality=90)
    regioncodec.decode(data, reduce=factor)  # libraries loaded and pools started before measuring
    tracemalloc.start()
    try:
        regioncodec.decode(data, reduce=factor)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - 2 * len(data) < BYTES_PER_PIXEL * (2048 // factor) ** 2, peak


def test_reads_alone() -> None:
    """The reduced decode, like the decoder, loads nothing of the encoder side."""
    loaded = modules_loaded(
        f"import regioncodec.reduced as r; r.decode(open({str(DATA / 'alpha-metadata.rgc')!r}, 'rb').read(), 4)"
    )
    assert "regioncodec.reduced" in loaded
    assert not set(loaded) & set(ENCODER_SIDE), set(loaded) & set(ENCODER_SIDE)


def test_command_line_reduce(tmp_path: Path, crop: np.ndarray) -> None:
    (tmp_path / "a.rgc").write_bytes(regioncodec.encode(crop))
    done = rcodec("decode", tmp_path / "a.rgc", tmp_path / "a.png", "--reduce", 4)
    assert done.returncode == 0, done.stderr
    with Image.open(tmp_path / "a.png") as png:
        assert png.size == (-(-373 // 4), -(-251 // 4))
        assert np.array_equal(np.asarray(png), regioncodec.decode((tmp_path / "a.rgc").read_bytes(), reduce=4))
    done = rcodec("decode", tmp_path / "a.rgc", tmp_path / "b.png", "--reduce", 3)
    assert done.returncode == 2 and "invalid choice: 3" in done.stderr
