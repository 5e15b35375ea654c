"""Build .rgc files byte by byte from spec/format.md, right or deliberately wrong.

Written from the spec alone, not with regioncodec.container, so that a bug in
the writer cannot hide the same bug in the reader: any HEAD/BMAP/LAYR/DONE
combination, with any field, length or CRC, for tests and the fuzz harness.
"""

from __future__ import annotations

import io
import struct
import time
import zlib
from collections.abc import Callable

import pytest
import zstandard
from PIL import Image

import regioncodec

SIGNATURE = b"\x89RGC\r\n\x1a\n"  # §3
CHUNK = struct.Struct(">I4s")  # §4: length, type; then data and a u32 CRC of type and data
HEAD = struct.Struct(">BIIBBB")  # §5: version, width, height, mode, block size, regions
LAYR = struct.Struct(">BBBBI")  # §7: region, codec, quality, scale, first stream's length
U32_MAX = 2**32 - 1
TIME_LIMIT = 1.0  # seconds any file may take to be refused: far above the milliseconds it takes, a guard for hangs

Chunks = list[tuple[bytes, bytes]]


def chunk(kind: bytes, data: bytes, *, length: int | None = None, crc: int | None = None) -> bytes:
    """One chunk (§4); length and crc default to the right values."""
    right_crc = zlib.crc32(kind + data)
    return (
        CHUNK.pack(len(data) if length is None else length, kind)
        + data
        + struct.pack(">I", right_crc if crc is None else crc)
    )


def head(
    width: int = 1, height: int = 1, *, mode: int = 1, block_size: int = 8, regions: int = 2, version: int = 1
) -> bytes:
    """HEAD data (§5): by default that of the spec's smallest file."""
    return HEAD.pack(version, width, height, mode, block_size, regions)


def frame(payload: bytes, *, content_size: bool = True) -> bytes:
    """A zstd frame of payload, declaring its size or not (§6)."""
    return zstandard.ZstdCompressor(write_content_size=content_size).compress(payload)


def layer(
    region: int,
    luma: bytes = b"",
    chroma: bytes = b"",
    *,
    codec: int = 1,
    quality: int = 30,
    scale: int = 1,
    luma_length: int | None = None,
) -> bytes:
    """LAYR data (§7): luma (or a canvas) is the first stream, chroma the second; luma_length defaults to luma's."""
    length = len(luma) if luma_length is None else luma_length
    return LAYR.pack(region, codec, quality, scale, length) + luma + chroma


def all_background(width: int, height: int, block_size: int, luma: bytes) -> bytes:
    """A greyscale file whose every block is region 0, coded by the luma stream given; region 1 is empty."""
    blocks = -(-width // block_size) * -(-height // block_size)
    chunks = [(b"HEAD", head(width, height, block_size=block_size)), (b"BMAP", frame(bytes(blocks)))]
    return build([*chunks, (b"LAYR", layer(0, luma)), (b"LAYR", layer(1)), (b"DONE", b"")])


def grey_jpeg(width: int, height: int, value: int = 128) -> bytes:
    """A flat greyscale baseline JPEG (one component), as a layer stream."""
    out = io.BytesIO()
    Image.new("L", (width, height), value).save(out, "JPEG")
    return out.getvalue()


def padded(stream: bytes, rows: int, cols: int) -> bytes:
    """stream with zero bytes after its end, up to the bit per 8x8 block a rows x cols JPEG needs (§7.2)."""
    needed = -(-(-(-rows // 8) * -(-cols // 8)) // 8)
    return stream + bytes(max(0, needed - len(stream)))


def disguised_jpeg(stream: bytes, rows: int, cols: int) -> bytes:
    """stream given a rows x cols frame header that libjpeg reads but a marker walk blind to fill bytes skips.

    After SOI come a fill byte (0xFF) and the real SOF0. A walk that takes the
    fill byte for a marker reads SOF0's code as a length of 0xC000 and lands
    on stream's own frame header, hidden where libjpeg skips an APP1 segment.
    """
    sof = stream.index(b"\xff\xc0")
    decoy = stream[sof : sof + 2 + int.from_bytes(stream[sof + 2 : sof + 4], "big")]
    real = b"\xff\xff\xc0\x00\x0b\x08" + struct.pack(">HH", rows, cols) + b"\x01\x01\x11\x00"
    landing = 2 + 2 + 0xC000  # where the blind walk goes from the fill byte at offset 2
    app1_data = bytes(landing - (2 + len(real) + 4)) + decoy
    app1 = b"\xff\xe1" + struct.pack(">H", len(app1_data) + 2) + app1_data
    return stream[:2] + real + app1 + stream[2:sof] + stream[sof + len(decoy) :]


def chunks_of(data: bytes) -> Chunks:
    """(type, data) of every chunk of a well-formed file, for building variants of it."""
    out, offset = [], len(SIGNATURE)
    while offset < len(data):
        length, kind = CHUNK.unpack_from(data, offset)
        out.append((kind, data[offset + CHUNK.size : offset + CHUNK.size + length]))
        offset += CHUNK.size + length + 4
    return out


def offsets_of(data: bytes) -> list[int]:
    """Byte offset of every chunk of a well-formed file."""
    out, offset = [], len(SIGNATURE)
    while offset < len(data):
        out.append(offset)
        offset += CHUNK.size + CHUNK.unpack_from(data, offset)[0] + 4
    return out


def build(chunks: Chunks) -> bytes:
    """A file of these chunks, each with a right length and CRC."""
    return SIGNATURE + b"".join(chunk(kind, data) for kind, data in chunks)


def replace(data: bytes, kind: bytes, body: bytes) -> bytes:
    """data with the first chunk of type kind given a new body (and a right CRC)."""
    chunks = chunks_of(data)
    index = [k for k, _ in chunks].index(kind)
    chunks[index] = (kind, body)
    return build(chunks)


def fix_crcs(data: bytes) -> bytes:
    """data with the CRC of every whole chunk made right, as far as the lengths can be followed.

    Damage then reaches the checks behind the CRC, as in PNG fuzzers.
    """
    out = bytearray(data)
    offset = len(SIGNATURE)
    while offset + CHUNK.size <= len(out):
        end = offset + CHUNK.size + int.from_bytes(out[offset : offset + 4], "big")
        if end + 4 > len(out):
            break
        out[end : end + 4] = struct.pack(">I", zlib.crc32(out[offset + 4 : end]))
        offset = end + 4
    return bytes(out)


def refused(
    data: bytes,
    error: type[Exception] = regioncodec.RegionCodecError,
    match: str | None = None,
    *,
    read: Callable[..., object] = regioncodec.decode,
    **options: int,
) -> regioncodec.RegionCodecError:
    """Assert that read (decode) refuses data with error (matching match) within TIME_LIMIT; return the error."""
    start = time.perf_counter()
    with pytest.raises(error, match=match) as caught:
        read(data, **options)
    elapsed = time.perf_counter() - start
    assert elapsed < TIME_LIMIT, f"refusing took {elapsed:.2f} s"
    assert isinstance(caught.value, regioncodec.RegionCodecError) and str(caught.value)
    return caught.value
