"""Canvas layers: a region coded as one WebP or AVIF picture of its bounding box.

WebP and AVIF predict each block from its neighbours and filter across block
edges, so a mosaic of unrelated blocks would code badly. A canvas keeps the
region where it is: the bounding box of its blocks, with everything outside
the region replaced by a smooth extrapolation of the region's own colours
(cheap to code, and no false edge for the codec's filters to smear inward).
"""

from __future__ import annotations

import contextlib
import io
import struct
from collections.abc import Callable, Iterator

import cv2
import numpy as np
from PIL import Image, features

from .errors import FormatError, InputError, LimitError
from .plan import lowest_quality

MAX_SIDE = {"webp": 16_383, "avif": 65_500}  # libwebp's own limit; AVIF's is past ours
MATCHED_CODECS = ("webp",)  # see matched_quality
FILL_SIGMA = 12.0  # px: how far the extrapolated colours are smoothed; wide enough to hide the region's texture


def check_available(codec: str) -> None:
    """InputError unless this Pillow can write codec."""
    if not features.check(codec):
        raise InputError(
            f"this Pillow cannot write {codec.upper()}; install a Pillow built with it or use codec='jpeg'"
        )


def fill_outside(image: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """image with pixels outside keep replaced by a normalised-convolution blur of the pixels inside."""
    weight = keep.astype(np.float32)
    spread = cv2.GaussianBlur(image.astype(np.float32) * weight[..., None], (0, 0), FILL_SIGMA)
    reach = cv2.GaussianBlur(weight, (0, 0), FILL_SIGMA)[..., None]
    filled = np.clip(np.rint(spread / np.maximum(reach, 1e-6)), 0, 255).astype(np.uint8)
    return np.where(keep[..., None], image, filled)


def matched_quality(encode: Callable[[int], bytes], error: Callable[[bytes], float], target: float) -> bytes:
    """The smallest canvas whose region error is at most target (quality 100's if none is).

    libwebp spreads its quantisers over segments by how busy each is: once a
    region's surroundings are filled smooth, the region is the busiest part
    of its canvas and gets coarser quantisers than in a uniform picture of
    the same quality (measured on Kodak: background PSNR 1.7 dB below uniform
    WebP's). So a WebP canvas is held to the error a uniform WebP of its box
    at the asked quality makes on the region, by measuring, not by the number.
    """
    found = lowest_quality(encode, lambda data: error(data) <= target)
    return found if found is not None else encode(100)


def encode_canvas(picture: np.ndarray, codec: str, quality: int) -> bytes:
    """An RGB picture as a lossy WebP or AVIF at quality, with Pillow's default effort."""
    height, width = picture.shape[:2]
    if max(height, width) > MAX_SIDE[codec]:
        raise InputError(f"{codec.upper()} pictures are limited to {MAX_SIDE[codec]} pixels a side; use codec='jpeg'")
    out = io.BytesIO()
    Image.fromarray(picture, "RGB").save(out, codec.upper(), quality=quality)
    return out.getvalue()


def check_canvas(data: bytes, codec: str, shape: tuple[int, int], what: str) -> None:
    """FormatError unless data's header is that of a codec picture of exactly shape (rows, cols); decodes nothing."""
    with _opened(data, codec, shape, what):
        pass


def decode_canvas(data: bytes, codec: str, shape: tuple[int, int], what: str) -> np.ndarray:
    """Decode a WebP or AVIF picture that must be exactly shape (rows, cols), as RGB."""
    with _opened(data, codec, shape, what) as image:
        return np.asarray(image.convert("RGB"))


@contextlib.contextmanager
def _opened(data: bytes, codec: str, shape: tuple[int, int], what: str) -> Iterator[Image.Image]:
    """data opened as a codec picture whose header says shape (rows, cols); Pillow's errors become FormatError.

    Opening reads the header only: nothing is decoded until the caller loads the picture.
    """
    if not features.check(codec):
        raise FormatError(f"{what} is {codec.upper()}, which this Pillow cannot read; install a Pillow built with it")
    try:
        with _header_read(data, codec) as image:
            if (image.height, image.width) != shape:
                raise FormatError(
                    f"{what} is a {image.width}x{image.height} picture; the container needs {shape[1]}x{shape[0]}"
                )
            yield image
    except FormatError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's WebP reader, past 2 x MAX_IMAGE_PIXELS, max_pixels raised
        raise LimitError(f"{what} was refused by Pillow: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError, IndexError, TypeError, struct.error) as exc:
        # RuntimeError: Pillow's AVIF plugin reports libavif's parse failures so; EOFError: its WebP frame reader;
        # IndexError, TypeError, struct.error: what Image.open turns into "cannot identify" for its plugins
        raise FormatError(f"{what} is not a readable {codec.upper()} picture: {exc}") from None


def _header_read(data: bytes, codec: str) -> Image.Image:
    """data opened by Pillow's plugin for codec, as Image.open would, without Image.open's decompression-bomb check.

    That check warns past 89 megapixels whatever decode's max_pixels says (an
    exception under -W error); here the container's header has already passed
    max_pixels, and the caller refuses a picture of any other size.
    """
    Image.init()
    factory, accept = Image.OPEN[codec.upper()]
    accepted = accept is None or accept(data[:16])  # False, or a str saying why not
    if not accepted or isinstance(accepted, str):
        raise SyntaxError(accepted or f"its first bytes are not a {codec.upper()} signature")
    return factory(io.BytesIO(data), "")
