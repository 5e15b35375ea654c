"""Shared fixtures (real photographs from samples/, synthetic scenes) and the hypothesis profiles."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from PIL import Image

from regioncodec import compiled

from .helpers import unavailable

# "ci" (the default, what make test runs): 1,000 examples for each byte-level property, which
# cost milliseconds each; the encode/decode round trip scales down from it (test_api.py). "dev": a
# quick tenth. The deadline is the 1 s any input may take to decode or be refused: a hang guard.
settings.register_profile("ci", max_examples=1000, deadline=timedelta(seconds=1), print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=timedelta(seconds=1))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "samples").glob("*.jpg"))
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session", autouse=True)
def _temporaries_in_pytests_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Temporary files go to a folder of pytest's, which it cleans: jpeglib copies what it reads or writes into
    the system's temporary folder, and the processes the fault tests kill on purpose leave those copies behind."""
    folder = str(tmp_path_factory.mktemp("tmp"))
    previous = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = folder, folder  # this process, and every process it starts
    yield
    if previous[0] is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = previous[0]
    tempfile.tempdir = previous[1]


@pytest.fixture
def kernels() -> object:
    """The compiled kernels (regioncodec/compiled.py); skip (fail under CI) where they were not built."""
    if compiled.kernels is None:
        unavailable("regioncodec was installed without a C compiler: its compiled kernels were not built")
    return compiled.kernels


@pytest.fixture(params=["compiled", "numpy"])
def passes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the codec's compiled kernels, and again with the numpy/OpenCV code that stands in for
    them where they were not built (regioncodec/compiled.py): both must give the spec's samples."""
    if request.param == "numpy":
        monkeypatch.setattr(compiled, "kernels", None)
    else:
        request.getfixturevalue("kernels")
    return str(request.param)


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A real 768x512 photograph (Kodak kodim04, a portrait) as RGB."""
    return np.asarray(Image.open(ROOT / "samples" / "kodim04.jpg").convert("RGB"))


@pytest.fixture(scope="session")
def textured_scene() -> tuple[np.ndarray, np.ndarray]:
    """A 256x192 RGB scene: a noisy textured rectangle on a smooth gradient, and its true mask."""
    rng = np.random.default_rng(7)
    h, w = 192, 256
    ramp = np.linspace(40, 200, w, dtype=np.float32)[None, :, None]
    image = np.broadcast_to(ramp, (h, w, 3)).copy()
    truth = np.zeros((h, w), bool)
    truth[48:144, 64:192] = True
    image[truth] = rng.uniform(0, 255, (int(truth.sum()), 3))
    return image.astype(np.uint8), truth
