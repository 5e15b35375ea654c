"""regioncodec.perceptual: SSIMULACRA2 against fixed reference values and its defining properties; Butteraugli.

Images are made here with integer arithmetic (so they are the same on every
platform) or read from samples/. Butteraugli tests skip when libjxl's
butteraugli_main is missing, except in CI (CI=true), where that fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from regioncodec import perceptual
from regioncodec.errors import InputError, RegionCodecError
from regioncodec.perceptual import Butteraugli, butteraugli, butteraugli_available, ssimulacra2

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "kodim03.jpg"

# Scores of the PyPI package ssimulacra2 0.3.0 (the reference this module follows), computed once by
# saving scene() and damaged(scene()) (or the slices named) as PNG files and calling
# ssimulacra2.compute_ssimulacra2(reference_png, distorted_png). Our code must reproduce them to 1e-3.
REFERENCE_RGB = 52.666986698976714  # 288x256, all six scales
REFERENCE_CROP = 94.48392211244004  # rows 101:124, columns 120:165 (45x23): three scales, the weight-order rule
REFERENCE_GREY = 51.96535195717963  # the green plane of both, as greyscale PNGs
AGREEMENT = 1e-3
# The same three pairs scored by libjxl's C++ tools/ssimulacra2, built from libjxl's source (commit aea3a06e,
# August 2026; Debian's libjxl-devtools 0.7 has no ssimulacra2): variant="libjxl" must come within 0.05. libjxl's
# float32 recursive blur is noisy at that level: mirroring the 45x23 pair moves its score from 94.870 to 94.715.
LIBJXL_RGB = 54.38079181
LIBJXL_CROP = 94.8697334
LIBJXL_GREY = 54.7163465
LIBJXL_AGREEMENT = 0.05


def scene(h: int = 256, w: int = 288) -> np.ndarray:
    """A colourful RGB test card of integers only: a red ramp, green rings, a blue checkerboard."""
    y, x = np.mgrid[:h, :w]
    red = x * 255 // (w - 1)
    rings = ((x - w // 2) ** 2 + (y - h // 2) ** 2) // 97 % 32 * 4
    green = (y * 200 // (h - 1) + rings) % 256
    blue = (x // 16 + y // 16) % 2 * 120 + 60
    return np.stack([red, green, blue], axis=-1).astype(np.uint8)


def damaged(image: np.ndarray) -> np.ndarray:
    """image with 2x2 block means on its left half and a fixed +-3 pattern added to its right half."""
    h, w = image.shape[:2]
    out = image.astype(np.int32)
    blocks = out[:, : w // 2].reshape(h // 2, 2, w // 4, 2, 3).sum(axis=(1, 3)) // 4
    out[:, : w // 2] = np.repeat(np.repeat(blocks, 2, axis=0), 2, axis=1)
    y, x = np.mgrid[:h, : w - w // 2]
    out[:, w // 2 :] += ((x * 7 + y * 13) % 7 - 3)[..., None]
    return np.clip(out, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """image after an OpenCV JPEG round trip at quality (RGB in, RGB out)."""
    ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    assert ok and decoded is not None
    return np.ascontiguousarray(decoded[..., ::-1])


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A real photograph as RGB: the middle 384x256 of Kodak kodim03 (still six scales; a quarter of the time)."""
    full = np.asarray(Image.open(SAMPLE).convert("RGB"))
    return np.ascontiguousarray(full[128:384, 192:576])


def test_reproduces_the_reference_package() -> None:
    """Fixed scores computed with the PyPI package are reproduced: full size, a small odd crop, greyscale."""
    reference, distorted = scene(), damaged(scene())
    assert ssimulacra2(reference, distorted) == pytest.approx(REFERENCE_RGB, abs=AGREEMENT)
    crop = (slice(101, 124), slice(120, 165))
    assert ssimulacra2(reference[crop], distorted[crop]) == pytest.approx(REFERENCE_CROP, abs=AGREEMENT)
    grey = ssimulacra2(np.ascontiguousarray(reference[..., 1]), np.ascontiguousarray(distorted[..., 1]))
    assert grey == pytest.approx(REFERENCE_GREY, abs=AGREEMENT)


def test_libjxl_variant_comes_close_to_libjxl() -> None:
    """Scores of libjxl's own tool, fixed above, are reproduced by variant="libjxl" to within its own noise."""
    reference, distorted = scene(), damaged(scene())
    assert ssimulacra2(reference, distorted, variant="libjxl") == pytest.approx(LIBJXL_RGB, abs=LIBJXL_AGREEMENT)
    crop = (slice(101, 124), slice(120, 165))
    crop_score = ssimulacra2(reference[crop], distorted[crop], variant="libjxl")
    assert crop_score == pytest.approx(LIBJXL_CROP, abs=LIBJXL_AGREEMENT)
    grey = ssimulacra2(
        np.ascontiguousarray(reference[..., 1]), np.ascontiguousarray(distorted[..., 1]), variant="libjxl"
    )
    assert grey == pytest.approx(LIBJXL_GREY, abs=LIBJXL_AGREEMENT)


def test_unknown_variant_is_refused() -> None:
    """A misspelt variant is an InputError, not a silent default."""
    image = scene(16, 16)
    with pytest.raises(InputError, match="variant"):
        ssimulacra2(image, image, variant="libjxl-0.7")


@pytest.mark.parametrize("variant", sorted(perceptual.VARIANTS))
def test_identical_pictures_score_100(photo: np.ndarray, variant: str) -> None:
    """No difference, the top score, exactly (as the reference)."""
    assert ssimulacra2(photo, photo.copy(), variant=variant) == 100.0
    assert ssimulacra2(photo[..., 0], photo[..., 0], variant=variant) == 100.0


@pytest.mark.parametrize("variant", sorted(perceptual.VARIANTS))
def test_scores_fall_as_jpeg_quality_falls(photo: np.ndarray, variant: str) -> None:
    """Lower JPEG quality, lower score; all within the scale's usual range."""
    scores = [ssimulacra2(photo, jpeg(photo, q), variant=variant) for q in (95, 75, 50, 20, 5)]
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) == len(scores)
    assert 80 < scores[0] < 100 and scores[-1] < 40


def test_errors_outside_where_are_left_out(photo: np.ndarray) -> None:
    """The region's score depends only on distorted inside where, and is the score of the composite picture."""
    distorted = jpeg(photo, 30)
    where = np.zeros(photo.shape[:2], bool)
    where[60:200, 100:300] = True
    worse_outside = np.where(where[..., None], distorted, jpeg(photo, 5))
    region = ssimulacra2(photo, distorted, where)
    assert ssimulacra2(photo, worse_outside, where) == region
    assert region == ssimulacra2(photo, np.where(where[..., None], distorted, photo))
    assert region > ssimulacra2(photo, distorted)


def test_where_everywhere_and_nowhere(photo: np.ndarray) -> None:
    """All True is the whole-picture score; all False leaves no error (100); any truthy dtype is a mask."""
    distorted = jpeg(photo, 50)
    everywhere = np.ones(photo.shape[:2], np.uint8)
    assert ssimulacra2(photo, distorted, everywhere) == ssimulacra2(photo, distorted)
    assert ssimulacra2(photo, distorted, np.zeros(photo.shape[:2], bool)) == 100.0


def test_grey_is_rgb_with_equal_channels(photo: np.ndarray) -> None:
    """A greyscale pair scores as the RGB pair with the grey replicated in R, G and B."""
    grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    distorted = cv2.cvtColor(jpeg(photo, 40), cv2.COLOR_RGB2GRAY)
    where = np.zeros(grey.shape, bool)
    where[:, ::3] = True
    for mask in (None, where):
        as_rgb = ssimulacra2(np.dstack([grey] * 3), np.dstack([distorted] * 3), mask)
        assert ssimulacra2(grey, distorted, mask) == as_rgb


@pytest.mark.parametrize(("width", "height"), [(333, 211), (17, 9), (9, 8), (255, 257)])
def test_odd_and_small_sizes(photo: np.ndarray, width: int, height: int) -> None:
    """Odd sizes and sizes that leave fewer than six scales give a finite score below 100."""
    reference = np.ascontiguousarray(photo[50 : 50 + height, 60 : 60 + width])
    distorted = np.ascontiguousarray(jpeg(photo, 20)[50 : 50 + height, 60 : 60 + width])
    score = ssimulacra2(reference, distorted)
    assert np.isfinite(score) and score < 100


@pytest.mark.parametrize("variant", sorted(perceptual.VARIANTS))
@pytest.mark.parametrize(("width", "height"), [(7, 30), (30, 7), (1, 1)])
def test_under_eight_pixels_scores_100(photo: np.ndarray, width: int, height: int, variant: str) -> None:
    """Under 8 pixels either way no scale is measured: the reference's rule gives 100."""
    reference = np.ascontiguousarray(photo[:height, :width])
    assert ssimulacra2(reference, 255 - reference, variant=variant) == 100.0


@pytest.mark.parametrize(
    ("reference", "distorted", "where"),
    [
        (np.zeros((16, 16, 3), np.uint8), np.zeros((16, 17, 3), np.uint8), None),  # shapes differ
        (np.zeros((16, 16, 3), np.float32), np.zeros((16, 16, 3), np.float32), None),  # not uint8
        (np.zeros((16, 16, 4), np.uint8), np.zeros((16, 16, 4), np.uint8), None),  # RGBA
        (np.zeros((0, 16), np.uint8), np.zeros((0, 16), np.uint8), None),  # empty
        (np.zeros((16, 16), np.uint8), np.zeros((16, 16), np.uint8), np.ones((8, 8), bool)),  # where's shape
    ],
)
def test_bad_input_is_refused(reference: np.ndarray, distorted: np.ndarray, where: np.ndarray | None) -> None:
    """Wrong dtype, shape or mask shape raise InputError, for both metrics, before any work."""
    with pytest.raises(InputError):
        ssimulacra2(reference, distorted, where)
    with pytest.raises(InputError):
        butteraugli(reference, distorted, where)


def needs_butteraugli() -> None:
    """Skip the calling test when butteraugli_main is missing, or fail if this is CI (CI=true)."""
    if butteraugli_available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("butteraugli_main is missing in CI: apt-get install libjxl-devtools")
    pytest.skip("butteraugli_main not installed (apt-get install libjxl-devtools)")


def test_butteraugli_of_identical_pictures_is_zero(photo: np.ndarray) -> None:
    """No difference, no distance."""
    needs_butteraugli()
    assert butteraugli(photo, photo) == Butteraugli(max_distance=0.0, pnorm3=0.0)


def test_butteraugli_grows_as_jpeg_quality_falls(photo: np.ndarray) -> None:
    """Lower JPEG quality, larger distances; the largest distance is at least the 3-norm."""
    needs_butteraugli()
    results = [butteraugli(photo, jpeg(photo, q)) for q in (90, 50, 10)]
    assert [r.pnorm3 for r in results] == sorted(r.pnorm3 for r in results)
    assert results[0].pnorm3 < results[-1].pnorm3
    assert all(r.max_distance >= r.pnorm3 > 0 for r in results)


def test_butteraugli_region_and_grey(photo: np.ndarray) -> None:
    """Errors outside where are left out; a greyscale pair measures as its replicated RGB."""
    needs_butteraugli()
    small = np.ascontiguousarray(photo[:128, :160])
    distorted = jpeg(small, 20)
    where = np.zeros(small.shape[:2], bool)
    where[32:96, 40:120] = True
    region = butteraugli(small, distorted, where)
    assert butteraugli(small, np.where(where[..., None], distorted, 255 - small), where) == region
    assert region.pnorm3 < butteraugli(small, distorted).pnorm3
    grey, grey_distorted = small[..., 1].copy(), distorted[..., 1].copy()
    assert butteraugli(grey, grey_distorted) == butteraugli(np.dstack([grey] * 3), np.dstack([grey_distorted] * 3))


def test_butteraugli_missing_binary_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the binary: butteraugli_available() is False and butteraugli raises, saying what to install."""
    monkeypatch.setattr(perceptual, "BUTTERAUGLI_BINARY", "butteraugli_main-that-is-not-installed")
    assert not butteraugli_available()
    image = scene(16, 16)
    with pytest.raises(RegionCodecError, match="apt-get install libjxl-devtools"):
        butteraugli(image, image)


def test_butteraugli_output_is_parsed() -> None:
    """butteraugli_main's two lines (largest distance, then the 3-norm) become the two fields."""
    parsed = perceptual._parse_butteraugli("3.4766368866\n3-norm: 1.636786\n")
    assert parsed == Butteraugli(max_distance=3.4766368866, pnorm3=1.636786)
    with pytest.raises(RegionCodecError, match="unexpected output"):
        perceptual._parse_butteraugli("Usage: butteraugli_main <reference> <distorted>\n")
