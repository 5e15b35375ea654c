"""The .rgc container: the only module that knows byte offsets.

Every constant cites the section of spec/format.md that defines it; the reader
follows the spec's decoding steps and checks every size against the bytes
present before anything is allocated.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import zstandard

from .codecs import BY_CODE, CANVAS, CODECS
from .errors import ChunkError, FormatError, LimitError, OptionError, TruncatedError

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
ALPH = b"ALPH"  # §8
DBLK = b"DBLK"  # §7.8
DONE = b"DONE"  # §10
EXIF, ICCP, XMPD = b"exif", b"iccp", b"xmpd"  # §9: ancillary

HEAD_FIELDS = struct.Struct(">BIIBBB")  # §5: version, width, height, mode, block size, regions
LAYR_FIELDS = struct.Struct(">BBBBI")  # §7: region, codec, quality, scale, first stream length
DBLK_FIELDS = struct.Struct(">BBB")  # §7.8: method, A, B

MAX_DIMENSION = 65_500  # §12: JPEG's own limit on either side (libjpeg JPEG_MAX_DIMENSION)
DEFAULT_MAX_PIXELS = 178_956_970  # §12: Pillow's decompression-bomb limit, same reasoning
READ_PIECE = 1 << 24  # §12: chunks are read 16 MiB at a time, so a lying length costs no more than that
BLOCK_SIZES = (8, 16, 32, 64)  # §5: multiples of the 8x8 DCT block
MIN_COLOUR_BLOCK = 16  # §5: a 4:2:0 MCU is 16x16, so colour blocks are never smaller
MODE_CODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}  # §5: the value is the number of channels
SCALES = (1, 2, 4)  # §7: a layer's pixels may be coded at 1/scale of the image's resolution
BMAP_ZSTD_LEVEL = 12  # §6: within ~25 bytes of level 19 on real maps, 30x faster (19 costs ~1.5 ms to set up)
COUNT_SLICE = 1 << 20  # map bytes counted at a time: bincount's int64 temporaries stay at 8 MB
JPEG_CODE = 1  # §7: the LAYR codec byte of JPEG mosaics, the one layout whose bytes bound its blocks (§6)
DCT_SIDE = 8  # §6, §7.2: a JPEG stream codes 8x8 blocks, each with at least one bit (its DC difference)
CHROMA_SHARE = 1.5  # §6: Cb and Cr mosaics add half the luma mosaic's samples in modes 3 and 4
ALPHA_FILTER = 1  # §8: each alpha byte minus its left neighbour, as PNG's Sub filter
ALPHA_ZSTD_LEVEL = 9  # §8: a third the size of level 3 on soft edges, a few ms per megapixel
METADATA_FIELDS = {EXIF: "exif", ICCP: "icc_profile", XMPD: "xmp"}  # §9: chunk type -> Metadata field
EXIF_APP1_PREFIX = b"Exif\0\0"  # §9.1: what JPEG's APP1 (and Pillow's Image.info) puts before the TIFF data
TIFF_HEADERS = (b"II*\0", b"MM\0*")  # §9.1: little- and big-endian TIFF byte order marks
ICC_HEADER_SIZE = 128  # §9.2: an ICC profile's fixed header
ICC_SIGNATURE = (36, b"acsp")  # §9.2: offset and value of the profile file signature
DEBLOCK_METHODS = (1,)  # §7.8: 1 = the ramp filter of §11.8
DEBLOCK_A = range(1, 17)  # §7.8: the alpha factor, in eighths of an edge's strength
DEBLOCK_B = range(1, 16)  # §7.8: the beta factor, in sixteenths; at most 15, so beta stays below 255


@dataclass(frozen=True)
class Header:
    """The HEAD chunk: what the image is and how it was cut into blocks."""

    width: int
    height: int
    mode: str  # L, LA, RGB or RGBA
    block_size: int
    regions: int

    @property
    def grid_shape(self) -> tuple[int, int]:
        """Rows and columns of blocks covering the image (edge blocks may stick out)."""
        b = self.block_size
        return -(-self.height // b), -(-self.width // b)

    @property
    def colour(self) -> str:
        """The mode of the region-coded pixels: L or RGB (alpha lives in its own chunk)."""
        return self.mode.removesuffix("A")

    @property
    def has_alpha(self) -> bool:
        """Whether the image has an alpha channel, stored losslessly in the ALPH chunk (§8)."""
        return self.mode.endswith("A")


@dataclass(frozen=True)
class Metadata:
    """What the ancillary metadata chunks hold (§9); None where the file has none.

    exif is in the form JPEG's APP1 segment and Pillow's Image.info["exif"] use:
    b"Exif\\0\\0" then the TIFF structure, so it can be passed to Image.save(exif=...).
    """

    exif: bytes | None = None
    icc_profile: bytes | None = None
    xmp: bytes | None = None

    def as_dict(self) -> dict[str, bytes]:
        """The items present, keyed as Pillow keys them in Image.info."""
        return {name: value for name, value in vars(self).items() if value is not None}


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
class Deblock:
    """The DBLK chunk (§7.8): which filter the decoder runs on the planes of JPEG layers (§11.8), and its factors."""

    method: int = 1
    a: int = 5  # alpha = (a Q) >> 3: the largest step across an edge that is smoothed, in eighths of Q
    b: int = 4  # beta = (b Q) >> 4: how flat each side must be, in sixteenths of Q


@dataclass(frozen=True)
class Container:
    """Everything a .rgc file holds: what a decoder needs, and the metadata it may pass on."""

    header: Header
    block_map: np.ndarray  # uint8, grid_shape, region index per block
    layers: tuple[Layer, ...]
    alpha: bytes | None = None  # data of the ALPH chunk when the mode has alpha (see alpha_data, alpha_plane)
    metadata: Metadata = Metadata()
    deblock: Deblock | None = None  # the DBLK chunk; None: the file has none, and nothing is filtered


def pack_chunk(kind: bytes, data: bytes) -> bytes:
    """One chunk: length, type, data, CRC-32 of type and data (§4)."""
    crc = zlib.crc32(data, zlib.crc32(kind))
    return CHUNK_HEAD.pack(len(data), kind) + data + CHUNK_CRC.pack(crc)


def write(container: Container) -> bytes:
    """The bytes of a .rgc file, chunks in the order §1 and §11 give."""
    h = container.header
    mode = {v: k for k, v in MODE_CODES.items()}[h.mode]
    head = HEAD_FIELDS.pack(VERSION, h.width, h.height, mode, h.block_size, h.regions)
    parts = [SIGNATURE, pack_chunk(HEAD, head)]
    parts += [pack_chunk(kind, data) for kind, data in metadata_chunks(container.metadata)]
    parts.append(pack_chunk(BMAP, _compress_map(container.block_map)))
    if container.alpha is not None:
        parts.append(pack_chunk(ALPH, container.alpha))
    if container.deblock is not None:
        d = container.deblock
        parts.append(pack_chunk(DBLK, DBLK_FIELDS.pack(d.method, d.a, d.b)))
    parts += [pack_chunk(LAYR, _layer_data(layer)) for layer in container.layers]
    parts.append(pack_chunk(DONE, b""))
    return b"".join(parts)


def read(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Container:
    """Parse and check a whole .rgc file without decoding any pixels (§11); data may be any bytes-like object."""
    data = as_bytes(data)
    _check_limit(max_pixels)
    chunks = _chunks(io.BytesIO(data))
    header = _read_head(next(chunks, None), max_pixels)
    block_map: np.ndarray | None = None
    alpha: bytes | None = None
    layers: list[Layer] = []
    counts: np.ndarray | None = None  # blocks per region, once the map is read
    metadata: dict[str, bytes] = {}
    deblock: Deblock | None = None
    for kind, body, offset in chunks:
        if kind == DONE:
            _check_done(body, offset, len(data))
            block_map = _all_present(header, block_map, alpha, layers)
            return Container(header, block_map, tuple(layers), alpha, Metadata(**metadata), deblock)
        if kind == HEAD:
            raise ChunkError(f"second HEAD chunk at byte {offset}")
        if kind == BMAP:
            if block_map is not None:
                raise ChunkError(f"second BMAP chunk at byte {offset}")
            block_map = _read_map(body, header, offset, data)
            counts = block_counts(block_map, header.regions)
        elif kind == ALPH:
            _check_alpha_place(header, block_map, alpha, layers, offset)
            alpha = _read_alpha(body, header, offset)
        elif kind == DBLK:
            if block_map is None or layers or deblock is not None:
                where = "before the BMAP chunk" if block_map is None else "after a LAYR chunk" if layers else "twice"
                raise ChunkError(f"DBLK chunk at byte {offset} comes {where}")
            deblock = _read_deblock(body, offset)
        elif kind == LAYR:
            if counts is None:
                raise ChunkError(f"LAYR chunk at byte {offset} comes before the BMAP chunk")
            if header.has_alpha and alpha is None:
                raise ChunkError(f"LAYR chunk at byte {offset} comes before the ALPH chunk")
            layers.append(_read_layer(body, header, counts, len(layers), offset))
        elif kind in METADATA_FIELDS:
            if block_map is not None:
                raise ChunkError(f"{kind.decode()} chunk at byte {offset} comes after the BMAP chunk")
            _add_metadata(metadata, kind, body, offset)
        elif not kind[0] & ANCILLARY_BIT:
            raise ChunkError(f"unknown critical chunk {kind!r} at byte {offset}")
    raise TruncatedError("file ends before its DONE chunk")


def as_bytes(data: object) -> bytes:
    """data as bytes if it is bytes-like, else OptionError (the caller passed something else)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise OptionError(f"data must be bytes, not {type(data).__name__}")
    return bytes(data)


def _check_limit(max_pixels: object) -> None:
    """OptionError unless max_pixels is a positive integer."""
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels < 1:
        raise OptionError(f"max_pixels must be a positive integer, not {max_pixels!r}")


def read_front(stream: BinaryIO, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[Header, Metadata]:
    """The header and metadata, reading a stream only up to the first critical chunk after HEAD (§9).

    Metadata chunks must come before BMAP, so nothing past them is read: no
    block map, no pixels. What the rest of the file holds is not checked.
    """
    _check_limit(max_pixels)
    chunks = _chunks(stream, front_only=True)
    header = _read_head(next(chunks, None), max_pixels)
    metadata: dict[str, bytes] = {}
    for kind, body, offset in chunks:
        if kind in METADATA_FIELDS:
            _add_metadata(metadata, kind, body, offset)
    return header, Metadata(**metadata)


def metadata_chunks(metadata: Metadata) -> list[tuple[bytes, bytes]]:
    """(type, data) of the metadata chunks that hold metadata, in the order the writer puts them (§9)."""
    chunks = []
    for kind, name in METADATA_FIELDS.items():
        value = getattr(metadata, name)
        if value is not None:
            chunks.append((kind, value.removeprefix(EXIF_APP1_PREFIX) if kind == EXIF else value))
    return chunks


def metadata_problem(kind: bytes, data: bytes) -> str | None:
    """What breaks §9's rule for the data of a metadata chunk of this type, or None if it is valid."""
    if not data:
        return "is empty"
    if kind == EXIF and data[:4] not in TIFF_HEADERS:
        return "does not start with a TIFF header (II*\\0 or MM\\0*)"
    offset, signature = ICC_SIGNATURE
    if kind == ICCP and (len(data) < ICC_HEADER_SIZE or data[offset : offset + len(signature)] != signature):
        return f"is not an ICC profile (no {signature.decode()!r} signature at byte {offset} of a 128-byte header)"
    if kind == XMPD:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return "is not UTF-8 text"
    return None


def alpha_data(plane: np.ndarray) -> bytes:
    """The data of an ALPH chunk for an H x W uint8 alpha plane: filter byte, then a zstd frame (§8)."""
    residual = plane.copy()
    np.subtract(plane[:, 1:], plane[:, :-1], out=residual[:, 1:])  # uint8 arithmetic: modulo 256
    compressor = zstandard.ZstdCompressor(level=ALPHA_ZSTD_LEVEL, write_content_size=True)
    return bytes([ALPHA_FILTER]) + compressor.compress(residual.tobytes())


def alpha_plane(data: bytes, header: Header, out: np.ndarray | None = None) -> np.ndarray:
    """The H x W alpha plane from ALPH chunk data that read() has checked (§8), written into out if given."""
    size = f"a {header.width}x{header.height} image"
    raw = _decompress_exact(data[1:], header.width * header.height, "ALPH chunk", size, "alpha")
    residual = np.frombuffer(raw, dtype=np.uint8).reshape(header.height, header.width)
    return np.cumsum(residual, axis=1, dtype=np.uint8, out=out)  # undoes the filter, modulo 256


def _chunks(stream: BinaryIO, *, front_only: bool = False) -> Iterator[tuple[bytes, bytes, int]]:
    """Yield (type, data, offset) for each chunk after checking its length and CRC (§4).

    With front_only, stop at the first critical chunk after HEAD without reading its data.
    """
    signature = stream.read(len(SIGNATURE))
    if not signature or signature != SIGNATURE[: len(signature)]:
        raise FormatError("not an .rgc file: the first 8 bytes are not the .rgc signature")
    if len(signature) < len(SIGNATURE):
        raise TruncatedError(f"file is {len(signature)} bytes, shorter than the 8-byte signature")
    offset = len(SIGNATURE)
    while head := stream.read(CHUNK_HEAD.size):
        if len(head) < CHUNK_HEAD.size:
            raise TruncatedError(f"chunk header at byte {offset} is cut off")
        length, kind = CHUNK_HEAD.unpack(head)
        if not kind.isalpha() or not kind.isascii():
            raise ChunkError(f"chunk type {kind!r} at byte {offset} is not four ASCII letters")
        if length > MAX_CHUNK_LENGTH:
            raise ChunkError(f"{kind.decode()} chunk at byte {offset} declares {length} bytes, over 2^31-1")
        if front_only and offset > len(SIGNATURE) and not kind[0] & ANCILLARY_BIT:
            return
        body = _read_at_most(stream, length)
        crc = stream.read(CHUNK_CRC.size)
        if len(body) < length or len(crc) < CHUNK_CRC.size:
            raise TruncatedError(
                f"{kind.decode()} chunk at byte {offset} declares {length} bytes but the file ends first"
            )
        if CHUNK_CRC.unpack(crc)[0] != zlib.crc32(body, zlib.crc32(kind)):
            raise ChunkError(f"{kind.decode()} chunk at byte {offset} fails its CRC check")
        yield kind, body, offset
        offset += CHUNK_OVERHEAD + length


def _read_at_most(stream: BinaryIO, size: int) -> bytes:
    """Up to size bytes of stream, read in pieces so that a size no file backs allocates little (§12)."""
    if size <= READ_PIECE:
        return stream.read(size)
    pieces = []
    while size > 0 and (piece := stream.read(min(size, READ_PIECE))):
        pieces.append(piece)
        size -= len(piece)
    return b"".join(pieces)


def _read_head(chunk: tuple[bytes, bytes, int] | None, max_pixels: int) -> Header:
    """Check the HEAD chunk field by field against §5 and the limits of §12."""
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
    header = Header(width, height, mode, block_size, regions)
    if block_size not in BLOCK_SIZES or (header.colour == "RGB" and block_size < MIN_COLOUR_BLOCK):
        raise FormatError(f"block size {block_size} is not allowed for mode {mode}")
    if regions < 1:
        raise FormatError("HEAD declares zero regions")
    return header


def _compress_map(block_map: np.ndarray) -> bytes:
    """zstd frame of the block map, with its content size written (§6)."""
    compressor = zstandard.ZstdCompressor(level=BMAP_ZSTD_LEVEL, write_content_size=True)
    return compressor.compress(np.ascontiguousarray(block_map, dtype=np.uint8).tobytes())


def _read_map(body: bytes, header: Header, offset: int, data: bytes) -> np.ndarray:
    """Decompress the block map, trusting no size the frame declares (§6), once the file could code its blocks."""
    rows, cols = header.grid_shape
    what, needs = f"BMAP chunk at byte {offset}", f"a {rows}x{cols} block grid"
    _check_declared_size(body, rows * cols, what, needs, "map")
    _check_streams_could_code(header, data, offset + CHUNK_OVERHEAD + len(body), what)
    raw = _decompress_exact(body, rows * cols, what, needs, "map")
    block_map = np.frombuffer(raw, dtype=np.uint8).reshape(rows, cols)
    if int(block_map.max()) >= header.regions:
        raise FormatError(f"BMAP names region {int(block_map.max())} but HEAD declares {header.regions} regions")
    return block_map


def _check_streams_could_code(header: Header, data: bytes, start: int, what: str) -> None:
    """FormatError if the file's JPEG layers hold too few bytes to code the block grid (§6), before it is built.

    A JPEG stream spends at least a bit on each 8x8 block (§7.2), and a block
    of the map takes (B / scale)^2 / 64 of them at the least (1.5 times that
    in colour). The LAYR chunks after start are looked at by their lengths
    and fields only, unchecked; where not every layer that carries streams is
    a JPEG layer the rule does not apply (a canvas's bytes do not bound its
    pixels) and max_pixels bounds the map alone.
    """
    coded = [fields for fields in _layer_fields(data, start) if fields[2]]  # the layers that carry streams
    if not coded or any(code != JPEG_CODE or scale not in SCALES for code, scale, _ in coded):
        return
    rows, cols = header.grid_shape
    side = header.block_size // max(scale for _, scale, _ in coded)
    share = CHROMA_SHARE if header.colour == "RGB" else 1.0
    needed = -(-int(rows * cols * side * side * share) // (DCT_SIDE * DCT_SIDE * 8))
    held = sum(stream_bytes for _, _, stream_bytes in coded)
    if held < needed:
        raise FormatError(
            f"{what}: a {rows}x{cols} block grid needs at least {needed} bytes of JPEG streams "
            f"(a bit per 8x8 block, §6); the layers hold {held}"
        )


def _layer_fields(data: bytes, start: int) -> list[tuple[int, int, int]]:
    """(codec, scale, stream bytes) of each LAYR chunk from start on, followed by lengths alone (nothing checked)."""
    found = []
    offset = start
    while offset + CHUNK_HEAD.size <= len(data):
        length, kind = CHUNK_HEAD.unpack_from(data, offset)
        end = offset + CHUNK_HEAD.size + length
        if kind == DONE or end > len(data):
            break
        if kind == LAYR and length >= LAYR_FIELDS.size:
            _, code, _, scale, _ = LAYR_FIELDS.unpack_from(data, offset + CHUNK_HEAD.size)
            found.append((code, scale, length - LAYR_FIELDS.size))
        offset = end + CHUNK_CRC.size
    return found


def _check_declared_size(frame: bytes, expected: int, what: str, needs: str, unit: str) -> None:
    """FormatError unless frame is a zstd frame declaring expected bytes of content (§6, §8)."""
    try:
        declared = zstandard.get_frame_parameters(frame).content_size
    except zstandard.ZstdError as exc:
        raise FormatError(f"{what} is not a zstd frame: {exc}") from None
    if declared == zstandard.CONTENTSIZE_UNKNOWN:
        raise FormatError(f"{what} does not declare its content size")
    if declared != expected:
        raise FormatError(f"{what} declares {declared} {unit} bytes; {needs} needs {expected}")


def _decompress_exact(frame: bytes, expected: int, what: str, needs: str, unit: str) -> bytes:
    """The content of a zstd frame that must be exactly expected bytes, checked before decompressing (§6, §8)."""
    _check_declared_size(frame, expected, what, needs, unit)
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    try:
        raw = decompressor.decompress(frame)
    except zstandard.ZstdError as exc:
        raise FormatError(f"{what} is damaged: {exc}") from None
    if len(raw) != expected or not decompressor.eof or decompressor.unused_data:
        raise FormatError(f"{what} is not exactly one frame of {expected} bytes")
    return raw


def _check_alpha_place(
    header: Header, block_map: np.ndarray | None, alpha: bytes | None, layers: list[Layer], offset: int
) -> None:
    """ChunkError unless an ALPH chunk may stand here: alpha mode, after BMAP, once, before any LAYR (§8)."""
    if not header.has_alpha:
        raise ChunkError(f"ALPH chunk at byte {offset} in a file of mode {header.mode}, which has no alpha")
    if block_map is None:
        raise ChunkError(f"ALPH chunk at byte {offset} comes before the BMAP chunk")
    if alpha is not None:
        raise ChunkError(f"second ALPH chunk at byte {offset}")
    if layers:
        raise ChunkError(f"ALPH chunk at byte {offset} comes after a LAYR chunk")


def _read_alpha(body: bytes, header: Header, offset: int) -> bytes:
    """Check an ALPH chunk's filter and the size its frame declares; decompressing waits for alpha_plane (§8)."""
    if not body or body[0] != ALPHA_FILTER:
        found = body[0] if body else "none"
        raise FormatError(f"ALPH chunk at byte {offset} uses filter {found}; only {ALPHA_FILTER} is defined")
    pixels = header.width * header.height
    what, needs = f"ALPH chunk at byte {offset}", f"a {header.width}x{header.height} image"
    _check_declared_size(body[1:], pixels, what, needs, "alpha")
    return body


def _read_deblock(body: bytes, offset: int) -> Deblock:
    """Check a DBLK chunk's data against §7.8: three bytes, a known method, factors in their ranges."""
    if len(body) != DBLK_FIELDS.size:
        raise ChunkError(f"DBLK chunk at byte {offset} is {len(body)} bytes, not {DBLK_FIELDS.size}")
    method, a, b = DBLK_FIELDS.unpack(body)
    if method not in DEBLOCK_METHODS:
        raise FormatError(f"DBLK chunk at byte {offset} names filter method {method}; only 1 is defined")
    if a not in DEBLOCK_A or b not in DEBLOCK_B:
        raise FormatError(
            f"DBLK chunk at byte {offset} has A = {a}, B = {b}; A must be 1..{DEBLOCK_A[-1]}, B 1..{DEBLOCK_B[-1]}"
        )
    return Deblock(method, a, b)


def _add_metadata(metadata: dict[str, bytes], kind: bytes, body: bytes, offset: int) -> None:
    """Check a metadata chunk against §9 and add it to metadata under its field name."""
    name = METADATA_FIELDS[kind]
    if name in metadata:
        raise ChunkError(f"second {kind.decode()} chunk at byte {offset}")
    problem = metadata_problem(kind, body)
    if problem:
        raise FormatError(f"{kind.decode()} chunk at byte {offset} {problem}")
    metadata[name] = EXIF_APP1_PREFIX + body if kind == EXIF else body


def _layer_data(layer: Layer) -> bytes:
    """The data of a LAYR chunk (§7)."""
    codec = CODECS[layer.codec].code
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
    if code not in BY_CODE:
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
    codec = BY_CODE[code].name
    streams = _streams(header.colour, codec, first, second)
    has_blocks = bool(counts[region])
    if has_blocks != bool(streams):
        state = "has blocks but no streams" if has_blocks else "has no blocks but carries streams"
        raise FormatError(f"region {region} {state} (LAYR chunk at byte {offset})")
    return Layer(region, codec, quality, scale, streams)


def _streams(colour: str, codec: str, first: bytes, second: bytes) -> tuple[bytes, ...]:
    """The streams a layer must carry (§7): none; or for JPEG luma, plus chroma for RGB; or one picture."""
    if not first and not second:
        return ()
    if not first:
        raise FormatError("LAYR has a second stream but no first one")
    if CODECS[codec].layout == CANVAS:
        if second:
            raise FormatError(f"LAYR of codec {codec} carries a second stream")
        return (first,)
    if colour == "L":
        if second:
            raise FormatError("LAYR of a greyscale image carries a chroma stream")
        return (first,)
    if not second:
        raise FormatError("LAYR of an RGB image lacks its chroma stream")
    return (first, second)


def _check_done(body: bytes, offset: int, size: int) -> None:
    """Apply the rules of §10 to the DONE chunk: empty, and last."""
    if body:
        raise ChunkError(f"DONE chunk at byte {offset} is not empty")
    if offset + CHUNK_OVERHEAD != size:
        raise FormatError(f"{size - offset - CHUNK_OVERHEAD} bytes follow the DONE chunk")


def _all_present(header: Header, block_map: np.ndarray | None, alpha: bytes | None, layers: list[Layer]) -> np.ndarray:
    """The block map, once the file is checked to hold every critical chunk its header calls for (§10)."""
    if block_map is None:
        raise ChunkError("file has no BMAP chunk")
    if header.has_alpha and alpha is None:
        raise ChunkError(f"file of mode {header.mode} has no ALPH chunk")
    if len(layers) != header.regions:
        raise ChunkError(f"file has {len(layers)} LAYR chunks; HEAD declares {header.regions}")
    return block_map
