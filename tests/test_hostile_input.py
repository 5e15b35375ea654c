"""Hostile bytes: decode returns an image or raises RegionCodecError, never anything else, within 1 s.

Damage the CRCs catch (every bit flip of a file), damage behind them (flips
and mutations with the CRCs made right, as an attacker would), random bytes,
the fuzz seed corpus, and every input that ever crashed decode (tests/data/regressions).
"""

from __future__ import annotations

import contextlib
import io
import random
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import regioncodec
import regioncodec.pillow  # noqa: F401 - registers the plugin the tests read with
from regioncodec import FormatError, RegionCodecError

from . import craft
from .conftest import DATA, ROOT
from .craft import SIGNATURE, TIME_LIMIT, fix_crcs, refused

SEEDS = sorted([*DATA.glob("*.rgc"), *(ROOT / "fuzz" / "corpus").glob("*.rgc")])
SEED_BYTES = [path.read_bytes() for path in SEEDS]
REGRESSIONS = sorted((DATA / "regressions").glob("*.rgc"))


@pytest.fixture(scope="module")
def small_file(photo: np.ndarray) -> bytes:
    """A valid two-region RGB file of about 2 KB: a 64x96 crop of a photograph."""
    data = regioncodec.encode(photo[300:364, 200:296], subjects=False)  # a face: its skin would fill the crop
    assert (len(data) - 256) * 8 > 2 * 3000 and regioncodec.read_info(data).fg_fraction not in (0.0, 1.0)
    return data


def decoded_or_refused(data: bytes, **options: int) -> np.ndarray | None:
    """decode(data), or None if it raised RegionCodecError; anything else (or taking over 1 s) fails the test."""
    start = time.perf_counter()
    try:
        out = regioncodec.decode(data, **options)
    except RegionCodecError as exc:
        assert str(exc)
        out = None
    else:
        assert out.dtype == np.uint8 and out.ndim in (2, 3) and out.size
    assert time.perf_counter() - start < TIME_LIMIT
    return out


def flipped(data: bytes, bit: int) -> bytes:
    """data with one bit inverted."""
    damaged = bytearray(data)
    damaged[bit // 8] ^= 1 << (bit % 8)
    return bytes(damaged)


def test_every_bit_flip_is_refused(small_file: bytes) -> None:
    """Every flip in the first 256 bytes and 3,000 of the rest: signature, lengths and CRC-32 leave none valid.

    CRC-32 catches every single-bit error in a chunk's type, data or CRC, and
    a flipped length moves the CRC out of place, so no flip can decode.
    """
    rng = random.Random(1)
    bits = [*range(256 * 8), *rng.sample(range(256 * 8, len(small_file) * 8), 3000)]
    for bit in bits:
        refused(flipped(small_file, bit), FormatError)


def test_bit_flips_behind_the_crc_decode_or_are_refused(small_file: bytes) -> None:
    """What CRCs cannot catch: flips in a file rewritten with right CRCs (the payloads mostly still decode)."""
    rng = random.Random(2)
    results = [
        decoded_or_refused(fix_crcs(flipped(small_file, bit)))
        for bit in rng.sample(range(64, len(small_file) * 8), 2000)
    ]
    shapes = {None if out is None else out.shape for out in results}
    assert shapes == {None, (64, 96, 3)}  # both outcomes happen, and what decodes has the header's size


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A seed file after a few random edits, with its CRCs made right three times in four."""
    data = bytearray(draw(st.sampled_from(SEED_BYTES)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["flip", "byte", "insert", "delete", "copy"]))
        if edit == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "byte" and at < len(data):
            data[at] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, draw(st.integers(0, 255))]))
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif edit == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif edit == "copy":
            start = draw(st.integers(0, len(data)))
            data[at:at] = data[start : start + draw(st.integers(1, 64))]
    return fix_crcs(bytes(data)) if draw(st.integers(0, 3)) else bytes(data)


@given(mutated())
def test_mutated_files_decode_or_are_refused(data: bytes) -> None:
    decoded_or_refused(data)


@given(st.binary(max_size=4096))
def test_random_bytes_are_refused(data: bytes) -> None:
    assert decoded_or_refused(data) is None
    assert decoded_or_refused(fix_crcs(SIGNATURE + data)) is None


@pytest.mark.parametrize("path", SEEDS, ids=lambda path: path.name)
def test_fuzz_seeds_are_valid(path: Path) -> None:
    assert decoded_or_refused(path.read_bytes()) is not None


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda path: path.name)
def test_past_crashes_stay_fixed(path: Path) -> None:
    """Each once crashed decode or blew its time or memory; replayed with the pixel limit as is and raised."""
    decoded_or_refused(path.read_bytes())
    decoded_or_refused(path.read_bytes(), max_pixels=2**40)


@pytest.mark.parametrize("codec", ["avif", "webp"])
def test_canvases_past_their_codecs_side_are_refused_before_decoding(codec: str) -> None:
    """A 40000-pixel-wide canvas: encode refuses to write one (test_hostile_encode), decode to read one."""
    data = (DATA / "regressions" / f"{codec}-canvas-40000-wide.rgc").read_bytes()
    refused(data, FormatError, f"past the {regioncodec.codecs.CODECS[codec].max_side}-pixel side")


def test_an_avif_canvas_with_a_transform_property_is_refused() -> None:
    """§7.5: a canvas is its samples as stored; an irot property (Pillow writes one from an EXIF orientation)
    would have Chromium turn them, and the two readers decode different pixels."""
    refused((DATA / "regressions" / "avif-canvas-rotated-by-irot.rgc").read_bytes(), FormatError, "has irot properties")


READERS = {
    "read_info": regioncodec.read_info,
    "read_mask": regioncodec.read_mask,
    "read_metadata": regioncodec.read_metadata,
}


def pillow_load(data: bytes) -> None:
    """The Pillow plugin (alone: Pillow's other readers' bugs are not ours): open and load, raising only what
    Pillow's own plugins raise."""
    with Image.open(io.BytesIO(data), formats=["RGC"]) as image:
        image.load()


@pytest.mark.parametrize(
    "name",
    [
        "read-mask-176-megapixels-from-a-tiny-jpeg-layer",
        "read-mask-65500-squared-with-max-pixels-raised",
        "read-mask-176-megapixels-from-a-bogus-webp-canvas",
    ],
)
def test_read_mask_refuses_what_decode_refuses_before_building_anything(name: str) -> None:
    """An 868-byte file made read_mask build a 179 MB mask (1.5 s); with max_pixels raised, a 2,475-byte file
    made it peak at 8.3 GB (51 s). Now the streams' headers and their bytes are checked first."""
    data = (DATA / "regressions" / f"{name}.rgc").read_bytes()
    tracemalloc.start()
    try:
        for options in ({}, {"max_pixels": 2**40}):
            refused(data, read=regioncodec.read_mask, **options)  # LimitError at the default limit, where it is over
            error = refused(data, **options)
        assert isinstance(error, FormatError)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20, f"{peak >> 20} MB allocated"


def test_export_checks_every_stream_before_libjpeg_reads_one() -> None:
    """A 422-byte file whose 16x16 layer's frame header says 12000x12000: export handed it to libjpeg, which took
    615 MB and 2.2 s before the mosaic's size was compared; now it is refused as decode refuses it."""
    stream = craft.grey_jpeg(16, 16)
    sof = stream.index(b"\xff\xc0")
    big = stream[: sof + 5] + (12_000).to_bytes(2, "big") * 2 + stream[sof + 9 :]
    data = craft.build(
        [
            (b"HEAD", craft.head(16, 16, mode=1, block_size=8, regions=1)),
            (b"BMAP", craft.frame(bytes(4))),
            (b"LAYR", craft.layer(0, big)),
            (b"DONE", b""),
        ]
    )
    for read in (regioncodec.decode, regioncodec.export_jpeg):
        refused(data, FormatError, "JPEG of 12000x12000; the container needs 1 component of 16x16", read=read)


def test_an_avif_sequence_canvas_is_refused_by_every_reader() -> None:
    """A one-frame AVIF sequence whose timescale is 0: Pillow's AVIF plugin raised ZeroDivisionError on load."""
    data = (DATA / "regressions" / "avif-one-frame-sequence-timescale-0.rgc").read_bytes()
    if not regioncodec.codecs.CODECS["avif"].available():
        pytest.skip("this Pillow has no AVIF")
    refused(data, FormatError, "image sequence")
    with pytest.raises(OSError, match="image sequence"):
        pillow_load(data)


@settings(max_examples=300)
@given(mutated(), st.sampled_from([*READERS, "pillow"]))
def test_mutated_files_are_read_or_refused_by_every_public_reader(data: bytes, reader: str) -> None:
    """read_info, read_mask, read_metadata raise only RegionCodecError, and the plugin only what Pillow's own
    plugins raise (OSError, SyntaxError via UnidentifiedImageError, Image.DecompressionBombError)."""
    start = time.perf_counter()
    if reader == "pillow":
        with contextlib.suppress(OSError, Image.DecompressionBombError):
            pillow_load(data)
    else:
        with contextlib.suppress(RegionCodecError):
            READERS[reader](data)
    assert time.perf_counter() - start < TIME_LIMIT
