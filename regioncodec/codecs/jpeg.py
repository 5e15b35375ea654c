"""The JPEG payload codec: each plane of a mosaic as a greyscale JPEG stream (spec §7.2).

Streams are coded by Pillow's libjpeg-turbo as baseline JPEGs, Huffman-optimised,
with the quantisation table the encoder chose (see quantise.py), so any JPEG
reader opens them; they are decoded by OpenCV's libjpeg-turbo, with its
accurate integer IDCT (islow), as spec §11.1 names for the reference.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Literal

import numpy as np

from ..errors import FormatError, LimitError

# ITU-T T.81 Annex K, tables K.1 and K.2, in natural (row-major) order.
LUMA_TABLE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
CHROMA_TABLE = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
) + (99,) * 32  # fmt: skip


SOI = b"\xff\xd8"  # T.81 B.1.1.3: start of image
SOF_HUFFMAN = (0xC0, 0xC1, 0xC2)  # baseline, extended sequential, progressive (Huffman)
SOF_OTHER = (0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)  # lossless, hierarchical, arithmetic
# Segments libjpeg reads before the frame header, each skipped by its length: DHT, DAC, DQT, DRI, APP0-15, COM.
SEGMENTS_BEFORE_FRAME = frozenset((0xC4, 0xCC, 0xDB, 0xDD, *range(0xE0, 0xF0), 0xFE))
SOS = 0xDA  # T.81 B.1.1.3: start of scan
TO_FIRST_SCAN = SEGMENTS_BEFORE_FRAME | {*SOF_HUFFMAN, SOS}  # what a walk from SOI to the first scan may meet (§7.2)
EOI = b"\xff\xd9"  # T.81 B.1.1.3: end of image; entropy-coded data never holds it (0xFF there is stuffed or RSTn)
APP_AND_COM = frozenset((*range(0xE0, 0xF0), 0xFE))  # metadata segments: nothing a stream in .rgc needs (§7.2)
FRAME_WALK = SEGMENTS_BEFORE_FRAME | {*SOF_HUFFMAN, *SOF_OTHER}  # what the walk to the frame header meets (SOF_OTHER
# only to be refused by name)
PRECISION = 8  # spec §7.2: 8-bit samples only
OPENCV_MAX_PIXELS = 1 << 30  # OpenCV's CV_IO_MAX_IMAGE_PIXELS: imdecode refuses larger images with cv2.error
MAX_SIDE = 65_500  # libjpeg's JPEG_MAX_DIMENSION (spec §12)
REDUCTIONS = (1, 2, 4, 8)  # libjpeg's scaled IDCT decodes each 8x8 DCT block to 8/r samples a side for these r
DCT_SIDE = 8  # T.81: samples are coded in 8x8 blocks, each of which costs at least one bit (spec §7.2)


def quant_table(base: tuple[int, ...], quality: int) -> list[int]:
    """Scale a base table to a quality 1..100 exactly as libjpeg's jpeg_set_quality does."""
    return list(_scaled_table(base, quality))


@functools.lru_cache(maxsize=256)  # two bases x 100 qualities: each table is worked out once per process
def _scaled_table(base: tuple[int, ...], quality: int) -> tuple[int, ...]:
    """quant_table's steps, as a tuple that can be kept."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return tuple(min(255, max(1, (value * scale + 50) // 100)) for value in base)


@dataclass(frozen=True)
class JpegCodec:
    """Greyscale JPEG streams of mosaic planes."""

    name: str = "jpeg"
    code: int = 1  # §7
    layout: Literal["mosaic"] = "mosaic"
    max_side: int = MAX_SIDE

    def available(self) -> bool:
        """Always: Pillow and OpenCV both bring libjpeg-turbo."""
        return True

    def version(self) -> str:
        """The libjpeg-turbo version Pillow encodes with."""
        from PIL import features

        return str(features.version("jpg"))

    def encode(self, plane: np.ndarray, table: Sequence[int]) -> bytes:
        """A greyscale baseline JPEG of plane quantised with table, Huffman tables optimised for it."""
        from PIL import Image

        options = {"qtables": [list(table)], "optimize": True}
        picture = Image.fromarray(plane, "L")
        memory_file = _in_memory_file()
        if memory_file is None:
            python_file = io.BytesIO()
            picture.save(python_file, "JPEG", **options)
            return without_metadata(python_file.getvalue())
        with memory_file:
            picture.save(memory_file, "JPEG", **options)
            memory_file.seek(0)
            return without_metadata(memory_file.read())

    def check(self, data: bytes, shape: tuple[int, int], what: str) -> None:
        """FormatError unless data's frame header is that of an 8-bit greyscale JPEG of exactly shape (rows, cols).

        LimitError if OpenCV would refuse to decode that many pixels: only with max_pixels raised over 10^9.
        """
        rows, cols, components = frame_header(data, what)
        if components != 1 or (rows, cols) != shape:
            raise FormatError(
                f"{what} is a {components}-component JPEG of {cols}x{rows}; "
                f"the container needs 1 component of {shape[1]}x{shape[0]}"
            )
        if rows * cols > OPENCV_MAX_PIXELS:
            raise LimitError(
                f"{what} is {cols}x{rows} = {rows * cols} pixels; "
                f"OpenCV decodes at most {OPENCV_MAX_PIXELS} in one stream"
            )
        blocks = -(-rows // DCT_SIDE) * -(-cols // DCT_SIDE)
        if len(data) * 8 < blocks:
            raise FormatError(
                f"{what} is {len(data)} bytes, too few for the {blocks} 8x8 blocks of a {cols}x{rows} JPEG "
                "(at least a bit each, §7.2)"
            )
        if data.rfind(EOI) < first_scan(data, what):  # libjpeg would fill the missing rest with grey; the last EOI,
            # found from the end, is past the first scan's start if any is (and a stream's EOI is usually its end)
            raise FormatError(f"{what} has no EOI marker after its first scan: it is cut short (§7.7)")

    def decode(self, data: bytes, shape: tuple[int, int], what: str, *, checked: bool = False) -> np.ndarray:
        """Decode a greyscale JPEG that must be exactly shape (rows, cols), with libjpeg-turbo's islow IDCT.

        The frame header is checked first (unless checked says the caller has
        done so, as the decoder does for every stream before it allocates
        anything), so nothing is decoded (or allocated) for a stream of the
        wrong size; OpenCV, which refuses truncated streams, then decodes it.
        A stream's samples are used as stored: an EXIF orientation inside it
        is ignored (§7.2).
        """
        return self.decode_reduced(data, shape, 1, what, checked=checked)

    def decode_reduced(
        self, data: bytes, shape: tuple[int, int], factor: int, what: str, *, checked: bool = False
    ) -> np.ndarray:
        """Decode a greyscale JPEG that must be exactly shape (rows, cols) at 1/factor of its size (1, 2, 4 or 8).

        libjpeg's scaled IDCT makes each 8x8 DCT block 8/factor samples a side
        straight from its coefficients, so a reduced decode costs the entropy
        decoding and little else; the result is ceil(rows/factor) x
        ceil(cols/factor). As decode, the frame header is checked at full
        size first, unless checked.
        """
        import cv2

        if not checked:
            self.check(data, shape, what)
        flags = _greyscale_flag(factor) | cv2.IMREAD_IGNORE_ORIENTATION
        try:
            plane = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
        except cv2.error as exc:  # OpenCV's own input checks, whose limits the environment can lower
            raise FormatError(f"{what} was refused by OpenCV: {exc.err}") from None
        if plane is None or plane.shape != (-(-shape[0] // factor), -(-shape[1] // factor)):
            raise FormatError(f"{what} is not a readable JPEG")
        return plane


JPEG = JpegCodec()


def _in_memory_file() -> BinaryIO | None:
    """A file in memory with a descriptor (Linux's memfd) for a stream to be coded into; None where there is none.

    Pillow holds the GIL while it encodes into a Python object (BytesIO), and
    releases it only while it encodes into a file descriptor (ImageFile._save's
    encode_to_file): into such a file the streams of one image code on all
    cores at once. The bytes are the same either way; it costs ~9 us a stream.
    """
    try:
        return open(os.memfd_create("rgc-stream", os.MFD_CLOEXEC), "w+b", buffering=0)
    except (AttributeError, OSError):  # no memfd_create (macOS, Windows), or one the kernel or a sandbox refuses
        return None


def _greyscale_flag(factor: int) -> int:
    """OpenCV's imread flag for a one-component decode at 1/factor, which sets libjpeg's scale_denom."""
    import cv2

    flags = {
        1: cv2.IMREAD_GRAYSCALE,
        2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
        4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
        8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
    }
    return flags[factor]


def frame_header(data: bytes, what: str) -> tuple[int, int, int]:
    """(rows, cols, components) from the frame header libjpeg will read, without decoding anything.

    Spec §7.2: before its frame header a stream holds only table and metadata
    segments, each marker a single 0xFF and a code libjpeg skips by length.
    libjpeg resynchronises past fill bytes and garbage; refusing them here is
    what makes this walk land on the same frame header as libjpeg, so that the
    size checked is the size libjpeg allocates.
    """
    if data[:2] != SOI:
        raise FormatError(f"{what} is not a JPEG stream (no SOI marker)")
    for marker, _, body in segments(data, what, FRAME_WALK, "before its frame header"):
        if marker in SOF_OTHER:
            raise FormatError(f"{what} uses a JPEG process other than baseline or progressive Huffman")
        if marker in SOF_HUFFMAN:
            return _frame_size(body, what)
    raise FormatError(f"{what} has no readable JPEG frame header")


def first_scan(data: bytes, what: str) -> int:
    """Where the entropy-coded data of a stream's first scan starts: past its SOS segment, found by walking the
    segments before it (§7.2), which may be only those before a frame header, and the frame header."""
    for marker, offset, body in segments(data, what, TO_FIRST_SCAN, "before its first scan"):
        if marker == SOS:
            return offset + 4 + len(body)
    raise FormatError(f"{what} has no scan")


def segments(data: bytes, what: str, allowed: Container[int], where: str) -> Iterator[tuple[int, int, bytes]]:
    """(marker code, offset, data) of each segment after SOI, walked by their lengths (§7.2), while the caller reads.

    FormatError, naming the byte, where no marker starts (garbage, which
    libjpeg would skip), where the marker is not among allowed (a fill byte,
    0xFF, never is; where says where the walk is, for the message), or where
    the segment's length runs past the stream.
    """
    offset = len(SOI)
    while offset + 4 <= len(data):
        marker, length = data[offset + 1], int.from_bytes(data[offset + 2 : offset + 4], "big")
        if data[offset] != 0xFF:
            raise FormatError(f"{what} has no JPEG marker at byte {offset}, where one should start")
        if marker not in allowed:
            raise FormatError(f"{what} has marker 0xFF{marker:02X} at byte {offset}, {where}")
        if length < 2 or offset + 2 + length > len(data):
            raise FormatError(f"{what} has a segment at byte {offset} of length {length}, past its end")
        yield marker, offset, data[offset + 4 : offset + 2 + length]
        offset += 2 + length


def without_metadata(data: bytes) -> bytes:
    """A JPEG stream without the APPn and COM segments before its frame header, which a stream in .rgc does not
    need (§7.2): JFIF's APP0, which Pillow and libjpeg write by default, is 18 bytes in every stream."""
    kept, start = [], 0
    for marker, offset, body in segments(data, "a JPEG stream", FRAME_WALK, "before its frame header"):
        if marker in SOF_HUFFMAN or marker in SOF_OTHER:
            break
        if marker in APP_AND_COM:
            kept.append(data[start:offset])
            start = offset + 4 + len(body)
    return b"".join([*kept, data[start:]])


def _frame_size(frame: bytes, what: str) -> tuple[int, int, int]:
    """(rows, cols, components) of a frame header's fields (T.81 B.2.2), which must be 8-bit."""
    if len(frame) < 6:
        raise FormatError(f"{what} has a frame header of {len(frame)} bytes, too short for its size")
    if frame[0] != PRECISION:
        raise FormatError(f"{what} has {frame[0]}-bit samples; the container needs {PRECISION}-bit")
    return int.from_bytes(frame[1:3], "big"), int.from_bytes(frame[3:5], "big"), frame[5]
