"""Hostile inputs to encode: it codes them or raises RegionCodecError (InputError), never anything else.

Every PIL mode, arrays of every odd dtype and shape, images Pillow opened but cannot give pixels of, metadata
Pillow cannot serialise, and the size limits each codec's decoder keeps (defects 4 and 5 of the issue).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, features

import regioncodec
from regioncodec import EncodeSettings, InputError, RegionCodecError, encoder
from regioncodec.codecs import CODECS

from .conftest import DATA
from .helpers import rcodec

PIL_MODES = ("1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV")
PIL_MODES += ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")  # every mode Pillow makes images of
REFUSED_MODES = ("I", "F")  # their range is unknown (README)
RGB = np.zeros((64, 96, 3), np.uint8)


def coded_or_refused(image: object, **options: object) -> bytes | None:
    """encode(image), or None if it raised RegionCodecError; anything else fails the test."""
    try:
        return regioncodec.encode(image, **options)  # type: ignore[arg-type]
    except RegionCodecError as exc:
        assert str(exc)
        return None


@pytest.mark.parametrize("mode", PIL_MODES)
def test_every_pil_mode_is_coded_or_refused(mode: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        image = Image.new(mode, (33, 17))
    data = coded_or_refused(image)
    assert (data is None) == (mode in REFUSED_MODES)


def png(size: tuple[int, int] = (256, 256)) -> bytes:
    """A PNG of noise (so it does not compress to nothing)."""
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (*size[::-1], 3), np.uint8)).save(out, "PNG")
    return out.getvalue()


def closed_image() -> Image.Image:
    image = Image.open(io.BytesIO(png()))
    image.close()
    return image


def exif_holding(value: object) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010E] = value  # ImageDescription
    return exif


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Image.open(DATA / "regressions" / "palette-trns-300-entries.png"), "palette index out of range"),
        (lambda: Image.open(io.BytesIO(png()[:3000])), "truncated"),  # opened lazily: cut short on load
        (closed_image, "closed image"),
    ],
    ids=["palette-trns-300", "lazy-truncated-png", "closed-image"],
)
def test_images_pillow_cannot_give_pixels_of_are_input_errors(make: object, match: str) -> None:
    """Before: ValueError, OSError and ValueError escaped encode (the CLI exited 70)."""
    with pytest.raises(InputError, match=match):
        regioncodec.encode(make())  # type: ignore[operator]


def test_the_command_line_refuses_a_palette_png_with_a_300_entry_trns_as_bad_data(tmp_path: Path) -> None:
    done = rcodec("encode", DATA / "regressions" / "palette-trns-300-entries.png", tmp_path / "out.rgc")
    assert done.returncode == 65 and "palette index out of range" in done.stderr


@pytest.mark.parametrize(
    "options, match",
    [
        ({"xmp": "\ud800"}, "xmp is not valid Unicode"),
        ({"exif": exif_holding(object())}, "exif cannot be serialised"),
        ({"mask": np.ones((64, 96, 3), bool)}, r"mask must be H x W .* shape \(64, 96, 3\)"),
        ({"mask": closed_image()}, "closed image"),
        ({"quality_map": closed_image()}, "closed image"),
    ],
    ids=["xmp-surrogate", "exif-object", "mask-3d", "mask-closed", "quality-map-closed"],
)
def test_metadata_and_guides_that_cannot_be_used_are_input_errors(options: dict[str, object], match: str) -> None:
    """Before: UnicodeEncodeError, TypeError, "mask is 96x64 but the image is 96x64", ValueError."""
    with pytest.raises(InputError, match=match):
        regioncodec.encode(RGB, **options)  # type: ignore[arg-type]


def test_metadata_from_a_pil_image_that_cannot_be_serialised_is_an_input_error() -> None:
    image = Image.new("RGB", (16, 16))
    image.info["exif"] = exif_holding(object())
    with pytest.raises(InputError, match="exif cannot be serialised"):
        regioncodec.encode(image)
    image.info["exif"] = b""
    image.info["xmp"] = "\udcff"
    with pytest.raises(InputError, match="xmp is not valid Unicode"):
        regioncodec.encode(image)


@pytest.mark.parametrize("dtype", [">u2", "<u2"])
def test_uint16_arrays_of_either_byte_order_are_coded(dtype: str) -> None:
    """Before: a big-endian uint16 array was refused as "must be uint8 (or uint16), not >u2"."""
    image = (np.arange(64 * 96, dtype=np.uint32).reshape(64, 96) * 10).astype(dtype)
    native = regioncodec.decode(regioncodec.encode(image.astype(np.uint16)))
    assert np.array_equal(regioncodec.decode(regioncodec.encode(image)), native)


HOSTILE_ARRAYS = {
    "int8": np.zeros((16, 16), np.int8),
    "float16": np.zeros((16, 16), np.float16),
    "object": np.zeros((16, 16), object),
    "structured": np.zeros((16, 16), [("a", np.uint8)]),
    "void": np.zeros((4, 4), "V3"),
    "0x0": np.zeros((0, 0), np.uint8),
    "0-d": np.array(5, np.uint8),
    "HxWx5": np.zeros((16, 16, 5), np.uint8),
    "side-70000": np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), (70000, 2), (0, 0)),
    "strided": np.zeros((64, 64, 3), np.uint8)[::3, ::-2],
    "broadcast": np.broadcast_to(np.zeros((1, 16, 3), np.uint8), (16, 16, 3)),
    "masked": np.ma.zeros((16, 16), np.uint8),
    "fortran-order": np.asfortranarray(np.zeros((16, 16, 3), np.uint8)),
}


@pytest.mark.parametrize("name", HOSTILE_ARRAYS)
def test_odd_arrays_are_coded_or_refused(name: str) -> None:
    coded_or_refused(HOSTILE_ARRAYS[name])


@pytest.mark.parametrize("codec", ["webp", "avif"])
def test_canvas_codecs_refuse_images_past_their_decoders_limit(codec: str) -> None:
    """An image a side of which is past what the codec's decoder reads is refused before any work, at every
    scale: encode(codec="avif") wrote 40,000-pixel-wide files its own decoder refused (libavif's 32,768)."""
    if not features.check(codec):
        pytest.skip(f"this Pillow has no {codec}")
    side = CODECS[codec].max_side
    wide = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), (16, side + 1, 3), (0, 0, 0))
    for bg_scale in (1, 4):
        with pytest.raises(InputError, match=f"{side}"):
            regioncodec.encode(wide, codec=codec, bg_scale=bg_scale, mask=np.zeros((16, side + 1), bool))


@pytest.mark.parametrize(
    "codec, shape, match",
    [
        ("jpeg", (32_768, 32_800), "more than the 1073741824 the decoder"),
        ("avif", (16_385, 16_400), "268435456 in all"),
        ("webp", (16_383, 16_384), "16383 pixels a side"),
    ],
)
def test_encode_refuses_what_no_decoder_of_its_codec_reads(codec: str, shape: tuple[int, int], match: str) -> None:
    """A JPEG stream past OpenCV's 2^30 pixels, an AVIF picture past libavif's 16384 x 16384: checked before any
    work, on the image's size alone (the pixels here are one byte, strided)."""
    image = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), shape, (0, 0))
    settings = EncodeSettings(codec=codec, block_size=16)
    with pytest.raises(InputError, match=match):
        encoder._check_fits(image, settings)
    encoder._check_fits(image[: shape[0] // 2, : shape[1] // 2], settings)  # half the size fits
