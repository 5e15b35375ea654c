"""One file in, one file out: what `rcodec encode` and `rcodec decode` do, and what a batch does per file.

Failures are CommandError with a sysexits code, so that the command line
reports them as one line with the right exit status and a batch records them
against the file. Outputs are written atomically, never over the input.
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from . import api
from .container import DEFAULT_MAX_PIXELS, Metadata
from .errors import InputError, RegionCodecError
from .files import SameFileError, write_atomic

EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_SOFTWARE, EX_CANTCREAT = 2, 65, 66, 70, 73

# Pillow formats that hold each kind of metadata (checked against Pillow by the tests).
METADATA_FORMATS = {
    "exif": {"AVIF", "JPEG", "PNG", "TIFF", "WEBP"},
    "icc_profile": {"AVIF", "JPEG", "PNG", "TIFF", "WEBP"},
    "xmp": {"AVIF", "JPEG", "PNG", "TIFF", "WEBP"},
}
PNG_XMP_KEYWORD = "XML:com.adobe.xmp"  # the iTXt keyword XMP uses in PNG (XMP spec part 3)
TIFF_XMP_TAG = 700  # the TIFF tag XMP uses (XMP spec part 3)


# What encode_data takes: regioncodec.encode's keywords, and target_bpp.
ENCODE_OPTIONS = (*(name for name in inspect.signature(api.encode).parameters if name != "image"), "target_bpp")


class CommandError(Exception):
    """A failure to report as one line with a sysexits code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def encode_file(
    source: Path,
    output: Path,
    *,
    force: bool = False,
    mask: Path | None = None,
    quality_map: Path | None = None,
    **options: Any,
) -> None:
    """Code the image file source as .rgc at output; mask and quality_map are image files; options as encode_data's."""
    mask_image = None if mask is None else open_image(mask)  # encode reads it as non-zero = foreground
    map_image = None if quality_map is None else open_image(quality_map)
    data = read_bytes(source)
    coded = encode_data(data, source, mask=mask_image, quality_map=map_image, **options)
    write_output(output, lambda handle: handle.write(coded), force=force, source=source)


def decode_file(source: Path, output: Path, *, force: bool = False, **options: Any) -> tuple[str, ...]:
    """Decode the .rgc file source to output, in the format its extension names; options as decode_data's.

    Returns the metadata items the output format cannot hold, which it was written without.
    """
    data = read_bytes(source)
    image, unwritten = decode_data(data, source, output_format(output), **options)
    write_output(output, lambda handle: handle.write(image), force=force, source=source)
    return unwritten


def encode_data(data: bytes, name: Path, *, target_bpp: float | None = None, **options: Any) -> bytes:
    """The .rgc bytes of the image file data (named name in errors); options are regioncodec.encode's.

    target_bpp, bits per pixel, sets target_size from the image's size.
    """
    image = open_image(io.BytesIO(data), name)
    if target_bpp is not None:
        if not target_bpp > 0:
            raise CommandError(f"target bits per pixel must be positive, not {target_bpp}", EX_USAGE)
        options["target_size"] = max(1, int(target_bpp * image.width * image.height / 8))
    try:
        return api.encode(image, **options)
    except RegionCodecError as exc:  # a bad image, or one past a limit
        raise CommandError(f"{name}: {exc}", EX_DATAERR) from None


def decode_data(
    data: bytes, name: Path, image_format: str, *, strip: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[bytes, tuple[str, ...]]:
    """The image file (in Pillow's image_format) of .rgc data with its metadata unless strip, and what it left out."""
    try:
        pixels = api.decode(data, max_pixels=max_pixels)
        metadata = Metadata() if strip else api.read_metadata(data)
    except RegionCodecError as exc:
        raise CommandError(f"{name}: {exc}", EX_USAGE if isinstance(exc, InputError) else EX_DATAERR) from None
    options, unwritten = save_options(image_format, metadata)
    out = io.BytesIO()
    try:
        Image.fromarray(pixels).save(out, format=image_format, **options)
    except (OSError, ValueError, KeyError) as exc:
        code = EX_CANTCREAT if getattr(exc, "errno", None) else EX_DATAERR  # an I/O failure, or the format's limits
        raise CommandError(f"{name}: cannot write as {image_format}: {exc}", code) from None
    return out.getvalue(), unwritten


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
    """The Pillow format that path's extension names, or CommandError if Pillow cannot write one."""
    image_format = Image.registered_extensions().get(path.suffix.lower())
    if image_format is None or image_format not in Image.SAVE:
        raise CommandError(f"{path}: cannot tell an image format Pillow writes from its extension", EX_USAGE)
    return image_format


def open_image(file: Path | BinaryIO, name: Path | None = None) -> Image.Image:
    """Open and load any image Pillow reads from a path or a stream (named name in errors), errors as CommandError."""
    name = name if name is not None else Path(str(file))
    try:
        with Image.open(file) as image:
            image.load()
            return image
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise CommandError(f"{name}: cannot open: {exc.strerror}", EX_NOINPUT) from None
    except UnidentifiedImageError:
        raise CommandError(f"{name}: not a readable image: Pillow knows no format that fits it", EX_DATAERR) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise CommandError(f"{name}: not a readable image: {exc}", EX_DATAERR) from None


def read_bytes(path: Path) -> bytes:
    """The bytes of an input file, errors as CommandError."""
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise CommandError(f"{path}: cannot open: {exc.strerror}", EX_NOINPUT) from None


def write_output(path: Path, write: Callable[[BinaryIO], object], *, force: bool, source: Path | None) -> None:
    """Write an output atomically, never over the input, errors as CommandError."""
    try:
        write_atomic(path, write, force=force, source=source)
    except (FileExistsError, SameFileError) as exc:
        raise CommandError(str(exc), EX_CANTCREAT) from None
    except (OSError, ValueError, KeyError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise CommandError(f"{path}: cannot write: {reason}", EX_CANTCREAT) from None
