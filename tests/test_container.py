"""The .rgc container against its spec: golden files, damage, and every structural rule."""

from __future__ import annotations

import io
import os
import re
import struct
import subprocess
import sys
import tracemalloc
import zlib

import numpy as np
import pytest
import zstandard
from PIL import Image

import regioncodec
from regioncodec import ChunkError, FormatError, LimitError, TruncatedError, container

from .conftest import DATA, ROOT
from .craft import (
    LAYR,
    U32_MAX,
    all_background,
    build,
    chunks_of,
    disguised_jpeg,
    frame,
    grey_jpeg,
    head,
    layer,
    offsets_of,
    padded,
    refused,
    replace,
)

SMALLEST = (DATA / "smallest.rgc").read_bytes()
TWO_REGIONS = (DATA / "two-regions.rgc").read_bytes()
ALPHA_METADATA = (DATA / "alpha-metadata.rgc").read_bytes()


def test_spec_hex_dump_is_the_golden_file() -> None:
    spec = (ROOT / "spec" / "format.md").read_text()
    section = spec[spec.index("## 15. The smallest valid file") :]
    dump = re.findall(r"^[0-9a-f]{4}: ((?:[0-9a-f]{2} ?)+)$", section, flags=re.MULTILINE)
    assert bytes.fromhex(" ".join(dump)) == SMALLEST
    assert f"{len(SMALLEST)} bytes" in section


def test_smallest_file_decodes() -> None:
    assert np.array_equal(regioncodec.decode(SMALLEST), np.array([[128]], np.uint8))
    info = regioncodec.read_info(SMALLEST)
    assert (info.width, info.height, info.mode, info.block_size, info.fg_fraction) == (1, 1, "L", 8, 0.0)


def test_two_region_golden_file_decodes() -> None:
    out = regioncodec.decode(TWO_REGIONS)
    assert out.shape == (16, 32, 3)
    # left half foreground: flat red with a green square; right half a grey ramp
    assert np.abs(out[0, 0].astype(int) - (200, 40, 40)).max() <= 6
    assert np.abs(out[8, 8].astype(int) - (20, 200, 90)).max() <= 12
    assert regioncodec.read_mask(TWO_REGIONS)[:, :16].all() and not regioncodec.read_mask(TWO_REGIONS)[:, 16:].any()


@pytest.mark.parametrize("golden", [SMALLEST, TWO_REGIONS, ALPHA_METADATA])
def test_writer_reproduces_golden_bytes(golden: bytes) -> None:
    assert container.write(container.read(golden)) == golden
    assert build(chunks_of(golden)) == golden  # and so does the test helper written from the spec alone


def test_embedded_streams_are_plain_jpegs() -> None:
    parsed = container.read(TWO_REGIONS)
    for coded in parsed.layers:
        luma, chroma = coded.streams
        with Image.open(io.BytesIO(luma)) as image:
            assert (image.format, image.mode, image.size) == ("JPEG", "L", (16, 16))
        with Image.open(io.BytesIO(chroma)) as image:
            assert (image.format, image.mode, image.size) == ("JPEG", "L", (8, 16))


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 30, b"GIF89a", b"\x89RGX\r\n\x1a\n"])
def test_not_an_rgc_file(data: bytes) -> None:
    refused(data, FormatError, "signature")


@pytest.mark.parametrize("golden", [SMALLEST, TWO_REGIONS], ids=["grey", "rgb"])
def test_every_truncation_is_refused(golden: bytes) -> None:
    for end in range(len(golden)):
        refused(golden[:end], FormatError)
    refused(golden[:-3], TruncatedError, "cut off|ends")


def test_crc_damage_is_refused() -> None:
    damaged = bytearray(TWO_REGIONS)
    damaged[200] ^= 0x10
    refused(bytes(damaged), ChunkError, "CRC")


def test_unknown_ancillary_chunk_is_skipped() -> None:
    chunks = chunks_of(TWO_REGIONS)
    chunks.insert(2, (b"teSt", b"anything at all"))
    assert np.array_equal(regioncodec.decode(build(chunks)), regioncodec.decode(TWO_REGIONS))


def test_unknown_critical_chunk_is_refused() -> None:
    chunks = chunks_of(TWO_REGIONS)
    chunks.insert(2, (b"TEST", b""))
    refused(build(chunks), ChunkError, "unknown critical chunk b'TEST'")


@pytest.mark.parametrize("version", [0, 2, 255])
def test_other_versions_are_refused(version: int) -> None:
    refused(replace(SMALLEST, b"HEAD", head(version=version)), FormatError, f"unsupported .rgc version {version}")


@pytest.mark.parametrize(
    "fields, match",
    [
        (head(0, 1), "size 0x1"),
        (head(7, 0), "size 7x0"),
        (head(1, 65_501), "outside 1..65500"),
        (head(65_501, 1), "outside 1..65500"),
        (head(2**31, 2), "2147483648x2 is outside"),  # W x H = 2^32: overflows 32 bits
        (head(U32_MAX, U32_MAX), "outside 1..65500"),
        (head(mode=5), "mode code 5"),
        (head(mode=0), "mode code 0"),
        (head(block_size=12), "block size 12"),
        (head(block_size=0), "block size 0"),
        (head(mode=3), "block size 8 is not allowed for mode RGB"),
        (head(mode=4), "block size 8 is not allowed for mode RGBA"),
        (head(regions=0), "zero regions"),
    ],
)
def test_bad_header_fields_are_refused(fields: bytes, match: str) -> None:
    refused(replace(SMALLEST, b"HEAD", fields), FormatError, match)


def test_largest_image_is_over_the_default_pixel_limit() -> None:
    largest = replace(SMALLEST, b"HEAD", head(65_500, 65_500))
    refused(largest, LimitError, "4290250000 pixels, over the limit of 178956970")
    refused(largest, FormatError, "a 8188x8188 block grid needs 67043344", max_pixels=2**40)


def test_streams_are_checked_before_the_image_is_allocated() -> None:
    """A 65,500 x 65,500 header with a stream of the wrong size costs no image-sized memory (§11, §12)."""
    data = all_background(65_500, 65_500, 64, padded(grey_jpeg(8, 8), 65_536, 65_536))  # bytes enough for §6
    tracemalloc.start()
    try:
        refused(data, FormatError, "the container needs 1 component of 65536x65536", max_pixels=2**40)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, f"{peak >> 20} MB allocated"


@pytest.mark.parametrize("golden", [SMALLEST, TWO_REGIONS], ids=["grey", "rgb"])
def test_every_length_field_is_checked(golden: bytes) -> None:
    """Each chunk length and first stream length set to 0, one short, one over, one past the end, and 2^32-1."""

    def wrong(right: int, room: int) -> set[int]:
        return {0, right - 1, right + 1, room + 1, U32_MAX} - {right, -1}

    for offset in offsets_of(golden):
        (right,) = struct.unpack_from(">I", golden, offset)
        for value in wrong(right, len(golden) - offset - 12):
            refused(golden[:offset] + struct.pack(">I", value) + golden[offset + 4 :])
    chunks = chunks_of(golden)
    for index, (kind, body) in enumerate(chunks):
        if kind == b"LAYR":
            at = LAYR.size - 4  # the first stream's length closes the fields
            (right,) = struct.unpack_from(">I", body, at)
            for value in wrong(right, len(body) - LAYR.size):
                variant = chunks.copy()
                variant[index] = (kind, body[:at] + struct.pack(">I", value) + body[LAYR.size :])
                refused(build(variant))


def test_header_of_the_wrong_length_is_refused() -> None:
    refused(replace(SMALLEST, b"HEAD", head() + b"\0"), ChunkError, "HEAD chunk is 13 bytes")


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
        refused(build(variant), FormatError, match)


def test_bytes_after_done_are_refused() -> None:
    refused(SMALLEST + b"\0", FormatError, "follow the DONE chunk")


def test_done_with_data_is_refused() -> None:
    refused(replace(SMALLEST, b"DONE", b"x"), ChunkError, "DONE chunk at byte .* is not empty")


@pytest.mark.parametrize("kind", [b"HE4D", b"\0\0\0\0"])
def test_chunk_types_must_be_letters(kind: bytes) -> None:
    data = SMALLEST[:8] + struct.pack(">I", 0) + kind + struct.pack(">I", zlib.crc32(kind))
    refused(data, ChunkError, "ASCII letters")


def test_huge_chunk_length_is_refused_before_reading() -> None:
    data = bytearray(SMALLEST)
    data[8:12] = struct.pack(">I", 2**32 - 1)
    refused(bytes(data), ChunkError, "over 2\\^31-1")
    data[8:12] = struct.pack(">I", 2**31 - 1)
    refused(bytes(data), TruncatedError, "declares 2147483647 bytes")


@pytest.mark.parametrize(
    "body, match",
    [
        (b"not zstd", "not a zstd frame"),
        (frame(b"\0\0"), "declares 2 map bytes; a 1x1 block grid needs 1"),
        (frame(b"\0", content_size=False), "does not declare its content size"),
        (frame(b"\0") + b"x", "not exactly one frame"),
        (frame(b"\x05"), "names region 5"),
    ],
)
def test_bad_block_maps_are_refused(body: bytes, match: str) -> None:
    refused(replace(SMALLEST, b"BMAP", body), FormatError, match)


def test_block_map_declaring_a_huge_size_is_refused_before_decompressing() -> None:
    bomb = frame(bytes(10_000_000))
    assert len(bomb) < 1000
    refused(replace(SMALLEST, b"BMAP", bomb), FormatError, "declares 10000000 map bytes")
    assert bomb[4] == 0x80  # frame header descriptor: a window byte, then a 4-byte content size
    largest = bomb[:4] + b"\xc0" + bomb[5:6] + struct.pack("<Q", 2**64 - 2) + bomb[10:]  # an 8-byte one
    refused(replace(SMALLEST, b"BMAP", largest), FormatError, "declares 18446744073709551614 map bytes")


def test_block_map_holding_more_than_it_declares_is_refused() -> None:
    """A frame whose header says 1 byte but whose blocks hold 50 MB: zstd must stop at the declared size."""
    bomb = frame(bytes(50_000_000))
    assert bomb[4] == 0x80
    lying = bomb[:6] + struct.pack("<I", 1) + bomb[10:]
    refused(replace(SMALLEST, b"BMAP", lying), FormatError, "BMAP chunk at byte 32 is damaged")


def test_bad_layers_are_refused() -> None:
    chunks = chunks_of(SMALLEST)
    luma = container.read(SMALLEST).layers[0].streams[0]
    cases = {
        "shorter than its fields": layer(0)[:5],
        "unknown codec 9": layer(0, luma, codec=9),
        "quality 0": layer(0, luma, quality=0),
        "quality 101": layer(0, luma, quality=101),
        "declares a 1000-byte first stream": layer(0, luma, luma_length=1000),
        "scale 3": layer(0, luma, scale=3),
        "scale 0": layer(0, luma, scale=0),
        "codec webp carries a second stream": layer(0, luma, b"x", codec=2),
        "region 0 has blocks but no streams": layer(0),
        "greyscale image carries a chroma stream": layer(0, luma, b"x"),
        "no JPEG marker at byte 2": layer(0, b"\xff\xd8 garbage"),
        "not a JPEG stream": layer(0, b"GIF89a"),
        "has no EOI marker after its first scan: it is cut short": layer(0, luma[:-2]),
        "other than baseline or progressive": layer(0, luma.replace(b"\xff\xc0", b"\xff\xc9", 1)),
        "has 12-bit samples": layer(0, luma.replace(b"\xff\xc0\x00\x0b\x08", b"\xff\xc0\x00\x0b\x0c", 1)),
        "marker 0xFFD0 at byte 2": layer(0, luma[:2] + b"\xff\xd0" + luma[2:]),
        "no JPEG marker at byte 20": layer(0, luma[:20] + b"\0" + luma[20:]),
        "segment at byte 2 of length 65535, past its end": layer(0, luma[:4] + b"\xff\xff" + luma[6:]),
        "luma stream of region 0 is a 1-component JPEG of 16x8; the container needs 1 component of 8x8": layer(
            0, grey_jpeg(16, 8)
        ),
    }
    for match, body in cases.items():
        variant = [chunks[0], chunks[1], (b"LAYR", body), *chunks[3:]]
        refused(build(variant), FormatError, match)
    empty_region_with_data = [chunks[0], chunks[1], chunks[2], (b"LAYR", layer(1, luma, quality=90)), chunks[4]]
    refused(build(empty_region_with_data), FormatError, "region 1 has no blocks but carries streams")


@pytest.mark.parametrize("codec", [1, 2, 3], ids=["jpeg", "webp", "avif"])
def test_an_empty_layer_of_any_codec_leaves_the_map_bounded_by_the_streams(codec: int) -> None:
    """§6 applies when every layer that carries streams is JPEG: an empty WebP layer for an unused region turned
    the rule off, and a 477-byte file made the reader build an 8000 x 8000 image's 1 MB map."""
    blocks = 1000 * 1000
    chunks = [(b"HEAD", head(8000, 8000)), (b"BMAP", frame(bytes(blocks)))]
    data = build([*chunks, (b"LAYR", layer(0, grey_jpeg(8, 8))), (b"LAYR", layer(1, codec=codec)), (b"DONE", b"")])
    for read in (regioncodec.decode, regioncodec.read_info):
        refused(data, FormatError, "a 1000x1000 block grid needs at least 125000 bytes of JPEG streams", read=read)


def test_the_size_checked_is_the_size_libjpeg_reads() -> None:
    """A fill byte must not let a decoy frame header pass the size check while libjpeg allocates 32000 x 32000."""
    chunks = chunks_of(SMALLEST)
    luma = container.read(SMALLEST).layers[0].streams[0]
    bomb = disguised_jpeg(luma, 32_000, 32_000)
    assert len(bomb) < 50_000
    refused(build([*chunks[:2], (b"LAYR", layer(0, bomb)), *chunks[3:]]), FormatError, "marker 0xFFFF at byte 2")


def test_stream_over_opencvs_pixel_cap_is_a_limit_error() -> None:
    """With max_pixels raised past 10^9, a 65472 x 65472 mosaic is legal but more than OpenCV decodes."""
    luma = grey_jpeg(8, 8)
    sof = luma.index(b"\xff\xc0")
    big = luma[: sof + 5] + struct.pack(">HH", 65_472, 65_472) + luma[sof + 9 :]
    cap = "65472x65472 = 4286582784 pixels; OpenCV decodes at most 1073741824"
    refused(all_background(65_472, 65_472, 64, padded(big, 65_472, 65_472)), LimitError, cap, max_pixels=2**33)


DECODE_STDIN = """
import sys, regioncodec
try:
    regioncodec.decode(sys.stdin.buffer.read())
except Exception as exc:
    print(repr(exc))
"""


def test_opencv_refusing_a_stream_is_a_format_error() -> None:
    """OpenCV's limits can be lowered from the environment; its cv2.error must not escape decode."""
    env = {**os.environ, "OPENCV_IO_MAX_IMAGE_PIXELS": "16"}
    done = subprocess.run(
        [sys.executable, "-c", DECODE_STDIN], input=TWO_REGIONS, capture_output=True, env=env, check=True
    )
    assert done.stdout.decode().startswith("FormatError('luma stream of region 0 was refused by OpenCV: pixels <=")


def test_rgb_layer_needs_its_chroma_stream() -> None:
    chunks = chunks_of(TWO_REGIONS)
    luma = container.read(TWO_REGIONS).layers[0].streams[0]
    variant = [*chunks[:2], (b"LAYR", layer(0, luma)), *chunks[3:]]
    refused(build(variant), FormatError, "lacks its chroma stream")


def test_colour_jpeg_where_a_plane_belongs_is_refused() -> None:
    chunks = chunks_of(SMALLEST)
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "JPEG")
    variant = [chunks[0], chunks[1], (b"LAYR", layer(0, out.getvalue())), *chunks[3:]]
    refused(build(variant), FormatError, "is a 3-component JPEG of 8x8")


def test_alpha_golden_file() -> None:
    out = regioncodec.decode(ALPHA_METADATA)
    assert out.shape == (16, 32, 4)
    expected_alpha = np.tile((np.arange(32) * 8).astype(np.uint8), (16, 1))
    expected_alpha[4:12, 20:28] = 0
    assert np.array_equal(out[..., 3], expected_alpha)  # lossless
    assert np.abs(out[0, 0, :3].astype(int) - (200, 40, 40)).max() <= 6
    as_rgb = [
        (b"HEAD", container.HEAD_FIELDS.pack(1, 32, 16, 3, 16, 2)) if k == b"HEAD" else (k, b)
        for k, b in chunks_of(ALPHA_METADATA)
        if k != b"ALPH"
    ]
    assert np.array_equal(out[..., :3], regioncodec.decode(build(as_rgb)))  # colour is coded as without alpha
    kinds = [k for k, _ in chunks_of(ALPHA_METADATA)]
    assert kinds == [b"HEAD", b"exif", b"iccp", b"xmpd", b"BMAP", b"ALPH", b"LAYR", b"LAYR", b"DONE"]
    assert dict(chunks_of(ALPHA_METADATA))[b"ALPH"][0] == 1  # filter 1: left difference


def test_alpha_filter_is_the_left_difference() -> None:
    plane = np.array([[10, 5, 255, 0], [0, 1, 2, 3]], np.uint8)
    data = container.alpha_data(plane)
    residual = zstandard.ZstdDecompressor().decompress(data[1:])
    assert residual == bytes([10, 251, 250, 1, 0, 1, 1, 1])
    header = container.Header(4, 2, "LA", 8, 2)
    assert np.array_equal(container.alpha_plane(data, header), plane)


def test_metadata_golden_chunks() -> None:
    chunks = dict(chunks_of(ALPHA_METADATA))
    metadata = regioncodec.read_metadata(ALPHA_METADATA)
    assert chunks[b"exif"][:4] == b"MM\0*" and metadata.exif == b"Exif\0\0" + chunks[b"exif"]
    assert metadata.icc_profile == chunks[b"iccp"] and chunks[b"iccp"][36:40] == b"acsp"
    assert metadata.xmp == chunks[b"xmpd"] and metadata.xmp.startswith(b"<x:xmpmeta")
    exif = Image.Exif()
    exif.load(metadata.exif)
    assert exif[0x0112] == 6 and exif[0x010F] == "regioncodec"


def test_files_without_alpha_or_metadata_have_no_new_chunks() -> None:
    """Alpha and metadata cost nothing when absent: the file is what issue 2 wrote, with issue 12's DBLK."""
    image = np.zeros((16, 32, 3), np.uint8)
    kinds = [k for k, _ in chunks_of(regioncodec.encode(image))]
    assert kinds == [b"HEAD", b"BMAP", b"DBLK", b"LAYR", b"LAYR", b"DONE"]
    kinds = [k for k, _ in chunks_of(regioncodec.encode(image, deblock=False))]
    assert kinds == [b"HEAD", b"BMAP", b"LAYR", b"LAYR", b"DONE"]


def alpha_chunks() -> list[tuple[bytes, bytes]]:
    return chunks_of(ALPHA_METADATA)


def without(chunks: list[tuple[bytes, bytes]], *kinds: bytes) -> list[tuple[bytes, bytes]]:
    return [(k, b) for k, b in chunks if k not in kinds]


def test_alpha_chunk_rules() -> None:
    chunks = without(alpha_chunks(), b"exif", b"iccp", b"xmpd")
    assert [k for k, _ in chunks] == [b"HEAD", b"BMAP", b"ALPH", b"LAYR", b"LAYR", b"DONE"]
    head, bmap, alph, layr0, layr1, done = chunks
    rgb_head = (b"HEAD", container.HEAD_FIELDS.pack(1, 32, 16, 3, 16, 2))
    cases = {
        "mode RGBA has no ALPH chunk": [head, bmap, done],
        "LAYR chunk at byte .* comes before the ALPH chunk": [head, bmap, layr0, alph, layr1, done],
        "ALPH chunk at byte .* comes before the BMAP chunk": [head, alph, bmap, layr0, layr1, done],
        "second ALPH chunk": [head, bmap, alph, alph, layr0, layr1, done],
        "mode RGB, which has no alpha": [rgb_head, bmap, alph, layr0, layr1, done],
    }
    for match, variant in cases.items():
        with pytest.raises(ChunkError, match=match):
            regioncodec.decode(build(variant))


@pytest.mark.parametrize(
    "body, match",
    [
        (b"", "uses filter none"),
        (b"\0" + frame(bytes(512)), "uses filter 0; only 1 is defined"),
        (b"\2" + frame(bytes(512)), "uses filter 2"),
        (b"\1not zstd", "not a zstd frame"),
        (b"\1" + frame(bytes(511)), "declares 511 alpha bytes; a 32x16 image needs 512"),
        (b"\1" + frame(bytes(512), content_size=False), "does not declare its content size"),
        (b"\1" + frame(bytes(512)) + b"x", "not exactly one frame"),
        (b"\1" + frame(bytes(512))[:-3], "damaged|not exactly one frame"),
    ],
)
def test_bad_alpha_planes_are_refused(body: bytes, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        regioncodec.decode(replace(ALPHA_METADATA, b"ALPH", body))


def test_alpha_plane_declaring_a_huge_size_is_refused_before_decompressing() -> None:
    bomb = b"\1" + frame(bytes(100_000_000))
    assert len(bomb) < 10_000
    with pytest.raises(FormatError, match="declares 100000000 alpha bytes"):
        regioncodec.read_info(replace(ALPHA_METADATA, b"ALPH", bomb))


def test_metadata_chunk_rules() -> None:
    chunks = alpha_chunks()
    head, exif, iccp, xmpd, bmap, *rest = chunks
    cases = {
        "exif chunk at byte .* comes after the BMAP chunk": [head, iccp, xmpd, bmap, exif, *rest],
        "second iccp chunk": [head, exif, iccp, iccp, xmpd, bmap, *rest],
        "exif chunk at byte .* is empty": [head, (b"exif", b""), bmap, *rest],
        "exif chunk at byte .* does not start with a TIFF header": [head, (b"exif", b"Exif\0\0MM\0*"), bmap, *rest],
        "iccp chunk at byte .* is not an ICC profile": [head, (b"iccp", iccp[1][:127]), bmap, *rest],
        "iccp chunk .*no 'acsp' signature": [head, (b"iccp", bytes(200)), bmap, *rest],
        "xmpd chunk at byte .* is not UTF-8": [head, (b"xmpd", b"\xff\xfe"), bmap, *rest],
    }
    for match, variant in cases.items():
        with pytest.raises(FormatError, match=match):
            regioncodec.decode(build(variant))
        with pytest.raises(FormatError, match=match):
            regioncodec.read_info(build(variant))


def test_metadata_chunks_are_ancillary_to_old_readers() -> None:
    """A reader that knows none of the three skips them: the pixels are the same."""
    renamed = [(k.replace(b"xmpd", b"xmpz").replace(b"exif", b"exiz"), b) for k, b in alpha_chunks()]
    assert np.array_equal(regioncodec.decode(build(renamed)), regioncodec.decode(ALPHA_METADATA))
    assert regioncodec.read_metadata(build(renamed)).as_dict().keys() == {"icc_profile"}


def test_read_front_stops_before_the_block_map() -> None:
    """Header and metadata come from the front of the file: the rest need not even be there."""
    chunks = alpha_chunks()
    front = build(chunks[:4])
    bmap_head = ALPHA_METADATA[len(front) : len(front) + 8]
    header, metadata = container.read_front(io.BytesIO(front + bmap_head))
    assert (header.width, header.height, header.mode) == (32, 16, "RGBA")
    assert metadata == regioncodec.read_metadata(ALPHA_METADATA)
    stream = io.BytesIO(ALPHA_METADATA)
    container.read_front(stream)
    assert stream.tell() == len(front) + 8  # BMAP's length and type, not its data


def test_read_front_checks_what_it_reads() -> None:
    with pytest.raises(TruncatedError):
        container.read_front(io.BytesIO(ALPHA_METADATA[:60]))
    damaged = bytearray(ALPHA_METADATA)
    damaged[40] ^= 1  # inside the exif chunk
    with pytest.raises(ChunkError, match="exif chunk at byte 32 fails its CRC check"):
        container.read_front(io.BytesIO(bytes(damaged)))


def test_lying_chunk_length_in_a_stream_reads_only_what_is_there() -> None:
    """A length near 2^31 backed by no bytes is found short without reading (or allocating) 2 GiB."""

    class Counting(io.BytesIO):
        largest = 0

        def read(self, size: int | None = -1) -> bytes:
            Counting.largest = max(Counting.largest, size or 0)
            return super().read(size)

    data = bytearray(ALPHA_METADATA)
    data[32:36] = struct.pack(">I", 2**31 - 1)  # the exif chunk's length
    with pytest.raises(TruncatedError, match="declares 2147483647 bytes but the file ends first"):
        container.read_front(Counting(bytes(data)))
    assert Counting.largest <= container.READ_PIECE
