"""The public API: round trips, options, clear errors for bad arguments, determinism and threads."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

import regioncodec
from regioncodec import FormatError, InputError, LimitError, container
from regioncodec.settings import DEFAULT_BG_QUALITY, DEFAULT_FG_QUALITY

from .conftest import DATA, ROOT
from .craft import all_background, padded, refused
from .helpers import pillow_jpeg, psnr, random_image

SMALLEST = (DATA / "smallest.rgc").read_bytes()

# Each round trip codes a whole image, so it gets a fifth of the profile's examples (small images: ~2 s in all).
ROUND_TRIPS = max(20, settings.default.max_examples // 5)


@pytest.mark.parametrize(
    "shape", [(1, 1), (17, 33), (31, 1), (513, 769), (1, 1, 3), (17, 33, 3), (31, 1, 3), (513, 769, 3)]
)
def test_round_trip_keeps_shape_and_mode(shape: tuple[int, ...]) -> None:
    image = random_image(shape)
    out = regioncodec.decode(regioncodec.encode(image))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert psnr(out, image) > 25


@st.composite
def images(draw: st.DrawFn) -> np.ndarray:
    """An L or RGB image of 1..80 pixels a side, smooth or noisy, as encode meets them."""
    shape = (draw(st.integers(1, 80)), draw(st.integers(1, 80))) + draw(st.sampled_from([(), (3,)]))
    seed = draw(st.integers(0, 2**32 - 1))
    if draw(st.booleans()):
        return random_image(shape, seed)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@settings(max_examples=ROUND_TRIPS)
@given(
    image=images(),
    fg_quality=st.integers(1, 100),
    bg_quality=st.integers(1, 100),
    block_size=st.sampled_from([8, 16, 32, 64]),
    mask_seed=st.none() | st.integers(0, 2**32 - 1),
    codec=st.sampled_from(["jpeg", "jpeg", "webp", "avif"]),
    bg_scale=st.sampled_from([1, 2, 4]),
    levels=st.sampled_from([2, 3]),
)
def test_round_trip_keeps_shape_and_mode_for_any_image(
    image: np.ndarray,
    fg_quality: int,
    bg_quality: int,
    block_size: int,
    mask_seed: int | None,
    codec: str,
    bg_scale: int,
    levels: int,
) -> None:
    if image.ndim == 3:
        block_size = max(block_size, 16)
    bg_quality, fg_quality = sorted((bg_quality, fg_quality))  # a background above the foreground is refused
    mask = None if mask_seed is None else np.random.default_rng(mask_seed).random(image.shape[:2]) < 0.02
    options = {"mask": mask, "block_size": block_size, "codec": codec, "bg_scale": bg_scale, "levels": levels}
    data = regioncodec.encode(image, fg_quality=fg_quality, bg_quality=bg_quality, **options)
    out = regioncodec.decode(data)
    assert out.shape == image.shape and out.dtype == np.uint8
    info = regioncodec.read_info(data)
    assert (info.mode, info.block_size) == ("RGB" if image.ndim == 3 else "L", block_size)
    regions = info.regions
    assert (regions[0].quality, regions[-1].quality, regions[0].scale) == (bg_quality, fg_quality, bg_scale)
    if len(regions) == levels + 1:  # subjects found by segmentation get a middle region of their own (plan.py)
        assert (mask, levels, regions[1].quality) == (None, 2, (bg_quality + fg_quality + 1) // 2)
    else:
        assert len(regions) == levels
    assert info.fg_fraction == pytest.approx(regioncodec.read_mask(data).mean())  # edge blocks count what shows
    if mask is not None:
        assert regioncodec.read_mask(data)[mask].all()  # every foreground pixel's block is foreground


@pytest.mark.parametrize("shape", [(17, 33), (17, 33, 3), (64, 48, 3)])
@pytest.mark.parametrize("quality", [1, 30, 100])
def test_error_matches_uniform_jpeg_at_the_same_quality(shape: tuple[int, ...], quality: int) -> None:
    image = random_image(shape, seed=3)
    out = regioncodec.decode(regioncodec.encode(image, fg_quality=quality, bg_quality=quality))
    uniform = psnr(pillow_jpeg(image, quality), image)
    # at most 0.5 dB worse; better where the blocks below the foreground cap their DC step (layers.py)
    assert uniform - 0.5 <= psnr(out, image) <= uniform + (1.5 if quality < 50 else 0.5)


def test_quality_bounds_order_the_error(photo: np.ndarray) -> None:
    crop = photo[:128, :128]
    errors = [
        psnr(regioncodec.decode(regioncodec.encode(crop, fg_quality=q, bg_quality=q)), crop) for q in (1, 50, 100)
    ]
    assert errors[0] < errors[1] < errors[2]


@pytest.mark.parametrize("fill", [True, False])
def test_all_foreground_or_all_background_mask(photo: np.ndarray, fill: bool) -> None:
    crop = photo[:96, :160]
    data = regioncodec.encode(crop, mask=np.full(crop.shape[:2], fill))
    info = regioncodec.read_info(data)
    assert info.fg_fraction == (1.0 if fill else 0.0)
    empty = info.regions[0 if fill else 1]
    assert empty.bytes == 0
    expected_quality = DEFAULT_FG_QUALITY if fill else DEFAULT_BG_QUALITY
    assert psnr(regioncodec.decode(data), crop) >= psnr(pillow_jpeg(crop, expected_quality), crop) - 0.05


def test_foreground_error_below_background_error(photo: np.ndarray) -> None:
    """What the codec is for: the foreground comes out better than the background."""
    data = regioncodec.encode(photo, fg_quality=90, bg_quality=30)
    out = regioncodec.decode(data)
    fg = regioncodec.read_mask(data)
    assert 0.05 < fg.mean() < 0.95
    assert psnr(out, photo, fg) > psnr(out, photo, ~fg) + 1.0


def test_user_mask_is_used_block_by_block(photo: np.ndarray) -> None:
    mask = np.zeros(photo.shape[:2], bool)
    mask[100:101, 200:201] = True  # one pixel makes its 16x16 block foreground
    stored = regioncodec.read_mask(regioncodec.encode(photo, mask=mask))
    expected = np.zeros_like(mask)
    expected[96:112, 192:208] = True
    assert np.array_equal(stored, expected)


def test_integer_mask_non_zero_is_foreground(photo: np.ndarray) -> None:
    mask = np.zeros(photo.shape[:2], np.uint8)
    mask[:16, :16] = 255
    assert regioncodec.read_mask(regioncodec.encode(photo, mask=mask))[:16, :16].all()


def test_segment_is_what_encode_uses(photo: np.ndarray) -> None:
    mask = regioncodec.segment(photo)
    assert mask.shape == photo.shape[:2] and mask.dtype == bool
    assert np.array_equal(mask, regioncodec.read_mask(regioncodec.encode(photo, subjects=False)))
    lifted = regioncodec.segment(photo, subjects=True)  # skin and holes too: all that is above the background
    assert np.array_equal(lifted, regioncodec.read_mask(regioncodec.encode(photo))) and lifted.sum() > mask.sum()


def test_pil_images_are_accepted() -> None:
    image = random_image((40, 50, 3))
    for pil in (Image.fromarray(image), Image.fromarray(image).convert("P"), Image.fromarray(image).convert("CMYK")):
        assert regioncodec.decode(regioncodec.encode(pil)).shape == (40, 50, 3)
    assert regioncodec.decode(regioncodec.encode(Image.fromarray(image[..., 0]))).shape == (40, 50)
    assert regioncodec.decode(regioncodec.encode(Image.fromarray(image).convert("1"))).shape == (40, 50)


def test_deterministic(photo: np.ndarray) -> None:
    assert regioncodec.encode(photo) == regioncodec.encode(photo.copy())


DIGESTS = """
import hashlib, sys
import cv2, numpy as np, regioncodec
from PIL import Image
cv2.setNumThreads(int(sys.argv[2]))
data = regioncodec.encode(np.asarray(Image.open(sys.argv[1]).convert("RGB")), fg_quality=85, bg_quality=25)
print(hashlib.sha256(data).hexdigest(), hashlib.sha256(regioncodec.decode(data)).hexdigest())
"""


def test_deterministic_across_processes_and_thread_counts(photo: np.ndarray) -> None:
    """Identical bytes and pixels from a fresh process with another hash seed and 1 or 2 OpenCV threads."""
    data = regioncodec.encode(photo, fg_quality=85, bg_quality=25)
    here = f"{hashlib.sha256(data).hexdigest()} {hashlib.sha256(regioncodec.decode(data)).hexdigest()}"
    for threads, hash_seed in ((1, "1"), (2, "2")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", DIGESTS, str(ROOT / "samples" / "kodim04.jpg"), str(threads)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        assert done.stdout.strip() == here


def test_threads_give_the_same_bytes_and_pixels_as_one(photo: np.ndarray) -> None:
    """Encoding and decoding in 4 threads at once matches doing it sequentially, byte for byte."""
    jobs = [
        (photo[top : top + 256, left : left + 320], 40 + 5 * i, 15 + i, 16 << i % 3)
        for i, (top, left) in enumerate([(0, 0), (256, 0), (512, 0), (0, 192), (256, 192), (512, 192)] * 2)
    ]
    jobs += [(np.ascontiguousarray(crop[..., 1]), fg, bg, 8) for crop, fg, bg, _ in jobs[:4]]

    def encode(job: tuple[np.ndarray, int, int, int]) -> bytes:
        image, fg, bg, block = job
        return regioncodec.encode(image, fg_quality=fg, bg_quality=bg, block_size=block)

    files = [encode(job) for job in jobs]
    pixels = [regioncodec.decode(data) for data in files]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            assert list(pool.map(encode, jobs)) == files
            assert all(np.array_equal(a, b) for a, b in zip(pool.map(regioncodec.decode, files), pixels, strict=True))


@pytest.mark.parametrize("block_size", [16, 32, 64])
def test_block_sizes(photo: np.ndarray, block_size: int) -> None:
    crop = photo[:100, :130]
    data = regioncodec.encode(crop, block_size=block_size)
    assert regioncodec.read_info(data).block_size == block_size
    assert psnr(regioncodec.decode(data), crop) > 25


def test_greyscale_allows_8_pixel_blocks() -> None:
    image = random_image((30, 40))
    assert regioncodec.decode(regioncodec.encode(image, block_size=8)).shape == (30, 40)
    with pytest.raises(InputError, match="block_size"):
        regioncodec.encode(np.dstack([image] * 3), block_size=8)


def test_inspect_reports_each_region(photo: np.ndarray) -> None:
    data = regioncodec.encode(photo, fg_quality=85, bg_quality=20)
    info = regioncodec.read_info(data)
    assert (info.width, info.height, info.mode, info.block_size) == (512, 768, "RGB", 16)
    assert [(r.role, r.codec, r.quality) for r in info.regions] == [
        ("background", "jpeg", 20),
        ("level 1", "jpeg", 53),  # skin and holes (segmentation.subject_grid): halfway, halves up
        ("foreground", "jpeg", 85),
    ]
    assert sum(r.bytes for r in info.regions) + info.overhead_bytes == len(data)
    assert info.overhead_bytes < 300
    assert info.fg_fraction == pytest.approx(regioncodec.read_mask(data).mean())
    assert info.as_dict()["overhead_bytes"] == info.overhead_bytes


@pytest.mark.parametrize(
    "image, match",
    [
        (np.zeros((4, 4, 3), np.float32), "uint8"),
        (np.zeros((4, 4), bool), "uint8"),
        (np.zeros((4, 4, 5), np.uint8), "shape"),
        (np.zeros((4, 4, 1), np.uint8), "shape"),
        (np.zeros((4,), np.uint8), "shape"),
        (np.zeros((0, 4), np.uint8), "1..65500"),
        ([[1, 2], [3, 4]], "numpy array or PIL.Image"),
        (Image.new("I", (4, 4)), "mode I is not supported"),
        (Image.new("F", (4, 4)), "mode F is not supported"),
    ],
)
def test_bad_images_raise_input_error(image: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        regioncodec.encode(image)  # type: ignore[arg-type]


@pytest.mark.parametrize("block_size, largest", [(8, 65_496), (16, 65_488), (64, 65_472)])
def test_sides_must_pad_to_blocks_within_jpegs_limit(block_size: int, largest: int) -> None:
    """A side that pads past 65,500 cannot be a JPEG mosaic: refused up front, not by libjpeg as an OSError."""
    for shape in ((1, largest + 1), (largest + 1, 1)):
        with pytest.raises(InputError, match=f"each side must be at most {largest}"):
            regioncodec.encode(np.zeros(shape, np.uint8), block_size=block_size, mask=np.ones(shape, bool))
    widest = np.zeros((1, largest), np.uint8)
    data = regioncodec.encode(widest, block_size=block_size, mask=np.ones(widest.shape, bool))
    assert regioncodec.decode(data).shape == widest.shape


@pytest.mark.parametrize(
    "options, match",
    [
        ({"fg_quality": 0}, "fg_quality"),
        ({"bg_quality": 101}, "bg_quality"),
        ({"fg_quality": 50.5}, "fg_quality"),
        ({"bg_quality": True}, "bg_quality"),
        ({"method": "nope"}, "edges"),
        ({"block_size": 12}, "block_size"),
        ({"mask": np.zeros((5, 5), bool)}, "mask is 5x5 but the image is 8x6"),
        ({"mask": np.zeros((6, 8), np.float32)}, "boolean or integer"),
        ({"mask": Image.new("L", (6, 8))}, "mask is 6x8 but the image is 8x6"),
        ({"exif": b"not exif"}, "exif does not start with a TIFF header"),
        ({"exif": 42}, "exif must be bytes"),
        ({"icc_profile": bytes(100)}, "icc_profile is not an ICC profile"),
        ({"xmp": b"\xff"}, "xmp is not UTF-8"),
        ({"strip": "yes"}, "strip must be True or False"),
    ],
)
def test_bad_options_raise_input_error(options: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        regioncodec.encode(np.zeros((6, 8, 3), np.uint8), **options)


def test_decode_rejects_non_bytes_and_bad_limits() -> None:
    with pytest.raises(InputError, match="bytes"):
        regioncodec.decode("not bytes")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="max_pixels"):
        regioncodec.decode(b"", max_pixels=0)


def test_pixel_limit(photo: np.ndarray) -> None:
    data = regioncodec.encode(photo[:64, :64])
    assert regioncodec.decode(data, max_pixels=64 * 64).shape == (64, 64, 3)
    with pytest.raises(regioncodec.LimitError, match="4096 pixels, over the limit of 4095"):
        regioncodec.decode(data, max_pixels=64 * 64 - 1)


def largest_file(block_size: int) -> tuple[bytes, int]:
    """A 2 KB file of the largest legal image, all background, and the bytes of its block map."""
    return all_background(65_500, 65_500, block_size, b"\xff\xd8"), (-(-65_500 // block_size)) ** 2


def test_a_small_file_cannot_make_inspect_build_a_large_map() -> None:
    """A 2 KB file declaring a 16 MB map is refused before the map is decompressed: its streams could not code
    that many blocks (a bit per 8x8 block, spec §6)."""
    data, map_bytes = largest_file(16)
    tracemalloc.start()
    try:
        refused(data, FormatError, "needs at least 8380418 bytes of JPEG streams", read=regioncodec.read_info)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < map_bytes / 16, f"{peak / map_bytes:.2f} x the map"


def test_inspect_of_the_largest_image_costs_little_more_than_its_map() -> None:
    """A file with bytes enough for its blocks may make inspect read a 16 MB map, but nothing much larger."""
    data = all_background(65_500, 65_500, 16, padded(b"\xff\xd8", 65_504, 65_504))
    map_bytes = (-(-65_500 // 16)) ** 2
    tracemalloc.start()
    try:
        info = regioncodec.read_info(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (info.width, info.height, info.fg_fraction) == (65_500, 65_500, 0.0)
    assert peak < 3 * map_bytes, f"{peak / map_bytes:.1f} x the map"


def test_read_mask_has_the_pixel_limit() -> None:
    """The mask has a byte per pixel: without the limit, 2 KB would ask for a 4.3 GB array."""
    data, _ = largest_file(8)
    refused(data, LimitError, "4290250000 pixels, over the limit of 178956970", read=regioncodec.read_mask)
    with pytest.raises(InputError, match="max_pixels"):
        regioncodec.read_mask(data, max_pixels=-1)
    assert regioncodec.read_mask(container.write(container.read(SMALLEST)), max_pixels=1).shape == (1, 1)


def test_errors_share_one_base() -> None:
    for error in (
        regioncodec.InputError,
        regioncodec.FormatError,
        regioncodec.TruncatedError,
        regioncodec.ChunkError,
        regioncodec.LimitError,
    ):
        assert issubclass(error, regioncodec.RegionCodecError)


@pytest.mark.parametrize("channels", [2, 4])
def test_alpha_is_kept_exactly(channels: int) -> None:
    rng = np.random.default_rng(5)
    image = random_image((37, 53, channels), seed=2)
    image[..., -1] = rng.integers(0, 256, image.shape[:2], dtype=np.uint8)  # noise: nothing to smooth over
    out = regioncodec.decode(regioncodec.encode(image))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(out[..., -1], image[..., -1])
    assert psnr(out[..., :-1], image[..., :-1]) > 25
    assert regioncodec.read_info(regioncodec.encode(image)).mode == {2: "LA", 4: "RGBA"}[channels]


def test_alpha_does_not_change_how_colour_is_coded(photo: np.ndarray) -> None:
    crop = photo[:96, :128]
    alpha = np.full(crop.shape[:2], 255, np.uint8)
    alpha[20:40, 30:90] = 0
    with_alpha = regioncodec.decode(regioncodec.encode(np.dstack([crop, alpha])))
    assert np.array_equal(with_alpha[..., :3], regioncodec.decode(regioncodec.encode(crop)))
    assert np.array_equal(regioncodec.segment(np.dstack([crop, alpha])), regioncodec.segment(crop))


def test_alpha_plane_costs_little_when_flat(photo: np.ndarray) -> None:
    opaque = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    assert regioncodec.read_info(regioncodec.encode(opaque)).alpha_bytes < 100


def test_rgba_pil_images_keep_alpha() -> None:
    rgba = random_image((20, 30, 4), seed=4)
    out = regioncodec.decode(regioncodec.encode(Image.fromarray(rgba)))
    assert out.shape == (20, 30, 4) and np.array_equal(out[..., 3], rgba[..., 3])


def _palette_with_transparency() -> Image.Image:
    palette = Image.fromarray(random_image((20, 30, 3), seed=6)).convert("P")
    palette.info["transparency"] = 0
    return palette


@pytest.mark.parametrize(
    "make, mode",
    [
        (lambda: Image.fromarray(random_image((20, 30, 3))).convert("P"), "RGB"),
        (_palette_with_transparency, "RGBA"),
        (lambda: Image.fromarray(random_image((20, 30, 4))).convert("PA"), "RGBA"),
        (lambda: Image.fromarray(random_image((20, 30, 2))).convert("La"), "LA"),
        (lambda: Image.fromarray(random_image((20, 30, 4))).convert("RGBa"), "RGBA"),
        (lambda: Image.fromarray(random_image((20, 30, 3))).convert("RGBX"), "RGB"),
    ],
)
def test_pil_modes_convert_by_the_documented_rule(make: object, mode: str) -> None:
    image = make()  # type: ignore[operator]
    out = regioncodec.decode(regioncodec.encode(image))
    assert regioncodec.read_info(regioncodec.encode(image)).mode == mode
    expected = np.asarray(image.convert(mode))
    if mode.endswith("A"):
        assert np.array_equal(out[..., -1], expected[..., -1])  # transparency is kept exactly
    assert psnr(out, expected) > 20  # dithered palettes are noisy: a loose sanity check of the conversion


@pytest.mark.parametrize("base", ["L", "RGB"])
def test_colour_key_transparency_becomes_alpha(base: str) -> None:
    image = Image.fromarray(random_image((20, 30, 3), seed=8)).convert(base)
    key = image.getpixel((0, 0))
    image.info["transparency"] = key
    out = regioncodec.decode(regioncodec.encode(image))
    assert out.shape[-1] == len(base) + 1
    assert out[0, 0, -1] == 0 and np.array_equal(out[..., -1], np.asarray(image.convert(base + "A"))[..., -1])


def test_sixteen_bit_images_are_scaled_to_eight_bits() -> None:
    values = np.array([[0, 128, 129, 257, 32896, 65535]], np.uint16)
    expected = np.array([[0, 0, 1, 1, 128, 255]], np.uint8)
    assert np.array_equal(regioncodec.as_pixels(values), expected)
    assert np.array_equal(regioncodec.as_pixels(Image.fromarray(values)), expected)  # Pillow mode I;16
    ramp = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16).astype(np.uint16)
    out = regioncodec.decode(regioncodec.encode(Image.fromarray(ramp), fg_quality=95, bg_quality=95))
    assert out.dtype == np.uint8 and psnr(out, np.round(ramp / 257).astype(np.uint8)) > 40


def test_sixteen_bit_grey_with_a_colour_key_becomes_la() -> None:
    """A 16-bit grey PNG's tRNS colour was dropped without a word (the I;16 path returned before looking)."""
    values = np.array([[0, 1000, 1000, 65535]], np.uint16)
    image = Image.fromarray(values)  # Pillow mode I;16
    image.info["transparency"] = 1000
    assert np.array_equal(regioncodec.as_pixels(image), [[[0, 255], [4, 0], [4, 0], [255, 255]]])
    assert regioncodec.read_info(regioncodec.encode(image)).mode == "LA"


def _profile(space: bytes) -> bytes:
    """An ICC profile whose header names space as its data colour space (ICC.1 7.2.6)."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return srgb[:16] + space + srgb[20:]


def test_a_profile_of_another_colour_space_than_the_pixels_is_left_out() -> None:
    """A CMYK JPEG's CMYK profile was stored with the RGB pixels Pillow converts it to: an invalid pairing."""
    out = io.BytesIO()
    Image.fromarray(random_image((24, 32, 3))).convert("CMYK").save(out, "JPEG", icc_profile=_profile(b"CMYK"))
    notes: list[str] = []
    data = regioncodec.encode(out.getvalue(), notes=notes)
    assert regioncodec.read_info(data).mode == "RGB" and regioncodec.read_metadata(data).icc_profile is None
    assert any("describes CMYK colour, and its pixels are stored as RGB: left out" in note for note in notes)
    grey = Image.fromarray(random_image((24, 32)))
    with pytest.raises(InputError, match="icc_profile describes RGB colour, and the pixels are GRAY"):
        regioncodec.encode(grey, icc_profile=_profile(b"RGB "))
    kept = regioncodec.encode(grey, icc_profile=_profile(b"GRAY"))
    assert regioncodec.read_metadata(kept).icc_profile == _profile(b"GRAY")


def test_keywords_win_over_a_settings_object_even_for_a_twin_option() -> None:
    """README: settings and keywords both given, keywords win; quality/fg_quality and target_size/target_bpp say
    one thing two ways, so a keyword replaces its twin instead of conflicting with it."""
    base = regioncodec.EncodeSettings(quality=80, target_size=5000)
    built = regioncodec.EncodeSettings.build(base, fg_quality=90, target_bpp=1.0)
    assert (built.quality, built.fg_quality, built.target_size, built.target_bpp) == (None, 90, None, 1.0)
    with pytest.raises(InputError, match="give quality or fg_quality, not both"):
        regioncodec.EncodeSettings.build(base, quality=70, fg_quality=90)
    forwarded = regioncodec.EncodeSettings.build(base, fg_quality=None, target_bpp=None)  # optional arguments passed on
    assert (forwarded.quality, forwarded.target_size) == (80, 5000)


def test_a_misspelt_option_is_an_option_error_however_the_settings_are_made() -> None:
    """The constructor raised TypeError where encode and build raise OptionError (README: one check, one error)."""
    for make in (regioncodec.EncodeSettings, regioncodec.EncodeSettings.build, partial(regioncodec.encode, b"")):
        with pytest.raises(regioncodec.OptionError, match="unknown encode options fg_qualty; choose from fg_quality"):
            make(fg_qualty=3)


def _photo_with_metadata(orientation: int = 6) -> Image.Image:
    """A JPEG, opened by Pillow, carrying EXIF (with an orientation), an ICC profile and XMP."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Camera"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.fromarray(random_image((48, 64, 3))).save(out, "JPEG", exif=exif, icc_profile=icc, xmp=XMP)
    return Image.open(out)


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'


def test_metadata_of_a_pil_image_is_kept() -> None:
    image = _photo_with_metadata()
    data = regioncodec.encode(image)
    metadata = regioncodec.read_metadata(data)
    assert metadata.exif == image.info["exif"] and metadata.exif.startswith(b"Exif\0\0")
    assert metadata.icc_profile == image.info["icc_profile"]
    assert metadata.xmp == XMP
    exif = Image.Exif()
    exif.load(metadata.exif)
    assert exif[0x0112] == 6  # orientation kept as is ...
    assert regioncodec.decode(data).shape == (48, 64, 3)  # ... and the pixels are not rotated
    info = regioncodec.read_info(data)
    assert info.metadata == {"exif": len(metadata.exif) - 6, "icc_profile": len(metadata.icc_profile), "xmp": len(XMP)}
    assert sum(r.bytes for r in info.regions) + sum(info.metadata.values()) + info.overhead_bytes == len(data)
    assert info.as_dict()["metadata"] == info.metadata


def test_strip_and_explicit_metadata() -> None:
    image = _photo_with_metadata()
    assert regioncodec.read_metadata(regioncodec.encode(image, strip=True)) == regioncodec.Metadata()
    only_icc = regioncodec.encode(image, strip=True, icc_profile=image.info["icc_profile"])
    assert regioncodec.read_metadata(only_icc).as_dict().keys() == {"icc_profile"}
    no_xmp = regioncodec.read_metadata(regioncodec.encode(image, xmp=b""))
    assert no_xmp.xmp is None and no_xmp.exif == image.info["exif"]
    tiff_form = image.info["exif"][6:]  # EXIF without the APP1 prefix, as PNG's eXIf holds it
    array = np.asarray(image)
    assert regioncodec.read_metadata(regioncodec.encode(array, exif=tiff_form)).exif == image.info["exif"]
    assert regioncodec.read_metadata(regioncodec.encode(array, xmp=XMP.decode())).xmp == XMP
    assert regioncodec.read_metadata(regioncodec.encode(array)) == regioncodec.Metadata()


def test_broken_metadata_in_an_image_says_how_to_leave_it_out() -> None:
    image = Image.fromarray(random_image((16, 16, 3)))
    image.info["icc_profile"] = b"junk"
    with pytest.raises(InputError, match="icc_profile is not an ICC profile .*strip=True"):
        regioncodec.encode(image)
    assert regioncodec.read_metadata(regioncodec.encode(image, strip=True)) == regioncodec.Metadata()


def test_read_metadata_reads_no_pixels() -> None:
    data = regioncodec.encode(_photo_with_metadata())
    front_end = data.index(b"BMAP") + 4
    assert regioncodec.read_metadata(data[:front_end]) == regioncodec.read_metadata(data)


@pytest.mark.parametrize("options", [{"codec": "webp"}, {"codec": "avif"}, {"bg_scale": 2}, {"levels": 3}])
def test_alpha_with_encoder_options(photo: np.ndarray, options: dict) -> None:
    rgba = np.dstack([photo[:96, :128], random_image((96, 128), seed=9)])
    out = regioncodec.decode(regioncodec.encode(rgba, **options))
    assert out.shape == rgba.shape and np.array_equal(out[..., 3], rgba[..., 3])
    assert psnr(out[..., :3], rgba[..., :3]) > 25


def test_target_size_counts_alpha_and_metadata(photo: np.ndarray) -> None:
    rgba = np.dstack([photo[:128, :128], random_image((128, 128), seed=10)])
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    target = 12_000
    data = regioncodec.encode(rgba, target_size=target, icc_profile=icc)
    assert target * 0.8 <= len(data) <= target
    assert regioncodec.read_metadata(data).icc_profile == icc


def test_ships_type_information() -> None:
    """py.typed marks the package as typed for mypy and pyright; the build must include it."""
    assert (Path(regioncodec.__file__).parent / "py.typed").is_file()
    assert 'regioncodec = ["py.typed"]' in (ROOT / "pyproject.toml").read_text()


def test_inspect_counts_bytes_of_a_wide_memoryview() -> None:
    data = regioncodec.encode(np.full((16, 16), 128, np.uint8), fg_quality=50)
    done = data.rindex(b"DONE") - 4
    pad = container.pack_chunk(b"pADd", bytes(-len(data) % 4))  # a skipped chunk makes it whole 4-byte items
    data = data[:done] + pad + data[done:]
    view = memoryview(data).cast("I")
    assert regioncodec.read_info(view).file_bytes == len(data)
