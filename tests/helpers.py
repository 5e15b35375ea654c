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
import pytest
from PIL import Image

from regioncodec import cli
from regioncodec.metrics import importance_mask, psnr

__all__ = [
    "Ran", "importance_mask", "in_ci", "pillow_jpeg", "psnr", "random_image", "rcodec", "rcodec_process", "unavailable",
]  # fmt: skip


def in_ci() -> bool:
    """Whether this is CI (CI=true), where every test must run: what it needs, make test installs."""
    return os.environ.get("CI") == "true"


def unavailable(reason: str) -> None:
    """Skip with reason on a developer's machine; fail under CI, where every test must run."""
    if in_ci():
        pytest.fail(f"{reason} (under CI=true every test must run)")
    pytest.skip(reason)


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
    """What a run of the command line did: its exit status and what it printed (output: stdout's bytes)."""

    returncode: int
    stdout: str
    stderr: str
    output: bytes = b""


def rcodec(*args: object, cwd: Path | None = None, stdin: bytes = b"") -> Ran:
    """Run the command line in this process (cli.main), in cwd if given, with stdin, capturing what it prints.

    Standard input and output are binary streams under text ones, as in a
    real process that is not on a terminal. Output that C libraries write to
    file descriptor 2 is not captured: the tests of it run rcodec in a
    subprocess (rcodec_process).
    """
    out, err = io.BytesIO(), io.StringIO()
    text_out = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    previous, previous_stdin = Path.cwd(), sys.stdin
    try:
        if cwd is not None:
            os.chdir(cwd)
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
        with contextlib.redirect_stdout(text_out), contextlib.redirect_stderr(err):
            code = cli.main([str(arg) for arg in args])
            text_out.flush()
    finally:
        sys.stdin = previous_stdin
        os.chdir(previous)
    return Ran(code, out.getvalue().decode("utf-8", "replace"), err.getvalue(), out.getvalue())


def rcodec_process(*args: object, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run rcodec as users run it, in a subprocess (options go to subprocess.run)."""
    return subprocess.run(
        [sys.executable, "-m", "regioncodec", *map(str, args)], capture_output=True, text=True, **options
    )


ENCODER_SIDE = (  # modules only encoding needs: the decoder must load none of them
    "regioncodec.api",
    "regioncodec.encoder",
    "regioncodec.layers",
    "regioncodec.pixels",
    "regioncodec.plan",
    "regioncodec.planes",
    "regioncodec.quantise",
    "regioncodec.search",
    "regioncodec.segmentation",
    "regioncodec.settings",
)


def modules_loaded(statement: str) -> list[str]:
    """The regioncodec modules a fresh interpreter has loaded after running statement."""
    code = f"import sys; {statement}; print(' '.join(sorted(m for m in sys.modules if m.startswith('regioncodec'))))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
