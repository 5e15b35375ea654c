"""What encode takes: numpy arrays and PIL images made into uint8 pixels, alpha, metadata, masks and maps.

Images come in the channel order Pillow and imageio use: H x W greyscale,
H x W x 2 greyscale and alpha, H x W x 3 RGB, H x W x 4 RGBA. PIL images
bring their metadata (EXIF, ICC profile, XMP); other modes are converted by
the rules the README lists, and what cannot be converted without losing what
a viewer sees is refused with InputError.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from . import container
from .container import Metadata
from .errors import InputError

# Pillow modes turned into one regioncodec stores without losing anything a viewer sees
# (premultiplied alpha is un-premultiplied; RGBX's fourth band is padding).
_CONVERTED_MODES = {
    "1": "L",
    "La": "LA",
    "P": "RGB",
    "PA": "RGBA",
    "RGBX": "RGB",
    "RGBa": "RGBA",
    "CMYK": "RGB",
    "YCbCr": "RGB",
    "LAB": "RGB",
    "HSV": "RGB",
}
_WITH_ALPHA = {"L": "LA", "RGB": "RGBA"}  # for images whose transparency is a palette entry or a colour key
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")  # 16-bit greyscale, reduced to 8 bits
ICC_SPACE = slice(16, 20)  # ICC.1 7.2.6: the profile header's data colour space signature
ICC_SPACES = {False: b"GRAY", True: b"RGB "}  # the signature a profile of grey (L, LA) or colour pixels must have
ICC_PIXEL_SPACES = (b"GRAY", b"RGB ", b"CMYK")  # those of the pixels Pillow opens: one of the others would be wrong
CHANNEL_MODES = {2: "LA", 3: "RGB", 4: "RGBA"}  # channels of an H x W x C array; H x W is L
_PIL_METADATA_KEYS = ("exif", "icc_profile", "xmp")  # the Image.info keys Pillow's plugins fill
# Formats whose further frames are not further pictures, so that Pillow's first frame is the picture: MPO (a
# camera's JPEG with its previews, or a stereo pair's second eye) and PSD (the layers under the composite it opens).
_ONE_PICTURE_FORMATS = frozenset({"MPO", "PSD"})

# What Pillow raises on an image it cannot give pixels or metadata of: a lazily opened file that is cut short
# (OSError), a closed image or a palette whose transparency names entries it lacks (ValueError), info items of
# the wrong type (TypeError), a damaged file read late (SyntaxError, EOFError, IndexError, struct.error), and
# Image.Exif values it cannot serialise (TypeError, KeyError).
PILLOW_ERRORS = (
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    SyntaxError,
    EOFError,
    struct.error,
    Image.DecompressionBombError,
)

ImageLike = np.ndarray | Image.Image


@contextlib.contextmanager
def _pillow(what: str) -> Iterator[None]:
    """Turn what Pillow raises inside into InputError saying what could not be done."""
    try:
        yield
    except InputError:
        raise
    except PILLOW_ERRORS as exc:
        raise InputError(f"{what}: {type(exc).__name__}: {exc}") from None


def as_pixels(image: ImageLike) -> np.ndarray:
    """A contiguous uint8 array (H x W, or H x W x 2, 3 or 4) of image, or InputError saying why not.

    16-bit images (uint16 arrays, Pillow's I;16 modes) are reduced to 8 bits,
    v * 255 / 65535 rounded: .rgc stores 8 bits per channel, as JPEG does.
    """
    if isinstance(image, Image.Image):
        with _pillow("cannot read the image's pixels"):
            image = _pil_pixels(image)
    if not isinstance(image, np.ndarray):
        raise InputError(f"image must be a numpy array or PIL.Image, not {type(image).__name__}")
    if image.dtype.kind == "u" and image.dtype.itemsize == 2:  # uint16 in either byte order
        image = _eight_bits(image.astype(np.uint16, copy=False))
    if image.dtype != np.uint8:
        raise InputError(f"image must be uint8 (or uint16), not {image.dtype}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in CHANNEL_MODES)):
        raise InputError(f"image must be H x W (L) or H x W x 2, 3 or 4 (LA, RGB, RGBA), not shape {image.shape}")
    height, width = image.shape[:2]
    if not (1 <= width <= container.MAX_DIMENSION and 1 <= height <= container.MAX_DIMENSION):
        raise InputError(f"image is {width}x{height}; each side must be 1..{container.MAX_DIMENSION}")
    return np.ascontiguousarray(image)


def open_picture(file: BinaryIO, *, first_frame: bool = False, load: bool = True, hint: str = "") -> Image.Image:
    """The one picture Pillow reads from a stream, decoded unless load is False.

    InputError if it holds several (an animation, pages: .rgc holds one;
    hint is added to that message) unless first_frame, or if Pillow cannot
    read it.
    """
    try:
        with Image.open(file) as image:
            frames = frame_count(image)
            if frames > 1 and not first_frame:
                raise InputError(f"has {frames} frames (an animation, or pages) and .rgc holds one picture{hint}")
            if load:
                image.load()
            return image
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError("not a readable image: Pillow knows no format that fits it") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"not a readable image: {exc}") from None


def frame_count(image: Image.Image) -> int:
    """How many pictures a PIL image holds: the frames of an animation or the pages of a document, else 1."""
    return 1 if image.format in _ONE_PICTURE_FORMATS else int(getattr(image, "n_frames", 1))


def _pil_pixels(image: Image.Image) -> np.ndarray:
    """Pixels of a PIL image in L, LA, RGB or RGBA, converting by the documented rules."""
    if image.mode in _SIXTEEN_BIT_MODES:
        grey = np.asarray(image).astype(np.uint16, copy=False)
        key = image.info.get("transparency")
        if isinstance(key, int):  # a PNG tRNS colour key: the grey value that is transparent, as for 8 bits
            return np.dstack([grey, np.where(grey == key, 0, 65535).astype(np.uint16)])
        return grey
    mode = _CONVERTED_MODES.get(image.mode, image.mode)
    if image.has_transparency_data and mode in _WITH_ALPHA:
        mode = _WITH_ALPHA[mode]
    if mode not in ("L", "LA", "RGB", "RGBA"):
        raise InputError(f"image mode {image.mode} is not supported; convert it to L, LA, RGB or RGBA first")
    return np.asarray(image if mode == image.mode else image.convert(mode))


def _eight_bits(image: np.ndarray) -> np.ndarray:
    """16-bit values scaled to 8 bits, v * 255 / 65535 rounded to the nearest (there are no ties)."""
    return ((image.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def split_alpha(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(colour, alpha): the L or RGB pixels the regions code, and the alpha plane if there is one."""
    if pixels.ndim == 2 or pixels.shape[2] == 3:
        return pixels, None
    colour = pixels[..., 0] if pixels.shape[2] == 2 else pixels[..., :3]
    return np.ascontiguousarray(colour), np.ascontiguousarray(pixels[..., -1])


def metadata(
    image: ImageLike, strip: bool, stored: np.ndarray, notes: list[str] | None = None, **given: Any
) -> Metadata:
    """The metadata to store: each item given, else the PIL image's own unless strip; checked against §9.

    An ICC profile of grey, RGB or CMYK pixels must describe the colour the
    pixels are stored in (stored: as_pixels' array): the image's own profile
    of another of those (a CMYK JPEG's, whose pixels Pillow converts to RGB)
    is left out, with a note; a profile given so is refused.
    """
    own = image.info if isinstance(image, Image.Image) and not strip else {}
    values = {}
    for name in _PIL_METADATA_KEYS:
        value = given[name] if given[name] is not None else own.get(name)
        values[name] = _metadata_item(name, value, from_image=given[name] is None)
    profile = values["icc_profile"]
    wanted = ICC_SPACES[stored.ndim == 3 and stored.shape[2] >= 3]
    if profile is not None and profile[ICC_SPACE] in ICC_PIXEL_SPACES and profile[ICC_SPACE] != wanted:
        space, kind = profile[ICC_SPACE].decode("latin-1").strip(), wanted.decode().strip()
        if given["icc_profile"] is not None:
            raise InputError(f"icc_profile describes {space} colour, and the pixels are {kind}")
        values["icc_profile"] = None
        if notes is not None:
            notes.append(
                f"the image's ICC profile describes {space} colour, and its pixels are stored as {kind}: left out"
            )
    return Metadata(**values)


def _metadata_item(name: str, value: Any, *, from_image: bool) -> bytes | None:
    """One metadata item as the bytes Metadata holds, None if absent or empty, InputError if invalid."""
    if isinstance(value, Image.Exif):
        with _pillow(f"{name} cannot be serialised as EXIF"):
            value = value.tobytes()
    if isinstance(value, str) and name == "xmp":
        try:
            value = value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(f"{name} is not valid Unicode text ({exc.reason} at character {exc.start})") from None
    if value is not None and not isinstance(value, (bytes, bytearray, memoryview)):
        raise InputError(f"{name} must be bytes, not {type(value).__name__}")
    if not value:
        return None
    kind = {v: k for k, v in container.METADATA_FIELDS.items()}[name]
    body = bytes(value).removeprefix(container.EXIF_APP1_PREFIX) if kind == container.EXIF else bytes(value)
    problem = container.metadata_problem(kind, body)
    if problem:
        hint = " (strip=True, or rcodec --strip, leaves the image's metadata out)" if from_image else ""
        raise InputError(f"{name} {problem}{hint}")
    return container.EXIF_APP1_PREFIX + body if kind == container.EXIF else body


def pixel_mask(mask: Any, shape: tuple[int, ...]) -> np.ndarray:
    """mask (an array, or a PIL image: non-zero = foreground) as a boolean array of shape, or InputError."""
    if isinstance(mask, Image.Image):
        with _pillow("cannot read the mask image"):
            mask = np.asarray(mask.convert("L"))
    if not isinstance(mask, np.ndarray) or not (mask.dtype == bool or np.issubdtype(mask.dtype, np.integer)):
        raise InputError("mask must be a boolean or integer numpy array, or a PIL image (non-zero = foreground)")
    if mask.ndim != 2:
        raise InputError(f"mask must be H x W (one value per pixel), not an array of shape {mask.shape}")
    if mask.shape != shape:
        raise InputError(f"mask is {_size(mask.shape)} but the image is {_size(shape)}; they must be the same size")
    return mask.astype(bool, copy=False)


def pixel_map(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A quality map as uint8 H x W grey, or InputError."""
    if isinstance(value, Image.Image):
        with _pillow("cannot read the quality map image"):
            value = np.asarray(value.convert("L"))
    if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or value.ndim != 2:
        raise InputError("quality_map must be an H x W uint8 array or a PIL image (grey 0..255)")
    if value.shape != shape:
        raise InputError(f"quality_map is {_size(value.shape)} but the image is {_size(shape)}")
    return value


def _size(shape: tuple[int, ...]) -> str:
    """'WxH' for a shape (H, W, ...)."""
    return f"{shape[1]}x{shape[0]}"
