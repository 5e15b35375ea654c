"""The .rgc container: the only module that knows byte offsets.

Every constant cites the section of spec/format.md that defines it; the reader
follows the spec's decoding steps and checks every size against the bytes
present before anything is allocated.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import zstandard

from .errors import ChunkError, FormatError, LimitError, TruncatedError

SIGNATURE = b"\x89RGC\r\n\x1a\n"  # §3: high bit, CR-LF, ^Z, LF catch damaged transfers
VERSION = 1  # §5: the only version this reader accepts

CHUNK_HEAD = struct.Struct(">I4s")  # §4: length, type
CHUNK_CRC = struct.Struct(">I")  # §4: CRC-32 of type and data
CHUNK_OVERHEAD = CHUNK_HEAD.size + CHUNK_CRC.size  # §4: 12 bytes around the data
MAX_CHUNK_LENGTH = 2**31 - 1  # §4: as PNG, so a length never needs more than 31 bits
ANCILLARY_BIT = 0x20  # §4: lower-case first letter = ancillary, safe to skip

HEAD = b"HEAD"  # §5
BMAP = b"BMAP"  # §6
LAYR = b"LAYR"  # §7
DONE = b"DONE"  # §8

HEAD_FIELDS = struct.Struct(">BIIBBB")  # §5: version, width, height, mode, block size, regions
LAYR_FIELDS = struct.Struct(">BBBBI")  # §7: region, codec, quality, scale, first stream length

MAX_DIMENSION = 65_500  # §10: JPEG's own limit on either side (libjpeg JPEG_MAX_DIMENSION)
DEFAULT_MAX_PIXELS = 178_956_970  # §10: Pillow's decompression-bomb limit, same reasoning
BLOCK_SIZES = (8, 16, 32, 64)  # §5: multiples of the 8x8 DCT block
MIN_COLOUR_BLOCK = 16  # §5: a 4:2:0 MCU is 16x16, so colour blocks are never smaller
MODE_CODES = {1: "L", 3: "RGB"}  # §5: the value is the number of channels
CODEC_CODES = {1: "jpeg", 2: "webp", 3: "avif"}  # §7
PLANE_CODECS = ("jpeg",)  # §7.1: mosaics of raw planes, one stream per plane
CANVAS_CODECS = ("webp", "avif")  # §7.5: one colour picture of the region's bounding box
SCALES = (1, 2, 4)  # §7: a layer's pixels may be coded at 1/scale of the image's resolution
BMAP_ZSTD_LEVEL = 12  # §6: within ~25 bytes of level 19 on real maps, 30x faster (19 costs ~1.5 ms to set up)
COUNT_SLICE = 1 << 20  # map bytes counted at a time: bincount's int64 temporaries stay at 8 MB


@dataclass(frozen=True)
class Header:
    """The HEAD chunk: what the image is and how it was cut into blocks."""

    width: int
    height: int
    mode: str
    block_size: int
    regions: int

    @property
    def grid_shape(self) -> tuple[int, int]:
        """Rows and columns of blocks covering the image (edge blocks may stick out)."""
        b = self.block_size
        return -(-self.height // b), -(-self.width // b)


@dataclass(frozen=True)
class Layer:
    """One LAYR chunk: the coded pixels of one region.

    streams holds, for JPEG, the luma stream and (RGB) the chroma stream, and
    for WebP and AVIF the one picture; it is empty when the block map gives
    the region no blocks. scale is how much the layer's pixels were reduced.
    """

    region: int
    codec: str
    quality: int
    scale: int
    streams: tuple[bytes, ...]

    @property
    def payload_bytes(self) -> int:
        """Bytes of coded pixels in this layer."""
        return sum(len(s) for s in self.streams)


@dataclass(frozen=True)
class Container:
    """Everything a .rgc file holds that a decoder needs."""

    header: Header
    block_map: np.ndarray  # uint8, grid_shape, region index per block
    layers: tuple[Layer, ...]


def pack_chunk(kind: bytes, data: bytes) -> bytes:
    """One chunk: length, type, data, CRC-32 of type and data (§4)."""
    crc = zlib.crc32(data, zlib.crc32(kind))
    return CHUNK_HEAD.pack(len(data), kind) + data + CHUNK_CRC.pack(crc)


def write(container: Container) -> bytes:
    """The bytes of a .rgc file (§9 gives the order)."""
    h = container.header
    mode = {v: k for k, v in MODE_CODES.items()}[h.mode]
    head = HEAD_FIELDS.pack(VERSION, h.width, h.height, mode, h.block_size, h.regions)
    parts = [SIGNATURE, pack_chunk(HEAD, head), pack_chunk(BMAP, _compress_map(container.block_map))]
    parts += [pack_chunk(LAYR, _layer_data(layer)) for layer in container.layers]
    parts.append(pack_chunk(DONE, b""))
    return b"".join(parts)


def read(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Container:
    """Parse and check a whole .rgc file without decoding any pixels (§9)."""
    chunks = _chunks(data)
    header = _read_head(next(chunks, None), max_pixels)
    block_map: np.ndarray | None = None
    layers: list[Layer] = []
    counts: np.ndarray | None = None  # blocks per region, once the map is read
    for kind, body, offset in chunks:
        if kind == DONE:
            return _finish(header, block_map, layers, body, offset, len(data))
        if kind == HEAD:
            raise ChunkError(f"second HEAD chunk at byte {offset}")
        if kind == BMAP:
            if block_map is not None:
                raise ChunkError(f"second BMAP chunk at byte {offset}")
            block_map = _read_map(body, header, offset)
            counts = block_counts(block_map, header.regions)
        elif kind == LAYR:
            if counts is None:
                raise ChunkError(f"LAYR chunk at byte {offset} comes before the BMAP chunk")
            layers.append(_read_layer(body, header, counts, len(layers), offset))
        elif not kind[0] & ANCILLARY_BIT:
            raise ChunkError(f"unknown critical chunk {kind!r} at byte {offset}")
    raise TruncatedError("file ends before its DONE chunk")


def read_header(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Header:
    """Parse only the signature and HEAD chunk: a cheap look at size and mode."""
    return _read_head(next(_chunks(data), None), max_pixels)


def _chunks(data: bytes) -> Iterator[tuple[bytes, bytes, int]]:
    """Yield (type, data, offset) for each chunk after checking its length and CRC (§4)."""
    view = memoryview(data)
    if bytes(view[: len(SIGNATURE)]) != SIGNATURE[: len(view)] or not len(view):
        raise FormatError("not an .rgc file: the first 8 bytes are not the .rgc signature")
    if len(view) < len(SIGNATURE):
        raise TruncatedError(f"file is {len(view)} bytes, shorter than the 8-byte signature")
    offset = len(SIGNATURE)
    while offset < len(view):
        if len(view) - offset < CHUNK_HEAD.size:
            raise TruncatedError(f"chunk header at byte {offset} is cut off")
        length, kind = CHUNK_HEAD.unpack_from(view, offset)
        if not kind.isalpha() or not kind.isascii():
            raise ChunkError(f"chunk type {kind!r} at byte {offset} is not four ASCII letters")
        if length > MAX_CHUNK_LENGTH:
            raise ChunkError(f"{kind.decode()} chunk at byte {offset} declares {length} bytes, over 2^31-1")
        end = offset + CHUNK_HEAD.size + length
        if end + CHUNK_CRC.size > len(view):
            raise TruncatedError(
                f"{kind.decode()} chunk at byte {offset} declares {length} bytes but the file ends first"
            )
        body = bytes(view[offset + CHUNK_HEAD.size : end])
        (crc,) = CHUNK_CRC.unpack_from(view, end)
        if crc != zlib.crc32(body, zlib.crc32(kind)):
            raise ChunkError(f"{kind.decode()} chunk at byte {offset} fails its CRC check")
        yield kind, body, offset
        offset = end + CHUNK_CRC.size


def _read_head(chunk: tuple[bytes, bytes, int] | None, max_pixels: int) -> Header:
    """Check the HEAD chunk field by field against §5 and the limits of §10."""
    if chunk is None:
        raise TruncatedError("file ends after the signature, before its HEAD chunk")
    kind, body, offset = chunk
    if kind != HEAD:
        raise ChunkError(f"first chunk is {kind!r}, not HEAD")
    if body and body[0] != VERSION:
        raise FormatError(f"unsupported .rgc version {body[0]} (this reader knows version {VERSION})")
    if len(body) != HEAD_FIELDS.size:
        raise ChunkError(f"HEAD chunk is {len(body)} bytes, not {HEAD_FIELDS.size}")
    _, width, height, mode_code, block_size, regions = HEAD_FIELDS.unpack(body)
    if not (1 <= width <= MAX_DIMENSION and 1 <= height <= MAX_DIMENSION):
        raise FormatError(f"image size {width}x{height} is outside 1..{MAX_DIMENSION} on a side")
    if width * height > max_pixels:
        raise LimitError(
            f"image is {width}x{height} = {width * height} pixels, over the limit of {max_pixels}"
            " (raise max_pixels if you trust this file)"
        )
    if mode_code not in MODE_CODES:
        raise FormatError(f"unknown mode code {mode_code} in HEAD")
    mode = MODE_CODES[mode_code]
    if block_size not in BLOCK_SIZES or (mode == "RGB" and block_size < MIN_COLOUR_BLOCK):
        raise FormatError(f"block size {block_size} is not allowed for mode {mode}")
    if regions < 1:
        raise FormatError("HEAD declares zero regions")
    return Header(width, height, mode, block_size, regions)


def _compress_map(block_map: np.ndarray) -> bytes:
    """zstd frame of the block map, with its content size written (§6)."""
    compressor = zstandard.ZstdCompressor(level=BMAP_ZSTD_LEVEL, write_content_size=True)
    return compressor.compress(np.ascontiguousarray(block_map, dtype=np.uint8).tobytes())


def _read_map(body: bytes, header: Header, offset: int) -> np.ndarray:
    """Decompress the block map, trusting no size the frame declares (§6)."""
    rows, cols = header.grid_shape
    expected = rows * cols
    try:
        declared = zstandard.get_frame_parameters(body).content_size
    except zstandard.ZstdError as exc:
        raise FormatError(f"BMAP chunk at byte {offset} is not a zstd frame: {exc}") from None
    if declared == zstandard.CONTENTSIZE_UNKNOWN:
        raise FormatError(f"BMAP chunk at byte {offset} does not declare its content size")
    if declared != expected:
        raise FormatError(
            f"BMAP chunk at byte {offset} declares {declared} map bytes; a {rows}x{cols} block grid needs {expected}"
        )
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    try:
        raw = decompressor.decompress(body)
    except zstandard.ZstdError as exc:
        raise FormatError(f"BMAP chunk at byte {offset} is damaged: {exc}") from None
    if len(raw) != expected or not decompressor.eof or decompressor.unused_data:
        raise FormatError(f"BMAP chunk at byte {offset} is not exactly one frame of {expected} bytes")
    block_map = np.frombuffer(raw, dtype=np.uint8).reshape(rows, cols)
    if int(block_map.max()) >= header.regions:
        raise FormatError(f"BMAP names region {int(block_map.max())} but HEAD declares {header.regions} regions")
    return block_map


def _layer_data(layer: Layer) -> bytes:
    """The data of a LAYR chunk (§7)."""
    codec = {v: k for k, v in CODEC_CODES.items()}[layer.codec]
    first = layer.streams[0] if layer.streams else b""
    fields = LAYR_FIELDS.pack(layer.region, codec, layer.quality, layer.scale, len(first))
    return fields + b"".join(layer.streams)


def block_counts(block_map: np.ndarray, regions: int) -> np.ndarray:
    """How many blocks the map gives each of the regions (every value must be below regions)."""
    flat = block_map.reshape(-1)
    counts = np.zeros(regions, np.int64)
    for start in range(0, flat.size, COUNT_SLICE):
        counts += np.bincount(flat[start : start + COUNT_SLICE], minlength=regions)
    return counts


def _read_layer(body: bytes, header: Header, counts: np.ndarray, index: int, offset: int) -> Layer:
    """Check one LAYR chunk against §7 and the number of blocks the map gives each region."""
    if len(body) < LAYR_FIELDS.size:
        raise ChunkError(f"LAYR chunk at byte {offset} is {len(body)} bytes, shorter than its fields")
    region, code, quality, scale, first_length = LAYR_FIELDS.unpack_from(body)
    if index >= header.regions:
        raise ChunkError(f"LAYR chunk at byte {offset} is one more than the {header.regions} declared")
    if region != index:
        raise ChunkError(f"LAYR chunk at byte {offset} is for region {region}; region {index} comes next")
    if code not in CODEC_CODES:
        raise FormatError(f"LAYR chunk at byte {offset} uses unknown codec {code}")
    if not 1 <= quality <= 100:
        raise FormatError(f"LAYR chunk at byte {offset} has quality {quality}, outside 1..100")
    if scale not in SCALES:
        raise FormatError(f"LAYR chunk at byte {offset} has scale {scale}, not one of {SCALES}")
    rest = len(body) - LAYR_FIELDS.size
    if first_length > rest:
        raise TruncatedError(
            f"LAYR chunk at byte {offset} declares a {first_length}-byte first stream; {rest} are present"
        )
    first = body[LAYR_FIELDS.size : LAYR_FIELDS.size + first_length]
    second = body[LAYR_FIELDS.size + first_length :]
    codec = CODEC_CODES[code]
    streams = _streams(header.mode, codec, first, second)
    has_blocks = bool(counts[region])
    if has_blocks != bool(streams):
        state = "has blocks but no streams" if has_blocks else "has no blocks but carries streams"
        raise FormatError(f"region {region} {state} (LAYR chunk at byte {offset})")
    return Layer(region, codec, quality, scale, streams)


def _streams(mode: str, codec: str, first: bytes, second: bytes) -> tuple[bytes, ...]:
    """The streams a layer must carry (§7): none; or for JPEG luma, plus chroma for RGB; or one picture."""
    if not first and not second:
        return ()
    if not first:
        raise FormatError("LAYR has a second stream but no first one")
    if codec in CANVAS_CODECS:
        if second:
            raise FormatError(f"LAYR of codec {codec} carries a second stream")
        return (first,)
    if mode == "L":
        if second:
            raise FormatError("LAYR of a greyscale image carries a chroma stream")
        return (first,)
    if not second:
        raise FormatError("LAYR of an RGB image lacks its chroma stream")
    return (first, second)


def _finish(
    header: Header, block_map: np.ndarray | None, layers: list[Layer], body: bytes, offset: int, size: int
) -> Container:
    """Apply the end-of-file rules of §8 and §9 once DONE is reached."""
    if body:
        raise ChunkError(f"DONE chunk at byte {offset} is not empty")
    if offset + CHUNK_OVERHEAD != size:
        raise FormatError(f"{size - offset - CHUNK_OVERHEAD} bytes follow the DONE chunk")
    if block_map is None:
        raise ChunkError("file has no BMAP chunk")
    if len(layers) != header.regions:
        raise ChunkError(f"file has {len(layers)} LAYR chunks; HEAD declares {header.regions}")
    layouts = {layer.codec in PLANE_CODECS for layer in layers if layer.streams}
    if len(layouts) > 1:
        raise FormatError("file mixes JPEG layers with WebP or AVIF layers")
    return Container(header, block_map, tuple(layers))
