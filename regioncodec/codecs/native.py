"""WebP and AVIF pictures decoded straight into numpy arrays, through the very libwebp and libavif Pillow uses.

Pillow's plugins hold a picture several times over while they decode it
(two RGBA frames and a copy for WebP, two RGB copies for AVIF, then Pillow's
own 4-byte pixels and numpy's copy): 8 to 30 times a grey image's bytes.
Here libwebp writes the RGB picture into the array it is returned in, and
libavif keeps only its YUV planes while rows are converted to RGB a band at
a time, on demand. The results are Pillow's, byte for byte (the libraries
and their default settings are the same; tests/test_decode_memory.py checks).

The libraries are found among those Pillow's plugins loaded (/proc/self/maps),
else by name. The few struct fields used are checked against values the
library itself sets before anything is trusted; where a library, a symbol or
a layout is missing, available() is False and the caller uses Pillow.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..threads import cores

PROC_MAPS = Path("/proc/self/maps")  # where a Linux process sees which shared libraries it has loaded
POINTER_BYTES = 8  # the struct offsets below are those of 64-bit builds
# libwebp (decode.h, WEBP_DECODER_ABI_VERSION 0x0209, unchanged since libwebp 0.5), 64-bit: WebPDecoderConfig is
# WebPBitstreamFeatures (width, height, has_alpha, has_animation, format, pad[5]: 40 bytes), WebPDecBuffer
# (colorspace, width, height, is_external_memory, then the RGBA buffer: rgba pointer, stride, size; 120 bytes in all)
# and WebPDecoderOptions (bypass_filtering, no_fancy_upsampling, use_cropping, crop_left, crop_top, crop_width,
# crop_height, ...). libwebp only checks the major byte of the version.
WEBP_DECODER_ABI = 0x0209
WEBP_CONFIG_SIZE = 256  # bytes reserved for a WebPDecoderConfig (236 in this version)
WEBP_INPUT_WIDTH, WEBP_INPUT_HEIGHT = 0, 4
WEBP_OUTPUT_IS_EXTERNAL, WEBP_OUTPUT_RGBA, WEBP_OUTPUT_STRIDE, WEBP_OUTPUT_SIZE = 40 + 12, 40 + 16, 40 + 24, 40 + 32
WEBP_OPTIONS = 40 + 120
WEBP_OPTIONS_USE_CROPPING, WEBP_OPTIONS_CROP_TOP = WEBP_OPTIONS + 8, WEBP_OPTIONS + 16
WEBP_OPTIONS_CROP_WIDTH, WEBP_OPTIONS_CROP_HEIGHT = WEBP_OPTIONS + 20, WEBP_OPTIONS + 24
WEBP_PART_MARGIN = 4  # rows decoded beyond a part: fancy upsampling mirrors chroma at a crop's edges
# libavif 1.x (avif.h), 64-bit. avifDecoder: codecChoice, maxThreads, ... strictFlags (11 x 4 bytes), then image.
AVIF_DECODER_MAX_THREADS = 4
AVIF_DECODER_IMAGE = 48
# avifRGBImage: width, height, depth, format, chromaUpsampling, chromaDownsampling, avoidLibYUV, ignoreAlpha,
# alphaPremultiplied, isFloat, maxThreads (11 x 4 bytes), then pixels and rowBytes.
AVIF_RGB_WIDTH, AVIF_RGB_HEIGHT, AVIF_RGB_DEPTH, AVIF_RGB_FORMAT, AVIF_RGB_MAX_THREADS = 0, 4, 8, 12, 40
AVIF_RGB_PIXELS, AVIF_RGB_ROW_BYTES = 48, 56
AVIF_RGB_SIZE = 128  # bytes reserved for an avifRGBImage (it is 64 in libavif 1.x)
AVIF_RGB_FORMAT_RGB, AVIF_RGB_FORMAT_RGBA = 0, 1  # avifRGBFormat
AVIF_RESULT_OK = 0
AVIF_BAND_MARGIN = 4  # rows converted beyond a band on each side: chroma upsampling reads one chroma row across
# (a monochrome picture has no chroma, and its rows convert alone)
AVIF_IMAGE_YUV_FORMAT = 3  # avifImage: width, height, depth, then yuvFormat (avifPixelFormat), all 32-bit
AVIF_PIXEL_FORMAT_YUV400 = 4  # avifPixelFormat: NONE, YUV444, YUV422, YUV420, YUV400
AVIF_BAND_ROWS = 256  # rows of RGB converted at a time (even, so that 4:2:0 views start on a chroma row)


def _loaded(stem: str) -> str | None:
    """The path of the loaded shared library stem (file name stem, then - or .) that Pillow uses, if any.

    OpenCV's wheel may bring its own libavif: Pillow's (in pillow.libs, or a
    system one) is preferred, as it is what the results are checked against.
    """
    paths = []
    with contextlib.suppress(OSError):
        for line in PROC_MAPS.read_text().splitlines():
            path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
            name = os.path.basename(path)
            if name.startswith(stem) and name[len(stem) : len(stem) + 1] in ("-", ".") and path not in paths:
                paths.append(path)
    preferred = [p for p in paths if "pillow" in p.lower()] + [p for p in paths if "opencv" not in p.lower()]
    found = preferred or paths
    return found[0] if found else None


def _library(stem: str, plugin: str) -> ctypes.CDLL | None:
    """The shared library stem that Pillow's plugin module links, else the system's, else None."""
    if POINTER_BYTES != ctypes.sizeof(ctypes.c_void_p):
        return None
    with contextlib.suppress(ImportError):
        __import__(f"PIL.{plugin}")
    path = _loaded(stem) or ctypes.util.find_library(stem.removeprefix("lib"))
    if path is None:
        return None
    try:
        return ctypes.CDLL(path)
    except OSError:
        return None


@functools.cache
def _libc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        trim = ctypes.CDLL(None).malloc_trim
        trim.restype, trim.argtypes = ctypes.c_int, [ctypes.c_size_t]
        return trim  # type: ignore[no-any-return]
    return None


def release_freed_memory() -> None:
    """Give the memory a freed picture held back to the system (glibc keeps freed heap memory otherwise, and a
    picture's worth would then stay resident beside the next one)."""
    trim = _libc_trim()
    if trim is not None:
        trim(0)


def _typed(lib: ctypes.CDLL, signatures: dict[str, tuple[Any, Any]]) -> ctypes.CDLL | None:
    """lib with each named function given its (restype, argtypes), or None if one is missing (an older library)."""
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name, None)
        if function is None:
            return None
        function.restype, function.argtypes = restype, argtypes
    return lib


@functools.cache
def _webp() -> ctypes.CDLL | None:
    """libwebp with the functions used here typed, or None."""
    lib = _library("libwebp", "_webp")
    if lib is None:
        return None
    pointer, size, status = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
    signatures = {
        "WebPDecodeRGBInto": (pointer, [ctypes.c_char_p, size, pointer, size, ctypes.c_int]),
        "WebPInitDecoderConfigInternal": (ctypes.c_int, [pointer, ctypes.c_int]),
        "WebPGetFeaturesInternal": (status, [ctypes.c_char_p, size, pointer, ctypes.c_int]),
        "WebPDecode": (status, [ctypes.c_char_p, size, pointer]),
    }
    return _typed(lib, signatures)


def webp_available() -> bool:
    """Whether WebP pictures can be decoded here."""
    return _webp() is not None


def decode_webp(data: bytes, shape: tuple[int, int], what: str) -> np.ndarray:
    """The RGB picture of WebP data whose header says shape (rows, cols), decoded into the array returned."""
    lib = _webp()
    assert lib is not None
    picture = np.empty((*shape, 3), np.uint8)
    stride = picture.strides[0]
    if not lib.WebPDecodeRGBInto(data, len(data), picture.ctypes.data, picture.nbytes, stride):
        raise FormatError(f"{what} is not a readable WEBP picture (libwebp could not decode it)")
    return picture


class WebpPicture:
    """A WebP picture decoded a part at a time (libwebp's cropping), for grey images: a part, not the whole
    RGB picture, lives beside the grey image. libwebp decodes a VP8 picture down to the part's last row each
    time, so decoding in WEBP_PARTS parts costs (parts + 1) / 2 whole decodes."""

    def __init__(self, data: bytes, shape: tuple[int, int], what: str, parts: int) -> None:
        self.lib = _webp()
        assert self.lib is not None
        self.data, self.shape, self.what = data, shape, what
        self.part_rows = -(-shape[0] // parts) + 1 & ~1  # even, so that every part starts on a chroma row
        self.first, self.part = 0, np.empty((0, shape[1], 3), np.uint8)
        config = self._config()
        if self.lib.WebPGetFeaturesInternal(data, len(data), ctypes.addressof(config), WEBP_DECODER_ABI) != 0:
            raise FormatError(f"{what} is not a readable WEBP picture (libwebp cannot read its header)")
        if [_i32(config, WEBP_INPUT_WIDTH), _i32(config, WEBP_INPUT_HEIGHT)] != [shape[1], shape[0]]:
            raise FormatError(f"{what} has another size in libwebp's reading than in its header")

    def _config(self) -> ctypes.Array[ctypes.c_uint8]:
        """A WebPDecoderConfig initialised by libwebp."""
        assert self.lib is not None
        config = (ctypes.c_uint8 * WEBP_CONFIG_SIZE)()
        if not self.lib.WebPInitDecoderConfigInternal(ctypes.addressof(config), WEBP_DECODER_ABI):
            raise FormatError(f"{self.what} cannot be decoded: this libwebp's decoder interface is another version")
        return config

    def rows(self, start: int, stop: int) -> np.ndarray:
        """RGB rows start..stop (clipped to the picture), exactly as decoding it whole gives them (requests go down
        the picture)."""
        stop = min(stop, self.shape[0])
        if not (self.first <= start and stop <= self.first + len(self.part)):
            self._decode_part(start, stop)
        return self.part[start - self.first : stop - self.first]

    def _decode_part(self, start: int, stop: int) -> None:
        """Decode a part of the picture that holds rows start..stop, and at least part_rows rows from start."""
        assert self.lib is not None
        self.part = np.empty((0, self.shape[1], 3), np.uint8)  # freed before the next part is made
        first = max(0, start - WEBP_PART_MARGIN) & ~1
        last = min(self.shape[0], max(stop, first + self.part_rows) + WEBP_PART_MARGIN)
        part = np.empty((last - first, self.shape[1], 3), np.uint8)
        config = self._config()
        for offset, value in (
            (WEBP_OUTPUT_IS_EXTERNAL, 1),
            (WEBP_OPTIONS_USE_CROPPING, 1),
            (WEBP_OPTIONS_CROP_TOP, first),
            (WEBP_OPTIONS_CROP_WIDTH, self.shape[1]),
            (WEBP_OPTIONS_CROP_HEIGHT, last - first),
        ):
            ctypes.c_int32.from_buffer(config, offset).value = value
        ctypes.c_void_p.from_buffer(config, WEBP_OUTPUT_RGBA).value = part.ctypes.data
        ctypes.c_int32.from_buffer(config, WEBP_OUTPUT_STRIDE).value = part.strides[0]
        ctypes.c_size_t.from_buffer(config, WEBP_OUTPUT_SIZE).value = part.nbytes
        if self.lib.WebPDecode(self.data, len(self.data), ctypes.addressof(config)) != 0:
            raise FormatError(f"{self.what} is not a readable WEBP picture (libwebp could not decode it)")
        margin = 0 if first == 0 else WEBP_PART_MARGIN
        self.first, self.part = first + margin, part[margin : len(part) - (last < self.shape[0]) * WEBP_PART_MARGIN]


def _i32(buffer: ctypes.Array[ctypes.c_uint8], offset: int) -> int:
    """The native int32 at offset in buffer."""
    return ctypes.c_int32.from_buffer(buffer, offset).value


@functools.cache
def _avif() -> ctypes.CDLL | None:
    """libavif with the functions used here typed, or None."""
    lib = _library("libavif", "_avif")
    if lib is None:
        return None
    pointer, result = ctypes.c_void_p, ctypes.c_int
    signatures = {
        "avifDecoderCreate": (pointer, []),
        "avifDecoderDestroy": (None, [pointer]),
        "avifDecoderSetIOMemory": (result, [pointer, ctypes.c_char_p, ctypes.c_size_t]),
        "avifDecoderParse": (result, [pointer]),
        "avifDecoderNextImage": (result, [pointer]),
        "avifImageCreateEmpty": (pointer, []),
        "avifImageCreate": (pointer, [ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_int]),
        "avifImageDestroy": (None, [pointer]),
        "avifImageSetViewRect": (result, [pointer, pointer, ctypes.c_void_p]),
        "avifRGBImageSetDefaults": (None, [ctypes.c_void_p, pointer]),
        "avifImageYUVToRGB": (result, [pointer, ctypes.c_void_p]),
        "avifResultToString": (ctypes.c_char_p, [result]),
    }
    return _typed(lib, signatures)


def avif_available() -> bool:
    """Whether AVIF pictures can be decoded here (libavif found, and its layouts as this module expects)."""
    return _avif() is not None and _avif_layout_ok()


@functools.cache
def _avif_layout_ok() -> bool:
    """Whether avifImage and avifRGBImage have their fields at the offsets this module uses (checked on a tiny
    monochrome image, which avifImageCreate makes without planes)."""
    lib = _avif()
    assert lib is not None
    rgb = (ctypes.c_uint8 * AVIF_RGB_SIZE)()
    image = lib.avifImageCreate(6, 4, 8, AVIF_PIXEL_FORMAT_YUV400)
    if not image:
        return False
    try:
        image_fields = (ctypes.c_uint32 * 4).from_address(image)[:]  # width, height, depth, yuvFormat
        lib.avifRGBImageSetDefaults(ctypes.addressof(rgb), image)
    finally:
        lib.avifImageDestroy(image)
    fields = [_u32(rgb, offset) for offset in (AVIF_RGB_WIDTH, AVIF_RGB_HEIGHT, AVIF_RGB_DEPTH, AVIF_RGB_FORMAT)]
    pixels = ctypes.c_void_p.from_buffer(rgb, AVIF_RGB_PIXELS).value
    rgb_ok = fields == [6, 4, 8, AVIF_RGB_FORMAT_RGBA] and _u32(rgb, AVIF_RGB_MAX_THREADS) == 1 and not pixels
    yuv400 = image_fields[AVIF_IMAGE_YUV_FORMAT] == AVIF_PIXEL_FORMAT_YUV400
    return image_fields[:3] == [6, 4, 8] and yuv400 and rgb_ok


def _u32(buffer: ctypes.Array[ctypes.c_uint8], offset: int) -> int:
    """The native uint32 at offset in buffer."""
    return ctypes.c_uint32.from_buffer(buffer, offset).value


class AvifPicture:
    """An AVIF picture decoded to YUV by libavif; its rows become RGB on demand, a band at a time."""

    def __init__(self, data: bytes, shape: tuple[int, int], what: str, threads: int | None = None) -> None:
        self.lib = _avif()
        assert self.lib is not None
        self.data, self.shape, self.what = data, shape, what  # data must outlive the decoder, which reads it in place
        self.decoder = self.lib.avifDecoderCreate()
        if not self.decoder:
            raise MemoryError("libavif could not create a decoder")
        try:
            if threads is None:  # every core, as Pillow sets it
                threads = cores()
            ctypes.c_int32.from_address(self.decoder + AVIF_DECODER_MAX_THREADS).value = threads
            self._ok(self.lib.avifDecoderSetIOMemory(self.decoder, data, len(data)))
            self._ok(self.lib.avifDecoderParse(self.decoder))
            self._ok(self.lib.avifDecoderNextImage(self.decoder))
            self.image = ctypes.c_void_p.from_address(self.decoder + AVIF_DECODER_IMAGE).value
            fields = (ctypes.c_uint32 * 4).from_address(self.image)[:] if self.image else [0] * 4
            if fields[:2] != [shape[1], shape[0]]:  # width, height, depth, yuvFormat
                raise FormatError(f"{what} decodes to a picture of another size than its header says")
            self.margin = 0 if fields[AVIF_IMAGE_YUV_FORMAT] == AVIF_PIXEL_FORMAT_YUV400 else AVIF_BAND_MARGIN
        except BaseException:
            self.close()
            raise

    def _ok(self, result: int) -> None:
        """FormatError unless result is AVIF_RESULT_OK."""
        if result != AVIF_RESULT_OK:
            assert self.lib is not None
            reason = (self.lib.avifResultToString(result) or b"error").decode("ascii", "replace")
            raise FormatError(f"{self.what} is not a readable AVIF picture: {reason}")

    def rows(self, start: int, stop: int) -> np.ndarray:
        """RGB rows start..stop of the picture (clipped to it), exactly as converting the whole picture gives them."""
        stop = min(stop, self.shape[0])
        if stop - start <= AVIF_BAND_ROWS:  # one band: a view of it, without a copy beside it
            return self._band(start, stop)
        out = np.empty((stop - start, self.shape[1], 3), np.uint8)
        for top in range(start, stop, AVIF_BAND_ROWS):
            bottom = min(top + AVIF_BAND_ROWS, stop)
            out[top - start : bottom - start] = self._band(top, bottom)
        return out

    def _band(self, top: int, bottom: int) -> np.ndarray:
        """RGB rows top..bottom, converted with the picture's margin of rows either side (none if monochrome)."""
        first = max(0, top - self.margin) & ~1  # even: a 4:2:0 view starts on a chroma row
        last = min(self.shape[0], bottom + self.margin)
        return self._convert(first, last)[top - first : bottom - first]

    def _convert(self, first: int, last: int) -> np.ndarray:
        """Rows first..last converted to RGB by libavif, through a view of the decoded picture."""
        assert self.lib is not None
        band = np.empty((last - first, self.shape[1], 3), np.uint8)
        view = self.lib.avifImageCreateEmpty()
        if not view:
            raise MemoryError("libavif could not create an image")
        try:
            rect = (ctypes.c_uint32 * 4)(0, first, self.shape[1], last - first)
            self._ok(self.lib.avifImageSetViewRect(view, self.image, ctypes.addressof(rect)))
            rgb = (ctypes.c_uint8 * AVIF_RGB_SIZE)()
            self.lib.avifRGBImageSetDefaults(ctypes.addressof(rgb), view)
            ctypes.c_uint32.from_buffer(rgb, AVIF_RGB_DEPTH).value = 8
            ctypes.c_uint32.from_buffer(rgb, AVIF_RGB_FORMAT).value = AVIF_RGB_FORMAT_RGB
            ctypes.c_void_p.from_buffer(rgb, AVIF_RGB_PIXELS).value = band.ctypes.data
            ctypes.c_uint32.from_buffer(rgb, AVIF_RGB_ROW_BYTES).value = band.strides[0]
            self._ok(self.lib.avifImageYUVToRGB(view, ctypes.addressof(rgb)))
        finally:
            self.lib.avifImageDestroy(view)
        return band

    def close(self) -> None:
        """Free the decoder and its planes."""
        if self.decoder and self.lib is not None:
            self.lib.avifDecoderDestroy(self.decoder)
        self.decoder = None

    def __enter__(self) -> AvifPicture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def avif_picture(data: bytes, shape: tuple[int, int], what: str, threads: int | None = None) -> Iterator[AvifPicture]:
    """An AvifPicture of data decoded on threads threads (default: every core), freed on leaving."""
    with AvifPicture(data, shape, what, threads) as picture:
        yield picture
