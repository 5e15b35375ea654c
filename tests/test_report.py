"""The RD report: equal-bytes search, measures, the files rcodec bench writes."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from regioncodec import EncodeSettings, report
from regioncodec.metrics import boundary_band, importance_mask, mse, psnr, seam_step, ssim

from .conftest import ROOT


def test_at_most_finds_the_highest_quality_that_fits() -> None:
    sizes = {q: 10 * q for q in range(1, 101)}
    sizes[56] = 400  # a dip: sizes are not monotonic in quality
    quality, data = report.at_most(505, lambda q: b"x" * sizes[q])
    assert quality == 56 and len(data) == 400
    sizes[56], sizes[50] = 560, 9999  # a spike where bisection looks first: the look above the answer recovers
    assert report.at_most(535, lambda q: b"x" * sizes[q])[0] == 52
    assert report.at_most(5, lambda q: b"x" * sizes[q]) is None


def test_compare_puts_peers_at_equal_bytes(photo: np.ndarray) -> None:
    crop = np.ascontiguousarray(photo[200:328, 160:352])
    mask = importance_mask(crop)
    rows = report.compare("crop", crop, mask, EncodeSettings(fg_quality=90, bg_quality=30), ["jpeg", "webp"], repeat=1)
    ours, *peers = rows
    assert ours.coder == "regioncodec" and ours.quality == "90/30"
    assert [p.coder for p in peers] == ["jpeg", "webp"]
    assert all(p.bytes <= ours.bytes for p in peers)
    assert ours.psnr_fg > peers[0].psnr_fg  # what the codec is for
    assert ours.encode_ratio > 0 and ours.decode_ratio > 0
    table = report.markdown(rows)
    assert "| crop | jpeg |" in table and "| jpeg | 1 |" in table
    parsed = list(csv.DictReader(io.StringIO(report.csv_text(rows))))
    assert [r["coder"] for r in parsed] == ["regioncodec", "jpeg", "webp"]


def test_ssim_is_one_for_identical_images_and_falls_with_blur(photo: np.ndarray) -> None:
    import cv2

    assert ssim(photo, photo) == pytest.approx(1.0)
    assert ssim(photo, cv2.GaussianBlur(photo, (0, 0), 2)) < 0.9


def test_band_and_seam_step() -> None:
    mask = np.zeros((40, 40), bool)
    mask[:, :20] = True
    band = boundary_band(mask, 4)
    assert band[:, 16:24].all() and not band[:, :15].any() and not band[:, 25:].any()
    flat = np.full((40, 40), 100, np.uint8)
    stepped = flat.copy()
    stepped[:, 20:] = 110
    assert seam_step(flat, flat, mask) == 0 and seam_step(flat, stepped, mask) == pytest.approx(100)


def test_rcodec_bench_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    command = [sys.executable, "-m", "regioncodec", "bench", str(ROOT / "samples" / "kodim03.jpg"), "--out", str(out)]
    done = subprocess.run([*command, "--peers", "jpeg", "--repeat", "1", "--no-plots"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["results.csv", "results.md"]
    assert "| jpeg | 1 |" in done.stdout
    again = subprocess.run([*command, "--peers", "jpeg", "--no-plots"], capture_output=True, text=True)
    assert again.returncode == 73 and "--force" in again.stderr
    unknown = subprocess.run([*command, "--peers", "gif"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "unknown peers gif" in unknown.stderr


@pytest.mark.parametrize("shape", [(37, 53), (37, 53, 3), (1, 1, 3)])
def test_mse_over_a_mask_is_numpys(shape: tuple[int, ...]) -> None:
    """cv2.norm under a mask gives exactly the mean of the squared differences of the selected pixels."""
    rng = np.random.default_rng(7)
    a, b = (rng.integers(0, 256, (shape[0] + 4, shape[1] + 6, *shape[2:]), dtype=np.uint8) for _ in range(2))
    a, b = a[2:-2, 3:-3], b[2:-2, 3:-3]  # views with row strides, as the encoder passes
    where = rng.random(shape[:2]) < 0.4
    where.flat[0] = True
    expected = np.square(a.astype(np.float64) - b)
    assert mse(a, b, where) == pytest.approx(expected[where].mean(), rel=1e-15)
    assert mse(a, b) == pytest.approx(expected.mean(), rel=1e-15)
    assert mse(a, b, np.zeros(shape[:2], bool)) == 0.0
    assert psnr(a, a) == float("inf")
