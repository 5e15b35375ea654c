"""The deblocking filter (spec §11.8), the DBLK chunk (§7.8) and canvases among JPEG layers (§11.9).

The decoder's vectorised filter against the spec's per-edge transcription
(tests/naive_decoder.py) on random planes and strengths, the tables it reads
from streams, the chunk's rules, region borders without a seam, mixed files,
and the promise that an explicit --fg-quality 90 --bg-quality 30 still means
what it says.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import regioncodec
from regioncodec import container, deblock, decoder
from regioncodec.container import Deblock
from regioncodec.errors import ChunkError, FormatError
from regioncodec.metrics import psnr

from . import naive_decoder
from .conftest import SAMPLES


def filtered(plane: np.ndarray, strengths: np.ndarray, a: int, b: int, **options: object) -> np.ndarray:
    """plane after the decoder's filter, its jobs run in turn."""
    out = plane.copy()
    for _, job in deblock.plane_jobs(out, strengths, a, b, **options):  # type: ignore[arg-type]
        job()
    return out


def blocky(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Flat 8x8 blocks a few levels apart, with a little noise: most lines pass the filter's tests."""
    means = rng.integers(40, 216, (shape[0] // 8, shape[1] // 8))
    steps = np.kron(means, np.ones((8, 8), np.int64)) // 4 * 4 + rng.integers(0, 2, shape)
    ramp = np.add.outer(np.arange(shape[0]), np.arange(shape[1])) // 16  # slopes, so d2 is not just the step
    return np.clip(steps + ramp, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("shape", [(8, 8), (16, 40), (48, 24), (264, 72), (1048, 24)])
@pytest.mark.parametrize("factors", [(5, 4), (16, 15), (1, 1), (9, 2)])
def test_vectorised_filter_is_the_per_edge_transcription(
    shape: tuple[int, int], factors: tuple[int, int], passes: str
) -> None:
    """On random planes (noise, and flat blocks a step apart) and random strengths from 0 to 255, in bands of
    every size the decoder cuts (planes over 520 rows make several)."""
    rng = np.random.default_rng(sum(shape) * factors[0] + factors[1])
    grid = (shape[0] // 8, shape[1] // 8)
    for plane in (rng.integers(0, 256, shape, dtype=np.uint8), blocky(rng, shape)):
        for strengths in (rng.integers(0, 256, grid), np.where(rng.random(grid) < 0.5, rng.integers(0, 40, grid), 0)):
            expected = naive_decoder._deblock(plane.astype(np.int64), strengths, *factors)
            assert np.array_equal(filtered(plane, strengths, *factors), expected)
            inside = rng.random(grid) < 0.6  # blocks of the last region, between which no edge is filtered
            expected = naive_decoder._deblock(plane.astype(np.int64), strengths, *factors, inside)
            assert np.array_equal(filtered(plane, strengths, *factors, inside=inside), expected)


def test_edges_inside_the_last_region_are_left_alone_and_its_border_is_filtered() -> None:
    """§11.8: the last region's blocks keep their strength on its border, but no edge between two of them moves."""
    plane = blocky(np.random.default_rng(3), (64, 64))
    strengths = np.full((8, 8), 40)
    inside = np.zeros((8, 8), bool)
    inside[2:6, 2:6] = True
    out = filtered(plane, strengths, 5, 4, inside=inside)
    assert np.array_equal(out[20:44, 20:44], plane[20:44, 20:44])  # 4 samples in from the region's border
    assert not np.array_equal(out[16:48, 16:48], plane[16:48, 16:48])  # its border edges were smoothed
    assert not np.array_equal(out[:16], plane[:16])


def test_weak_strengths_change_nothing_and_make_no_jobs() -> None:
    """alpha <= 2 everywhere (A Q < 24): every correction rounds to 0, so there is nothing to run."""
    plane = blocky(np.random.default_rng(1), (64, 64))
    assert deblock.plane_jobs(plane.copy(), np.full((8, 8), 4), 5, 4) == []
    assert np.array_equal(naive_decoder._deblock(plane.astype(np.int64), np.full((8, 8), 4), 5, 4), plane)


def test_two_planes_side_by_side_filter_as_each_alone() -> None:
    """Cb and Cr are filtered as one array; the edge where they meet is left out."""
    rng = np.random.default_rng(2)
    cb, cr = blocky(rng, (32, 48)), blocky(rng, (32, 48))
    s = rng.integers(10, 60, (4, 6))
    both = filtered(np.hstack([cb, cr]), np.hstack([s, s]), 5, 4, cuts=(6,))
    assert np.array_equal(both[:, :48], filtered(cb, s, 5, 4))
    assert np.array_equal(both[:, 48:], filtered(cr, s, 5, 4))


def test_a_step_between_flat_blocks_becomes_a_ramp() -> None:
    """§11.8's picture: both sides flat, a step of 16 across the edge, d2 = 32: a ramp with steps of 2."""
    plane = np.full((8, 16), 100, np.uint8)
    plane[:, 8:] = 116
    out = filtered(plane, np.full((1, 2), 60), 5, 4)
    assert out[0].tolist() == [100] * 4 + [101, 103, 105, 107, 109, 111, 113, 115] + [116] * 4


def dqt(tables: list[tuple[int, int, list[int]]]) -> bytes:
    """A DQT segment of (Pq, Tq, steps in zigzag order) tables."""
    body = b"".join(
        bytes([pq << 4 | tq]) + b"".join(v.to_bytes(1 + pq, "big") for v in steps) for pq, tq, steps in tables
    )
    return b"\xff\xdb" + (2 + len(body)).to_bytes(2, "big") + body


def plane_stream(table: list[int]) -> bytes:
    """A greyscale JPEG stream (Pillow's) quantised with table (natural order)."""
    out = io.BytesIO()
    Image.fromarray(np.full((8, 8), 128, np.uint8)).save(out, "JPEG", qtables=[table])
    return out.getvalue()


def test_tables_are_read_as_the_spec_says() -> None:
    """8- and 16-bit steps in zigzag order, the frame's Tq, the last definition before the first scan."""
    rng = np.random.default_rng(3)
    natural = [int(v) for v in rng.integers(1, 256, 64)]
    stream = plane_stream(natural)
    assert deblock.stream_table(stream, "s") == tuple(natural) == tuple(naive_decoder._table(stream))
    decoys = dqt([(0, 1, [1] * 64), (1, 0, [9] * 64)])  # table 1, and a table 0 the stream's own replaces
    assert deblock.stream_table(stream[:2] + decoys + stream[2:], "s") == tuple(natural)
    wide = [int(v) for v in rng.integers(1, 65536, 64)]
    bare = _without_dqt(stream)
    sixteen = bare[:2] + dqt([(1, 0, wide)]) + bare[2:]
    expected = [0] * 64
    for position, value in enumerate(wide):
        expected[deblock.ZIGZAG[position]] = value
    assert expected[1] == wide[1] and expected[8] == wide[2]  # T[0][1] and T[1][0]: zigzag positions 1 and 2
    assert deblock.stream_table(sixteen, "s") == tuple(expected) == tuple(naive_decoder._table(sixteen))
    assert deblock.strength(expected) == min(255, (expected[1] + expected[8] + 1) >> 1)
    with pytest.raises(FormatError, match="does not define the quantisation table"):
        deblock.stream_table(bare, "s")
    with pytest.raises(FormatError, match="marker 0xFFFF at byte 2, before its first scan"):
        deblock.stream_table(bare[:2] + b"\xff" + bare[2:], "s")  # a fill byte: libjpeg would skip it


def _without_dqt(stream: bytes) -> bytes:
    """stream with its DQT segments taken out."""
    out, offset = bytearray(stream[:2]), 2
    while stream[offset + 1] != 0xDA:
        length = int.from_bytes(stream[offset + 2 : offset + 4], "big")
        if stream[offset + 1] != 0xDB:
            out += stream[offset : offset + 2 + length]
        offset += 2 + length
    return bytes(out + stream[offset:])


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    """A 96x128 piece of a real photograph (kodim04: hair, face, a smooth backdrop)."""
    rgb = np.asarray(Image.open(SAMPLES[1]).convert("RGB"))
    return np.ascontiguousarray(rgb[180:276, 160:288])


def left_half(image: np.ndarray) -> np.ndarray:
    mask = np.zeros(image.shape[:2], bool)
    mask[:, : image.shape[1] // 2] = True
    return mask


def test_files_carry_dblk_when_they_have_jpeg_layers(sample: np.ndarray) -> None:
    assert container.read(regioncodec.encode(sample)).deblock == Deblock(1, 5, 4)
    assert container.read(regioncodec.encode(sample, deblock=False)).deblock is None
    assert container.read(regioncodec.encode(sample, codec="webp")).deblock is None  # canvases only: no effect
    assert container.read(regioncodec.encode(sample, bg_codec="avif")).deblock == Deblock(1, 5, 4)


def test_without_dblk_nothing_is_filtered(sample: np.ndarray) -> None:
    parsed = container.read(regioncodec.encode(sample, mask=left_half(sample), fg_quality=90, bg_quality=20))
    on = decoder.decode_container(parsed)
    off = regioncodec.decode(container.write(container.Container(parsed.header, parsed.block_map, parsed.layers)))
    assert not np.array_equal(on, off)
    assert psnr(sample, on) > psnr(sample, off)  # smoothing a low-quality background also comes closer


def with_chunk(data: bytes, chunk: bytes, before: bytes) -> bytes:
    """data with chunk inserted before the first chunk of type before."""
    at = data.index(before) - 4
    return data[:at] + chunk + data[at:]


@pytest.mark.parametrize(
    "body, where, error, match",
    [
        (b"\x01\x05\x04", b"BMAP", ChunkError, "DBLK chunk at byte .* comes before the BMAP chunk"),
        (b"\x01\x05", b"LAYR", ChunkError, "DBLK chunk at byte .* is 2 bytes, not 3"),
        (b"\x02\x05\x04", b"LAYR", FormatError, "names filter method 2; only 1 is defined"),
        (b"\x01\x00\x04", b"LAYR", FormatError, "A = 0, B = 4; A must be 1..16, B 1..15"),
        (b"\x01\x11\x04", b"LAYR", FormatError, "A = 17"),
        (b"\x01\x05\x10", b"LAYR", FormatError, "B = 16"),
        (b"\x01\x05\x04", b"DONE", ChunkError, "DBLK chunk at byte .* comes after a LAYR chunk"),
    ],
)
def test_dblk_chunks_that_break_the_rules_are_refused(
    sample: np.ndarray, body: bytes, where: bytes, error: type, match: str
) -> None:
    data = regioncodec.encode(sample, deblock=False)
    with pytest.raises(error, match=match):
        regioncodec.decode(with_chunk(data, container.pack_chunk(b"DBLK", body), where))


def test_a_second_dblk_chunk_is_refused(sample: np.ndarray) -> None:
    data = regioncodec.encode(sample)
    with pytest.raises(ChunkError, match="DBLK chunk at byte .* comes twice"):
        regioncodec.decode(with_chunk(data, container.pack_chunk(b"DBLK", b"\x01\x05\x04"), b"LAYR"))


def test_a_stream_without_its_table_is_refused_only_with_the_filter(sample: np.ndarray) -> None:
    parsed = container.read(regioncodec.encode(sample, mask=left_half(sample)))
    layers = list(parsed.layers)
    background = layers[0]
    layers[0] = container.Layer(0, "jpeg", background.quality, 1, (_without_dqt(background.streams[0]),)
                                + background.streams[1:])  # fmt: skip
    broken = container.Container(parsed.header, parsed.block_map, tuple(layers), deblock=Deblock())
    with pytest.raises(FormatError, match="luma stream of region 0 does not define the quantisation table"):
        regioncodec.decode(container.write(broken))


def test_no_seam_where_regions_meet(passes: str) -> None:
    """A smooth ramp across a region border, the background at quality 20: the border steps no more than the
    filter leaves inside the background, and far less than without the filter."""
    ramp = np.tile(np.linspace(60, 190, 256), (64, 1))
    image = np.dstack([ramp, ramp * 0.8 + 20, 250 - ramp * 0.7]).round().astype(np.uint8)
    mask = np.zeros((64, 256), bool)
    mask[:, :128] = True
    steps = {}
    for on in (True, False):
        out = regioncodec.decode(regioncodec.encode(image, mask=mask, fg_quality=90, bg_quality=20, deblock=on))
        error = out.astype(int) - image
        jump = np.abs(np.diff(error, axis=1))  # how much the error changes from one column to the next
        steps[on] = (float(jump[:, 127].mean()), float(jump[:, 135:248:8].mean()))  # the border; edges inside
    border, inside = steps[True]
    assert border <= max(inside, 1.0)
    assert border < steps[False][0]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_explicit_qualities_still_mean_what_they_say(path: object) -> None:
    """--fg-quality 90 --bg-quality 30: each region at least as faithful as a uniform JPEG of its quality."""
    image = np.asarray(Image.open(path).convert("RGB"))
    data = regioncodec.encode(image, fg_quality=90, bg_quality=30)
    parsed = container.read(data)
    top = parsed.block_map == parsed.header.regions - 1
    fg = np.repeat(np.repeat(top, 16, 0), 16, 1)[: image.shape[0], : image.shape[1]]
    out = regioncodec.decode(data)
    uniform = {q: np.asarray(Image.open(io.BytesIO(_jpeg(image, q)))) for q in (90, 30)}
    assert psnr(image, out, fg) >= psnr(image, uniform[90], fg) - 0.05
    assert psnr(image, out, ~fg) >= psnr(image, uniform[30], ~fg)


def _jpeg(image: np.ndarray, quality: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


@pytest.mark.parametrize("codec", ["avif", "webp"])
def test_a_canvas_background_among_jpeg_layers(sample: np.ndarray, codec: str) -> None:
    """bg_codec: the background is a canvas (coded above the asked quality), the rest JPEG, one file."""
    data = regioncodec.encode(sample, mask=left_half(sample), fg_quality=90, bg_quality=30, bg_codec=codec)
    info = regioncodec.read_info(data)
    assert [(r.codec, r.quality) for r in info.regions] == [(codec, 30), ("jpeg", 90)]
    out = regioncodec.decode(data)
    assert np.array_equal(out, naive_decoder.decode(data))
    plain = regioncodec.decode(regioncodec.encode(sample, mask=left_half(sample), fg_quality=90, bg_quality=30))
    assert psnr(sample, out, ~left_half(sample)) > psnr(sample, plain, ~left_half(sample))


def test_bg_codec_needs_jpeg_layers_above_it(sample: np.ndarray) -> None:
    with pytest.raises(regioncodec.InputError, match="bg_codec must be one of webp, avif, not 'png'"):
        regioncodec.encode(sample, bg_codec="png")
    with pytest.raises(regioncodec.InputError, match="codec must be jpeg"):
        regioncodec.encode(sample, codec="webp", bg_codec="avif")
    assert regioncodec.read_info(regioncodec.encode(sample, bg_codec="jpeg")).regions[0].codec == "jpeg"


def test_canvas_chroma_is_the_formula() -> None:
    """§11.9's integer conversion of 2x2 squares, on random pictures and at the extremes."""
    rng = np.random.default_rng(5)
    for rgb in (rng.integers(0, 256, (30, 44, 3), dtype=np.uint8), np.full((2, 2, 3), 255, np.uint8)):
        cb, cr = decoder.canvas_chroma(rgb)
        sums = rgb.astype(np.int64).reshape(rgb.shape[0] // 2, 2, rgb.shape[1] // 2, 2, 3).sum(axis=(1, 3))
        r, g, b = sums[..., 0], sums[..., 1], sums[..., 2]
        bias = (1 << 25) + (1 << 17)
        assert np.array_equal(cb, np.clip((-11059 * r - 21709 * g + 32768 * b + bias) >> 18, 0, 255))
        assert np.array_equal(cr, np.clip((32768 * r - 27439 * g - 5329 * b + bias) >> 18, 0, 255))
    grey = np.full((2, 2, 3), 77, np.uint8)
    assert [int(c[0, 0]) for c in decoder.canvas_chroma(grey)] == [128, 128]


def test_corrections_from_sizes_are_exact() -> None:
    """_pass turns |d2| into c_k with OpenCV's convertScaleAbs and an offset of 1/64: exactly §11.8's rounding."""
    import cv2

    size = np.arange(256, dtype=np.uint8).reshape(16, 16)
    for _, weight in deblock._CORRECTIONS:
        d2 = size.astype(np.int64)
        w = round(weight * 32)
        assert np.array_equal(cv2.convertScaleAbs(size, alpha=weight, beta=deblock._HALF_UP), (d2 * w + 16) >> 5)
        assert np.array_equal(cv2.convertScaleAbs(size, alpha=weight, beta=deblock._HALF_DOWN), -((-d2 * w + 16) >> 5))
