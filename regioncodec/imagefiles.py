"""Image files in and out: what `rcodec encode`, `rcodec decode` and a batch do with each file.

Reading opens any image Pillow reads; writing puts the output in place
atomically (files.py), never over the input, and writes the metadata back
where the output format holds it. Failures are RegionCodecError subclasses
whose message names the file: OpenError (cannot read), InputError (not an
image, or one that cannot be coded), FormatError and LimitError (a bad or
too large .rgc file), OptionError (a setting or an output format that cannot
be), WriteError (cannot write).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image, PngImagePlugin

from . import api, files, jpegdct, pixels, sources
from .container import DEFAULT_MAX_PIXELS, Metadata
from .errors import InputError, OptionError, WriteError, named
from .info import read_info
from .settings import EncodeSettings

FIRST_FRAME_HINT = "; rcodec encode --first-frame codes the first"  # how a user gets a picture out of an animation

# Pillow formats that hold each kind of metadata (checked against Pillow by the tests).
METADATA_FORMATS = {
    "exif": {"AVIF", "JPEG", "PNG", "TIFF", "WEBP"},
    "icc_profile": {"AVIF", "JPEG", "PNG", "TIFF", "WEBP"},
    "xmp": {"AVIF", "JPEG", "PNG", "TIFF", "WEBP"},
}
PNG_XMP_KEYWORD = "XML:com.adobe.xmp"  # the iTXt keyword XMP uses in PNG (XMP spec part 3)
TIFF_XMP_TAG = 700  # the TIFF tag XMP uses (XMP spec part 3)
# Pillow formats that write both LA and RGBA with their alpha (checked against Pillow by the tests); into any
# other, decoding flattens alpha onto a background colour: JPEG refuses alpha, BMP and PPM would drop it unsaid.
ALPHA_FORMATS = {"AVIF", "DDS", "ICNS", "ICO", "JPEG2000", "PNG", "TGA", "TIFF", "WEBP"}
WHITE = (255, 255, 255)  # what transparent pixels become by default in a format without alpha: a page's colour
# Lossy formats take a quality; decode writes them at the file's foreground quality unless told, not at Pillow's
# default of 75, which costs a q90 foreground 4 dB (issue 13).
LOSSY_FORMATS = {"AVIF", "JPEG", "WEBP"}


def encode_data(data: bytes, name: Path, settings: EncodeSettings, **guides: Any) -> bytes:
    """The .rgc bytes of the image file data (named name in errors); guides are encode's mask and quality_map."""
    return encode_image(open_image(io.BytesIO(data), name), name, settings, data=data, **guides)


def encode_image(
    image: Image.Image,
    name: Path,
    settings: EncodeSettings,
    *,
    data: bytes | None = None,
    notes: list[str] | None = None,
    **guides: Any,
) -> bytes:
    """The .rgc bytes of an opened image file (named name in errors); guides are encode's mask and quality_map.

    data is the file's bytes: for a JPEG, what lets the encoder keep its
    coefficients and never write a larger file (api.encode); notes, if
    given, gets what that changed.
    """
    source = data if data is not None and image.format in sources.JPEG_FORMATS else None
    with named(name):
        return api.encode(image, settings, source=source, notes=notes, **guides)


def decode_data(
    data: bytes,
    name: Path,
    image_format: str,
    *,
    strip: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    quality: int | None = None,
    background: tuple[int, int, int] = WHITE,
    reduce: int = 1,
) -> tuple[bytes, tuple[str, ...]]:
    """The image file (in Pillow's image_format) of .rgc data with its metadata unless strip, and what it left out.

    A lossy format is written at quality, by default the file's foreground
    quality; alpha is flattened onto background where the format has none
    ("alpha" is then among what was left out). reduce > 1 writes the quick
    preview at 1/reduce of the size (api.decode).
    """
    if quality is not None and image_format not in LOSSY_FORMATS:
        raise OptionError(f"a quality is for {', '.join(sorted(LOSSY_FORMATS))} outputs; {image_format} is lossless")
    with named(name):
        decoded = api.decode(data, max_pixels=max_pixels, reduce=reduce)
        metadata = Metadata() if strip else api.read_metadata(data)
        if image_format in LOSSY_FORMATS and quality is None:
            quality = max(region.quality for region in read_info(data).regions)
    options, unwritten = save_options(image_format, metadata)
    if quality is not None:
        options["quality"] = quality
    picture = Image.fromarray(decoded)
    if picture.mode in ("LA", "RGBA") and image_format not in ALPHA_FORMATS:
        picture, unwritten = flatten(picture, background), (*unwritten, "alpha")
    out = io.BytesIO()
    try:
        picture.save(out, format=image_format, **options)
    except (OSError, ValueError, KeyError) as exc:
        if getattr(exc, "errno", None):  # the system refused (a full disk)
            raise WriteError(f"{name}: cannot write as {image_format}: {exc}") from None
        raise InputError(f"{name}: cannot write as {image_format}: {exc}") from None  # the format's own limits
    return out.getvalue(), unwritten


def flatten(picture: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """An LA or RGBA picture composited over an opaque background colour, as L or RGB."""
    under = Image.new("RGBA", picture.size, (*background, 255))
    return Image.alpha_composite(under, picture.convert("RGBA")).convert(picture.mode[:-1])  # L: the luma


def save_options(image_format: str, metadata: Metadata) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Pillow save() keywords that write metadata into image_format, and the items that format cannot hold."""
    items = metadata.as_dict()
    too_large = jpegdct.jpeg_unfit(metadata) if image_format == "JPEG" else ()
    unwritten = tuple(name for name in items if image_format not in METADATA_FORMATS[name] or name in too_large)
    kept: dict[str, Any] = {name: value for name, value in items.items() if name not in unwritten}
    if image_format == "PNG" and "xmp" in kept:  # Pillow's PNG writer takes XMP as an iTXt chunk
        text = PngImagePlugin.PngInfo()
        text.add_itxt(PNG_XMP_KEYWORD, kept.pop("xmp").decode("utf-8"))
        kept["pnginfo"] = text
    if image_format == "TIFF" and "xmp" in kept:  # Pillow's TIFF writer takes XMP as a tag beside EXIF's
        tags = Image.Exif()
        if "exif" in kept:
            tags.load(kept["exif"])
        tags[TIFF_XMP_TAG] = kept.pop("xmp")
        kept["exif"] = tags
    return kept, unwritten


def output_format(path: Path) -> str:
    """The Pillow format that path's extension names, or OptionError if Pillow cannot write one."""
    image_format = Image.registered_extensions().get(path.suffix.lower())
    if image_format is None or image_format not in Image.SAVE:
        raise OptionError(f"{path}: cannot tell an image format Pillow writes from its extension")
    return image_format


def open_image(file: Path | BinaryIO, name: Path | None = None, *, first_frame: bool = False) -> Image.Image:
    """Open and load any image Pillow reads from a path or a stream (named name in errors).

    An image of several frames (an animation, pages) is refused with
    InputError, as .rgc holds one picture, unless first_frame.
    """
    if isinstance(file, Path):  # read here, so that whatever keeps the file from being read is an OpenError
        return open_image(io.BytesIO(files.read_bytes(file)), name or file, first_frame=first_frame)
    with named(name or Path("image")):
        return pixels.open_picture(file, first_frame=first_frame, hint=FIRST_FRAME_HINT)


def write_output(path: Path, write: Callable[[BinaryIO], object], *, force: bool, sources: Sequence[Path]) -> None:
    """Write an output atomically, never over an input (sources); WriteError says why it could not be."""
    try:
        files.write_atomic(path, write, force=force, sources=sources)
    except WriteError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise WriteError(f"{path}: cannot write: {reason}") from None
