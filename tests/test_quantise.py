"""Matched quantisation tables: as faithful as libjpeg's at the same quality, in fewer bytes."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from regioncodec import planes, quantise
from regioncodec.codecs import jpeg


def coded(plane: np.ndarray, table: list[int]) -> tuple[int, float]:
    """(bytes, squared error) of plane as a greyscale JPEG with table."""
    out = io.BytesIO()
    Image.fromarray(plane, "L").save(out, "JPEG", qtables=[table], optimize=True)
    decoded = cv2.imdecode(np.frombuffer(out.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)
    return len(out.getvalue()), float(np.square(decoded.astype(np.float64) - plane).sum())


@pytest.mark.parametrize("quality", [30, 60, 90])
def test_photo_planes_keep_fidelity_in_fewer_bytes(photo: np.ndarray, quality: int) -> None:
    luma, chroma = planes.rgb_to_planes(photo)
    for plane, base in ((luma, jpeg.LUMA_TABLE), (np.vstack(list(chroma)), jpeg.CHROMA_TABLE)):
        standard = jpeg.quant_table(base, quality)
        table = quantise.matched_table(plane, standard)
        std_bytes, std_error = coded(plane, standard)
        our_bytes, our_error = coded(plane, table)
        assert our_error <= std_error * 1.02  # within sampling error of the 0.2 dB margin
        assert our_bytes <= std_bytes


def test_textured_luma_gets_a_flatter_table(photo: np.ndarray) -> None:
    luma, _ = planes.rgb_to_planes(photo)
    standard = jpeg.quant_table(jpeg.LUMA_TABLE, 90)
    table = quantise.matched_table(luma, standard)
    assert table != standard
    assert max(table) / min(table) < max(standard) / min(standard)
    assert coded(luma, table)[0] < 0.9 * coded(luma, standard)[0]


def test_smooth_plane_keeps_the_standard_table() -> None:
    ramp = np.tile(np.linspace(0, 255, 256, dtype=np.float32), (128, 1)).astype(np.uint8)
    standard = jpeg.quant_table(jpeg.LUMA_TABLE, 90)
    assert quantise.matched_table(ramp, standard) == standard


def test_constant_plane_keeps_the_standard_table() -> None:
    standard = jpeg.quant_table(jpeg.CHROMA_TABLE, 50)
    assert quantise.matched_table(np.full((16, 16), 77, np.uint8), standard) == standard


def test_sampled_coefficients_are_jpegs_dct() -> None:
    block = np.random.default_rng(2).integers(0, 256, (8, 8), dtype=np.uint8)
    expected = cv2.dct(block.astype(np.float32) - 128).ravel()
    assert np.allclose(quantise._sample_coefficients(block)[0], expected, atol=1e-3)
