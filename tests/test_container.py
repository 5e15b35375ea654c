"""The .rgc container against its spec: golden files, damage, and every structural rule."""

from __future__ import annotations

import io
import re
import struct
import zlib

import numpy as np
import pytest
import zstandard
from PIL import Image

import regioncodec
from regioncodec import ChunkError, FormatError, TruncatedError, container

from .conftest import DATA, ROOT

SMALLEST = (DATA / "smallest.rgc").read_bytes()
TWO_REGIONS = (DATA / "two-regions.rgc").read_bytes()


def chunks_of(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, read naively for building variants in tests."""
    out, offset = [], len(container.SIGNATURE)
    while offset < len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        out.append((kind, data[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return out


def build(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A file of these chunks, each with a correct length and CRC."""
    return container.SIGNATURE + b"".join(container.pack_chunk(kind, body) for kind, body in chunks)


def replace(data: bytes, kind: bytes, body: bytes) -> bytes:
    """data with the (first) chunk of type kind given a new body."""
    chunks = chunks_of(data)
    index = [k for k, _ in chunks].index(kind)
    chunks[index] = (kind, body)
    return build(chunks)


def test_spec_hex_dump_is_the_golden_file() -> None:
    spec = (ROOT / "spec" / "format.md").read_text()
    section = spec[spec.index("## 12. The smallest valid file") :]
    dump = re.findall(r"^[0-9a-f]{4}: ((?:[0-9a-f]{2} ?)+)$", section, flags=re.MULTILINE)
    assert bytes.fromhex(" ".join(dump)) == SMALLEST
    assert f"{len(SMALLEST)} bytes" in section


def test_smallest_file_decodes() -> None:
    assert np.array_equal(regioncodec.decode(SMALLEST), np.array([[128]], np.uint8))
    info = regioncodec.inspect(SMALLEST)
    assert (info.width, info.height, info.mode, info.block_size, info.fg_fraction) == (1, 1, "L", 8, 0.0)


def test_two_region_golden_file_decodes() -> None:
    out = regioncodec.decode(TWO_REGIONS)
    assert out.shape == (16, 32, 3)
    # left half foreground: flat red with a green square; right half a grey ramp
    assert np.abs(out[0, 0].astype(int) - (200, 40, 40)).max() <= 6
    assert np.abs(out[8, 8].astype(int) - (20, 200, 90)).max() <= 12
    assert regioncodec.read_mask(TWO_REGIONS)[:, :16].all() and not regioncodec.read_mask(TWO_REGIONS)[:, 16:].any()


@pytest.mark.parametrize("golden", [SMALLEST, TWO_REGIONS])
def test_writer_reproduces_golden_bytes(golden: bytes) -> None:
    assert container.write(container.read(golden)) == golden


def test_embedded_streams_are_plain_jpegs() -> None:
    parsed = container.read(TWO_REGIONS)
    for layer in parsed.layers:
        luma, chroma = layer.streams
        with Image.open(io.BytesIO(luma)) as image:
            assert (image.format, image.mode, image.size) == ("JPEG", "L", (16, 16))
        with Image.open(io.BytesIO(chroma)) as image:
            assert (image.format, image.mode, image.size) == ("JPEG", "L", (8, 16))


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 30, b"GIF89a", b"\x89RGX\r\n\x1a\n"])
def test_not_an_rgc_file(data: bytes) -> None:
    with pytest.raises(FormatError, match="signature"):
        regioncodec.decode(data)


def test_every_truncation_is_refused() -> None:
    for end in range(len(SMALLEST)):
        with pytest.raises(FormatError):
            regioncodec.decode(SMALLEST[:end])
    with pytest.raises(TruncatedError, match="cut off|ends"):
        regioncodec.decode(SMALLEST[:-3])


def test_crc_damage_is_refused() -> None:
    damaged = bytearray(TWO_REGIONS)
    damaged[200] ^= 0x10
    with pytest.raises(ChunkError, match="CRC"):
        regioncodec.decode(bytes(damaged))


def test_unknown_ancillary_chunk_is_skipped() -> None:
    chunks = chunks_of(TWO_REGIONS)
    chunks.insert(2, (b"teSt", b"anything at all"))
    assert np.array_equal(regioncodec.decode(build(chunks)), regioncodec.decode(TWO_REGIONS))


def test_unknown_critical_chunk_is_refused() -> None:
    chunks = chunks_of(TWO_REGIONS)
    chunks.insert(2, (b"TEST", b""))
    with pytest.raises(ChunkError, match="unknown critical chunk b'TEST'"):
        regioncodec.decode(build(chunks))


@pytest.mark.parametrize("version", [0, 2, 255])
def test_other_versions_are_refused(version: int) -> None:
    head = dict(chunks_of(SMALLEST))[b"HEAD"]
    with pytest.raises(FormatError, match=f"unsupported .rgc version {version}"):
        regioncodec.decode(replace(SMALLEST, b"HEAD", bytes([version]) + head[1:]))


@pytest.mark.parametrize(
    "fields, match",
    [
        ((1, 0, 1, 1, 8, 2), "size 0x1"),
        ((1, 1, 65_501, 1, 8, 2), "outside 1..65500"),
        ((1, 1, 1, 2, 8, 2), "mode code 2"),
        ((1, 1, 1, 1, 12, 2), "block size 12"),
        ((1, 1, 1, 3, 8, 2), "block size 8 is not allowed for mode RGB"),
        ((1, 1, 1, 1, 8, 0), "zero regions"),
    ],
)
def test_bad_header_fields_are_refused(fields: tuple[int, ...], match: str) -> None:
    with pytest.raises(FormatError, match=match):
        regioncodec.decode(replace(SMALLEST, b"HEAD", container.HEAD_FIELDS.pack(*fields)))


def test_header_of_the_wrong_length_is_refused() -> None:
    head = dict(chunks_of(SMALLEST))[b"HEAD"]
    with pytest.raises(ChunkError, match="HEAD chunk is 13 bytes"):
        regioncodec.decode(replace(SMALLEST, b"HEAD", head + b"\0"))


def test_chunk_order_rules() -> None:
    chunks = chunks_of(TWO_REGIONS)
    kinds = [k for k, _ in chunks]
    assert kinds == [b"HEAD", b"BMAP", b"LAYR", b"LAYR", b"DONE"]
    cases = {
        "first chunk is b'BMAP'": chunks[1:],
        "second HEAD": chunks[:1] + chunks,
        "second BMAP": chunks[:2] + chunks[1:],
        "comes before the BMAP": [chunks[0], chunks[2], chunks[1], *chunks[3:]],
        "region 1; region 0 comes next": [chunks[0], chunks[1], chunks[3], chunks[2], chunks[4]],
        "1 LAYR chunks; HEAD declares 2": chunks[:3] + chunks[4:],
        "one more than the 2 declared": chunks[:4] + chunks[3:],
        "no BMAP": [chunks[0], chunks[4]],
        "before its DONE": chunks[:4],
    }
    for match, variant in cases.items():
        with pytest.raises(FormatError, match=match):
            regioncodec.decode(build(variant))


def test_bytes_after_done_are_refused() -> None:
    with pytest.raises(FormatError, match="follow the DONE chunk"):
        regioncodec.decode(SMALLEST + b"\0")


def test_done_with_data_is_refused() -> None:
    with pytest.raises(ChunkError, match="DONE chunk at byte .* is not empty"):
        regioncodec.decode(replace(SMALLEST, b"DONE", b"x"))


@pytest.mark.parametrize("kind", [b"HE4D", b"\0\0\0\0"])
def test_chunk_types_must_be_letters(kind: bytes) -> None:
    data = SMALLEST[:8] + struct.pack(">I", 0) + kind + struct.pack(">I", zlib.crc32(kind))
    with pytest.raises(ChunkError, match="ASCII letters"):
        regioncodec.decode(data)


def test_huge_chunk_length_is_refused_before_reading() -> None:
    data = bytearray(SMALLEST)
    data[8:12] = struct.pack(">I", 2**32 - 1)
    with pytest.raises(ChunkError, match="over 2\\^31-1"):
        regioncodec.decode(bytes(data))
    data[8:12] = struct.pack(">I", 2**31 - 1)
    with pytest.raises(TruncatedError, match="declares 2147483647 bytes"):
        regioncodec.decode(bytes(data))


def zstd_frame(payload: bytes, *, content_size: bool = True) -> bytes:
    return zstandard.ZstdCompressor(write_content_size=content_size).compress(payload)


@pytest.mark.parametrize(
    "body, match",
    [
        (b"not zstd", "not a zstd frame"),
        (zstd_frame(b"\0\0"), "declares 2 map bytes; a 1x1 block grid needs 1"),
        (zstd_frame(b"\0", content_size=False), "declares 18446744073709551615"),
        (zstd_frame(b"\0") + b"x", "not exactly one frame"),
        (zstd_frame(b"\x05"), "names region 5"),
    ],
)
def test_bad_block_maps_are_refused(body: bytes, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        regioncodec.decode(replace(SMALLEST, b"BMAP", body))


def test_block_map_declaring_a_huge_size_is_refused_before_decompressing() -> None:
    bomb = zstd_frame(bytes(10_000_000))
    assert len(bomb) < 1000
    with pytest.raises(FormatError, match="declares 10000000 map bytes"):
        regioncodec.decode(replace(SMALLEST, b"BMAP", bomb))


def layer(
    region: int,
    codec: int,
    quality: int,
    luma: bytes,
    chroma: bytes = b"",
    luma_length: int | None = None,
    scale: int = 1,
) -> bytes:
    length = len(luma) if luma_length is None else luma_length
    return container.LAYR_FIELDS.pack(region, codec, quality, scale, length) + luma + chroma


def test_bad_layers_are_refused() -> None:
    chunks = chunks_of(SMALLEST)
    luma = container.read(SMALLEST).layers[0].streams[0]
    cases = {
        "shorter than its fields": layer(0, 1, 30, b"")[:5],
        "unknown codec 9": layer(0, 9, 30, luma),
        "quality 0": layer(0, 1, 0, luma),
        "quality 101": layer(0, 1, 101, luma),
        "declares a 1000-byte first stream": layer(0, 1, 30, luma, luma_length=1000),
        "scale 3": layer(0, 1, 30, luma, scale=3),
        "scale 0": layer(0, 1, 30, luma, scale=0),
        "codec webp carries a second stream": layer(0, 2, 30, luma, b"x"),
        "region 0 has blocks but no streams": layer(0, 1, 30, b""),
        "greyscale image carries a chroma stream": layer(0, 1, 30, luma, b"x"),
        "no readable JPEG frame header": layer(0, 1, 30, b"\xff\xd8 garbage"),
        "not a JPEG stream": layer(0, 1, 30, b"GIF89a"),
        "not a readable JPEG": layer(0, 1, 30, luma[:-40]),
        "other than baseline or progressive": layer(0, 1, 30, luma.replace(b"\xff\xc0", b"\xff\xc9", 1)),
        "luma stream of region 0 is a 1-component JPEG of 16x8; the container needs 1 component of 8x8": layer(
            0, 1, 30, _grey_jpeg(16, 8)
        ),
    }
    for match, body in cases.items():
        variant = [chunks[0], chunks[1], (b"LAYR", body), *chunks[3:]]
        with pytest.raises(FormatError, match=match):
            regioncodec.decode(build(variant))
    empty_region_with_data = [chunks[0], chunks[1], chunks[2], (b"LAYR", layer(1, 1, 90, luma)), chunks[4]]
    with pytest.raises(FormatError, match="region 1 has no blocks but carries streams"):
        regioncodec.decode(build(empty_region_with_data))


def test_rgb_layer_needs_its_chroma_stream() -> None:
    chunks = chunks_of(TWO_REGIONS)
    luma = container.read(TWO_REGIONS).layers[0].streams[0]
    variant = [*chunks[:2], (b"LAYR", layer(0, 1, 30, luma)), *chunks[3:]]
    with pytest.raises(FormatError, match="lacks its chroma stream"):
        regioncodec.decode(build(variant))


def test_colour_jpeg_where_a_plane_belongs_is_refused() -> None:
    chunks = chunks_of(SMALLEST)
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "JPEG")
    variant = [chunks[0], chunks[1], (b"LAYR", layer(0, 1, 30, out.getvalue())), *chunks[3:]]
    with pytest.raises(FormatError, match="is a 3-component JPEG of 8x8"):
        regioncodec.decode(build(variant))


def _grey_jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 128).save(out, "JPEG")
    return out.getvalue()


def test_read_header_reads_only_the_header() -> None:
    header = container.read_header(TWO_REGIONS[:40])
    assert (header.width, header.height, header.mode, header.block_size, header.regions) == (32, 16, "RGB", 16, 2)
