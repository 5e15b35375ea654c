"""Helpers the tests share: uniform JPEG baselines, synthetic test images, and running the command line."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from regioncodec import cli
from regioncodec.metrics import importance_mask, psnr

__all__ = ["Ran", "importance_mask", "pillow_jpeg", "psnr", "random_image", "rcodec", "rcodec_process"]


def pillow_jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """image after a uniform Pillow JPEG round trip at quality (optimize=True)."""
    out = io.BytesIO()
    Image.fromarray(image).save(out, "JPEG", quality=quality, optimize=True)
    return np.asarray(Image.open(out))


def random_image(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Smooth random content (coarse noise, upsampled) of shape."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (shape[0] // 8 + 1, shape[1] // 8 + 1) + shape[2:], dtype=np.uint8)
    return cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR).reshape(shape)


@dataclass(frozen=True)
class Ran:
    """What a run of the command line did: its exit status and what it printed."""

    returncode: int
    stdout: str
    stderr: str


def rcodec(*args: object, cwd: Path | None = None) -> Ran:
    """Run the command line in this process (cli.main), in cwd if given, capturing what it prints.

    Output that C libraries write to file descriptor 2 is not captured: the
    tests of it run rcodec in a subprocess (rcodec_process).
    """
    out, err = io.StringIO(), io.StringIO()
    previous = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main([str(arg) for arg in args])
    finally:
        os.chdir(previous)
    return Ran(code, out.getvalue(), err.getvalue())


def rcodec_process(*args: object, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run rcodec as users run it, in a subprocess (options go to subprocess.run)."""
    return subprocess.run(
        [sys.executable, "-m", "regioncodec", *map(str, args)], capture_output=True, text=True, **options
    )
