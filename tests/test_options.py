"""Encoder options: payload codecs, background scale, quality levels, quality maps, target sizes."""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pytest
from PIL import Image, features

import regioncodec
from regioncodec import FormatError, InputError, LimitError, container, layers, plan, threads
from regioncodec.codecs import native
from regioncodec.codecs.picture import WEBP

from . import naive_decoder
from .conftest import ROOT
from .helpers import importance_mask, pillow_jpeg, psnr


@pytest.fixture(scope="module")
def crop(photo: np.ndarray) -> np.ndarray:
    """A 192x256 piece of the portrait: face, hair and a smooth backdrop."""
    return np.ascontiguousarray(photo[160:352, 128:384])


@pytest.fixture(scope="module")
def crop_mask(crop: np.ndarray) -> np.ndarray:
    return importance_mask(crop)


def uniform_webp(image: np.ndarray) -> bytes:
    """image as a plain WebP file."""
    out = io.BytesIO()
    Image.fromarray(image).save(out, "WEBP")
    return out.getvalue()


def uniform(image: np.ndarray, codec: str, quality: int) -> np.ndarray:
    """image after a uniform Pillow round trip in codec at quality."""
    out = io.BytesIO()
    Image.fromarray(image).save(out, codec.upper(), quality=quality)
    return np.asarray(Image.open(out).convert("RGB"))


@pytest.mark.parametrize("codec", ["webp", "avif"])
def test_canvas_codecs_round_trip_and_keep_their_promise(crop: np.ndarray, crop_mask: np.ndarray, codec: str) -> None:
    data = regioncodec.encode(crop, mask=crop_mask, codec=codec)
    out = regioncodec.decode(data)
    assert out.shape == crop.shape
    assert [r.codec for r in regioncodec.read_info(data).regions] == [codec, codec]
    assert psnr(crop, out, crop_mask) > psnr(crop, out, ~crop_mask)
    assert psnr(crop, out, ~crop_mask) >= psnr(crop, uniform(crop, codec, 30), ~crop_mask) - 0.5


@pytest.mark.parametrize(("fg", "bg"), [(90, 30), (60, 20)])
def test_webp_regions_are_as_faithful_as_a_uniform_webp_of_the_image(fg: int, bg: int) -> None:
    """A region coded at quality q is at least as faithful as a uniform WebP of the whole image at q (README); held
    to a WebP of its box alone, a foreground came out 0.37-0.43 dB below."""
    image = Image.open(ROOT / "samples" / "kodim04.jpg").convert("RGB")
    photo = np.asarray(image.resize((576, 384), Image.Resampling.LANCZOS))  # off the JPEG's own block grid
    mask = np.zeros(photo.shape[:2], bool)
    mask[80:240, 144:400] = True
    out = regioncodec.decode(regioncodec.encode(photo, mask=mask, fg_quality=fg, bg_quality=bg, codec="webp"))
    assert psnr(photo, out, mask) >= psnr(photo, uniform(photo, "webp", fg), mask) - 0.05
    assert psnr(photo, out, ~mask) >= psnr(photo, uniform(photo, "webp", bg), ~mask) - 0.05


def test_the_uniform_webp_a_region_is_held_to_is_made_once_per_quality(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two regions at one quality, on two threads: one whole-image WebP between them (each made its own), and
    only its errors kept."""
    photo = np.asarray(Image.open(ROOT / "samples" / "kodim04.jpg").convert("RGB"))[:384, :384]  # parallel size
    mask = np.zeros(photo.shape[:2], bool)
    mask[96:288, 96:288] = True
    decoded: list[str] = []
    decode = type(WEBP).decode
    monkeypatch.setattr(type(WEBP), "decode", lambda self, *args: decoded.append(args[-1]) or decode(self, *args))
    previous = threads.set_count(2)
    try:
        regioncodec.encode(photo, mask=mask, codec="webp", fg_quality=50, bg_quality=50)
    finally:
        threads.set_count(previous)
    assert decoded.count("uniform picture") == 1


@pytest.mark.parametrize("codec", ["webp", "avif"])
def test_canvas_is_a_plain_picture_of_the_region_box(crop: np.ndarray, codec: str) -> None:
    mask = np.zeros(crop.shape[:2], bool)
    mask[40:70, 100:150] = True  # blocks rows 2..4, cols 6..9
    parsed = container.read(regioncodec.encode(crop, mask=mask, codec=codec))
    with Image.open(io.BytesIO(parsed.layers[1].streams[0])) as picture:
        assert (picture.format, picture.size) == (codec.upper(), (64, 48))


@pytest.mark.parametrize("codec", ["jpeg", "webp", "avif"])
def test_greyscale_round_trips_with_every_codec(crop: np.ndarray, codec: str) -> None:
    grey = np.ascontiguousarray(crop[..., 1])
    out = regioncodec.decode(regioncodec.encode(grey, codec=codec))
    assert out.shape == grey.shape and psnr(grey, out) > 28


def test_grey_avif_canvases_are_monochrome(crop: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    """§7.5: a canvas whose pixels all have R = G = B is coded as a 4:0:0 AVIF, which Pillow opens as L; every
    reader (libavif called directly, or OpenCV without it) decodes it to equal R, G and B."""
    grey = np.ascontiguousarray(crop[..., 1])
    for image, mode in ((grey, "L"), (np.dstack([grey] * 3), "L"), (crop, "RGB")):
        data = regioncodec.encode(image, codec="avif")
        for layer in container.read(data).layers:
            with Image.open(io.BytesIO(layer.streams[0])) as picture:
                assert picture.mode == mode
        if image.ndim == 3 and mode == "L":
            out = regioncodec.decode(data)
            assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
            monkeypatch.setattr(native, "avif_available", lambda: False)
            assert np.array_equal(regioncodec.decode(data), out)
            monkeypatch.undo()


def test_a_payload_codec_this_pillow_lacks_is_a_format_error(crop: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    data = regioncodec.encode(crop, codec="avif")
    monkeypatch.setattr(features, "check", lambda feature: feature != "avif")
    with pytest.raises(FormatError, match="AVIF, which this Pillow cannot read"):
        regioncodec.decode(data)
    with pytest.raises(InputError, match="cannot write AVIF"):
        regioncodec.encode(crop, codec="avif")


@pytest.mark.parametrize("codec", ["webp", "avif"])
def test_no_bomb_warning_from_pillow_for_a_payload(
    crop: np.ndarray, monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    """Pillow's bomb warning (past 89 megapixels, whatever max_pixels says) stays out of payloads: decode's
    max_pixels is the limit, and a warning would be an exception under -W error."""
    data = regioncodec.encode(crop, codec=codec)
    expected = regioncodec.decode(data)
    pixels = crop.shape[0] * crop.shape[1]
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pixels * 2 // 3)  # past the warning, short of the error
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(regioncodec.decode(data), expected)
    with pytest.raises(LimitError, match="max_pixels"):
        regioncodec.decode(data, max_pixels=pixels - 1)


def test_pillows_bomb_error_on_a_webp_payload_is_a_limit_error(
    crop: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pillow's WebP reader refuses pictures past twice MAX_IMAGE_PIXELS (179 megapixels) itself."""
    data = regioncodec.encode(crop, codec="webp")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)  # as if max_pixels were raised past Pillow's
    with contextlib.suppress(Image.DecompressionBombError), WEBP._header_read(uniform_webp(crop)):
        pytest.skip("this Pillow's WebP reader does not check the size itself (only Image.open does)")
    with pytest.raises(LimitError, match="refused by Pillow"):
        regioncodec.decode(data)


@pytest.mark.parametrize("codec", ["jpeg", "avif"])
@pytest.mark.parametrize("scale", [2, 4])
def test_background_scale_shrinks_the_background(
    crop: np.ndarray, crop_mask: np.ndarray, codec: str, scale: int
) -> None:
    full = regioncodec.read_info(regioncodec.encode(crop, mask=crop_mask, codec=codec))
    data = regioncodec.encode(crop, mask=crop_mask, codec=codec, bg_scale=scale)
    reduced = regioncodec.read_info(data)
    assert [r.scale for r in reduced.regions] == [scale, 1]
    # an AVIF canvas of this small crop carries ~300 bytes of headers whatever its scale: libavif 1.3 gets 0.73
    assert reduced.regions[0].bytes < (0.7 if codec == "jpeg" else 0.8) * full.regions[0].bytes
    assert reduced.regions[1].bytes == full.regions[1].bytes or codec != "jpeg"
    out = regioncodec.decode(data)
    assert psnr(crop, out, crop_mask) > psnr(crop, out, ~crop_mask) > 20


def test_background_scale_blends_at_the_border() -> None:
    """A reduced background is enlarged from its neighbours too: no seam where it meets the foreground."""
    ramp = np.tile(np.linspace(40, 200, 128, dtype=np.float32), (64, 1)).astype(np.uint8)
    image = np.dstack([ramp] * 3)
    mask = np.zeros((64, 128), bool)
    mask[:, :64] = True
    out = regioncodec.decode(regioncodec.encode(image, mask=mask, bg_scale=2, fg_quality=95, bg_quality=95))
    step = np.abs(np.diff(out[:, 60:68, 1].astype(int), axis=1)).max()
    assert step <= 4  # the ramp rises 1.3 per pixel; a seam would jump far more


@pytest.mark.parametrize("levels", [3, 4])
def test_levels_split_the_background_by_detail(crop: np.ndarray, crop_mask: np.ndarray, levels: int) -> None:
    data = regioncodec.encode(crop, mask=crop_mask, levels=levels, fg_quality=90, bg_quality=30)
    info = regioncodec.read_info(data)
    qualities = [r.quality for r in info.regions]
    assert len(qualities) == levels and qualities[0] == 30 and qualities[-1] == 90 and qualities == sorted(qualities)
    assert info.regions[-1].role == "foreground" and info.regions[1].role == "level 1"
    background_share = [r.fraction for r in info.regions[:-1]]
    assert max(background_share) - min(background_share) < 0.02  # equal shares of the background
    two = regioncodec.decode(regioncodec.encode(crop, mask=crop_mask, fg_quality=90, bg_quality=30))
    out = regioncodec.decode(data)
    assert psnr(crop, out, ~crop_mask) > psnr(crop, two, ~crop_mask)
    assert psnr(crop, out, crop_mask) >= psnr(crop, pillow_jpeg(crop, 90), crop_mask) - 0.05


def test_quality_map_sets_each_block(crop: np.ndarray) -> None:
    quality_map = np.zeros(crop.shape[:2], np.uint8)
    quality_map[:, 128:] = 255
    quality_map[:64, :64] = 127
    info = regioncodec.read_info(regioncodec.encode(crop, quality_map=quality_map))
    assert [(r.quality, round(r.fraction, 3)) for r in info.regions] == [(1, 0.417), (50, 0.083), (100, 0.5)]
    from_pil = regioncodec.encode(crop, quality_map=Image.fromarray(quality_map))
    assert from_pil == regioncodec.encode(crop, quality_map=quality_map)


def test_quality_map_keeps_at_most_eight_levels(crop: np.ndarray) -> None:
    gradient = np.tile(np.linspace(0, 255, crop.shape[1]).astype(np.uint8), (crop.shape[0], 1))
    info = regioncodec.read_info(regioncodec.encode(crop, quality_map=gradient))
    assert (
        len(info.regions) == 8 and info.regions[0].quality == 7 and info.regions[-1].quality == 100
    )  # blocks take their brightest pixel


def test_lowest_quality_bisects_to_the_first_good_enough_result() -> None:
    asked: list[int] = []

    def code(quality: int) -> int:
        asked.append(quality)
        return quality

    assert plan.lowest_quality(code, lambda quality: quality >= 37) == 37
    assert len(asked) <= 7  # bisection over 1..100, not a scan
    assert plan.lowest_quality(code, lambda quality: False) is None
    assert plan.lowest_quality(code, lambda quality: True) == 1


def test_a_layer_is_coded_once_however_often_a_search_asks(crop: np.ndarray, crop_mask: np.ndarray) -> None:
    coder = layers.LayerCoder(crop, crop_mask[::16, ::16].astype(np.uint8), 16, ["jpeg", "jpeg"])
    assert coder.layer(1, 90, 1) is coder.layer(1, 90, 1)
    assert coder.layer(1, 90, 1) is not coder.layer(1, 89, 1)


@pytest.mark.parametrize("codec", ["jpeg", "webp"])
@pytest.mark.parametrize("share", [0.25, 0.6])
def test_target_size_lands_within_five_percent_below(crop: np.ndarray, codec: str, share: float) -> None:
    target = int(share * len(regioncodec.encode(crop, fg_quality=95, bg_quality=95, codec=codec)))
    data = regioncodec.encode(crop, target_size=target, codec=codec)
    assert 0.95 * target <= len(data) <= target


def test_target_size_out_of_reach(crop: np.ndarray) -> None:
    with pytest.raises(InputError, match="target size 100 bytes is out of reach: the smallest file is"):
        regioncodec.encode(crop, target_size=100)


def test_mixed_layouts_decode(crop: np.ndarray, crop_mask: np.ndarray) -> None:
    """A canvas foreground over a JPEG background, which regioncodec never writes, decodes too (spec §11.9)."""
    jpeg = container.read(regioncodec.encode(crop, mask=crop_mask))
    webp = container.read(regioncodec.encode(crop, mask=crop_mask, codec="webp"))
    mixed = container.write(container.Container(jpeg.header, jpeg.block_map, (jpeg.layers[0], webp.layers[1])))
    out = regioncodec.decode(mixed)
    assert psnr(crop, out) > 30 and np.array_equal(out, naive_decoder.decode(mixed))


def test_canvas_of_the_wrong_size_is_refused(crop: np.ndarray, crop_mask: np.ndarray) -> None:
    parsed = container.read(regioncodec.encode(crop, mask=crop_mask, codec="webp"))
    small = io.BytesIO()
    Image.new("RGB", (8, 8)).save(small, "WEBP")
    layer = container.Layer(1, "webp", 90, 1, (small.getvalue(),))
    with pytest.raises(FormatError, match="picture of region 1 is a 8x8 picture"):
        regioncodec.decode(
            container.write(container.Container(parsed.header, parsed.block_map, (parsed.layers[0], layer)))
        )


@pytest.mark.parametrize(
    "options, match",
    [
        ({"codec": "png"}, "unknown codec 'png'; choose from jpeg, webp, avif"),
        ({"bg_scale": 3}, "bg_scale must be one of 1, 2, 4"),
        ({"bg_scale": True}, "bg_scale"),
        ({"bg_scale": 2.0}, "bg_scale must be one of 1, 2, 4 or 'auto', not 2.0"),
        ({"target_bpp": True}, "target_bpp must be a positive number of bits per pixel, not True"),
        ({"levels": 1}, "levels must be an integer from 2 to 8"),
        ({"levels": 9}, "levels"),
        ({"target_size": 0}, "target_size"),
        ({"quality_map": np.zeros((3, 3), np.uint8)}, "quality_map is 3x3 but the image is 256x192"),
        ({"quality_map": np.zeros((192, 256), np.float32)}, "uint8"),
        ({"quality_map": np.zeros((192, 256), np.uint8), "levels": 3}, "quality map is used as it is: levels"),
        ({"quality_map": np.zeros((192, 256), np.uint8), "fg_quality": 80}, "quality map is used as it is: fg_quality"),
        ({"fg_quality": 80, "bg_quality": 90}, "bg_quality 90 is above fg_quality 80"),
        ({"fg_qualty": 80}, "unknown encode options fg_qualty"),
    ],
)
def test_bad_options(crop: np.ndarray, options: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        regioncodec.encode(crop, **options)


def test_auto_scale_reduces_a_smooth_background_without_losing_fidelity(
    crop: np.ndarray, crop_mask: np.ndarray
) -> None:
    """The portrait's backdrop and skin are smooth enough to code at half size for fewer bytes (at background
    quality 20: at 30 the full-resolution background, its DC step capped (layers.py), is more faithful than any
    cheaper half-size one, and auto keeps it)."""
    full = regioncodec.encode(crop, mask=crop_mask, fg_quality=90, bg_quality=20)
    auto = regioncodec.encode(crop, mask=crop_mask, bg_scale="auto", fg_quality=90, bg_quality=20)
    region = regioncodec.read_info(auto).regions[0]
    assert region.scale > 1
    assert region.bytes < regioncodec.read_info(full).regions[0].bytes
    assert psnr(crop, regioncodec.decode(auto), ~crop_mask) >= psnr(crop, regioncodec.decode(full), ~crop_mask)


def test_auto_scale_keeps_a_detailed_background_whole() -> None:
    noise = np.random.default_rng(4).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    mask = np.zeros((96, 128), bool)
    mask[32:64, 48:80] = True
    auto = regioncodec.encode(noise, mask=mask, bg_scale="auto")
    assert auto == regioncodec.encode(noise, mask=mask)
