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

import contextlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from . import api, files
from .container import DEFAULT_MAX_PIXELS, Metadata
from .errors import InputError, OpenError, OptionError, RegionCodecError, WriteError
from .files import read_bytes
from .settings import EncodeSettings

# Pillow formats that hold each kind of metadata (checked against Pillow by the tests).
METADATA_FORMATS = {
    "exif": {"AVIF", "JPEG", "PNG", "TIFF", "WEBP"},
    "icc_profile": {"AVIF", "JPEG", "PNG", "TIFF", "WEBP"},
    "xmp": {"AVIF", "JPEG", "PNG", "TIFF", "WEBP"},
}
PNG_XMP_KEYWORD = "XML:com.adobe.xmp"  # the iTXt keyword XMP uses in PNG (XMP spec part 3)
TIFF_XMP_TAG = 700  # the TIFF tag XMP uses (XMP spec part 3)


def encode_file(
    source: Path,
    output: Path,
    settings: EncodeSettings,
    *,
    force: bool = False,
    mask: Path | None = None,
    quality_map: Path | None = None,
) -> None:
    """Code the image file source as .rgc at output; mask and quality_map are image files of the same size."""
    settings.check_guides(mask=mask is not None, quality_map=quality_map is not None)
    mask_image = None if mask is None else open_image(mask)  # encode reads it as non-zero = foreground
    map_image = None if quality_map is None else open_image(quality_map)
    coded = encode_data(read_bytes(source), source, settings, mask=mask_image, quality_map=map_image)
    write_output(output, lambda handle: handle.write(coded), force=force, source=source)


def decode_file(source: Path, output: Path, *, force: bool = False, **options: Any) -> tuple[str, ...]:
    """Decode the .rgc file source to output, in the format its extension names; options as decode_data's.

    Returns the metadata items the output format cannot hold, which it was written without.
    """
    image, unwritten = decode_data(read_bytes(source), source, output_format(output), **options)
    write_output(output, lambda handle: handle.write(image), force=force, source=source)
    return unwritten


def encode_data(data: bytes, name: Path, settings: EncodeSettings, **guides: Any) -> bytes:
    """The .rgc bytes of the image file data (named name in errors); guides are encode's mask and quality_map."""
    image = open_image(io.BytesIO(data), name)
    with named(name):
        return api.encode(image, settings, **guides)


def decode_data(
    data: bytes, name: Path, image_format: str, *, strip: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[bytes, tuple[str, ...]]:
    """The image file (in Pillow's image_format) of .rgc data with its metadata unless strip, and what it left out."""
    with named(name):
        pixels = api.decode(data, max_pixels=max_pixels)
        metadata = Metadata() if strip else api.read_metadata(data)
    options, unwritten = save_options(image_format, metadata)
    out = io.BytesIO()
    try:
        Image.fromarray(pixels).save(out, format=image_format, **options)
    except (OSError, ValueError, KeyError) as exc:
        if getattr(exc, "errno", None):  # the system refused (a full disk)
            raise WriteError(f"{name}: cannot write as {image_format}: {exc}") from None
        raise InputError(f"{name}: cannot write as {image_format}: {exc}") from None  # the format's own limits
    return out.getvalue(), unwritten


@contextlib.contextmanager
def named(name: Path) -> Iterator[None]:
    """Put the file's name in front of the message of a RegionCodecError raised inside."""
    try:
        yield
    except RegionCodecError as exc:
        raise type(exc)(f"{name}: {exc}") from None


def save_options(image_format: str, metadata: Metadata) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Pillow save() keywords that write metadata into image_format, and the items that format cannot hold."""
    items = metadata.as_dict()
    unwritten = tuple(name for name in items if image_format not in METADATA_FORMATS[name])
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


def open_image(file: Path | BinaryIO, name: Path | None = None) -> Image.Image:
    """Open and load any image Pillow reads from a path or a stream (named name in errors)."""
    name = name if name is not None else Path(str(file))
    try:
        with Image.open(file) as image:
            image.load()
            return image
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise OpenError(f"{name}: cannot open: {exc.strerror}") from None
    except UnidentifiedImageError:
        raise InputError(f"{name}: not a readable image: Pillow knows no format that fits it") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"{name}: not a readable image: {exc}") from None


def write_output(path: Path, write: Callable[[BinaryIO], object], *, force: bool, source: Path | None) -> None:
    """Write an output atomically, never over the input; WriteError says why it could not be."""
    try:
        files.write_atomic(path, write, force=force, source=source)
    except WriteError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise WriteError(f"{path}: cannot write: {reason}") from None
