"""The command line's conventions (issue 15): -o, -q, - for standard input and output, no abbreviated options,
outputs whose extension says another format, folders as OUT, quality order, closed pipes, flattening alpha,
decode's quality, multi-frame inputs, hints for text, and an unreachable scheduler. One test (or more) per case."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import regioncodec
from regioncodec import settings

from .conftest import ROOT
from .helpers import random_image, rcodec

SAMPLE = ROOT / "samples" / "kodim04.jpg"


def qualities(path: Path | bytes) -> list[int]:
    """The quality of each region of a .rgc file, background first."""
    data = path if isinstance(path, bytes) else path.read_bytes()
    return [region.quality for region in regioncodec.read_info(data).regions]


@pytest.fixture()
def small_png(tmp_path: Path) -> Path:
    """A 96x64 RGB PNG."""
    path = tmp_path / "small.png"
    Image.fromarray(random_image((64, 96, 3))).save(path)
    return path


# -q and --quality: one knob; long options are never abbreviated.


def test_quality_is_one_knob_for_both_regions(tmp_path: Path, small_png: Path) -> None:
    for flag in ("-q", "--quality"):
        out = tmp_path / f"{flag}.rgc"
        done = rcodec("encode", small_png, out, flag, 80)
        assert done.returncode == 0, done.stderr
        assert qualities(out) == [settings.background_quality(80), 80] == [27, 80]
    assert settings.background_quality(settings.DEFAULT_FG_QUALITY) == settings.DEFAULT_BG_QUALITY  # -q 90: defaults
    assert rcodec("encode", small_png, tmp_path / "b.rgc", "-q", 80, "--bg-quality", 50).returncode == 0
    assert qualities(tmp_path / "b.rgc") == [50, 80]  # --bg-quality overrides the derived background


@pytest.mark.parametrize(
    "args, message",
    [
        (("-q", 80, "--fg-quality", 70), "give quality or fg_quality, not both"),
        (("--bg-quality", 95, "--fg-quality", 90), "bg_quality 95 is above fg_quality 90"),
        (("--bg-quality", 95), "bg_quality 95 is above fg_quality 90 (the default)"),
        (("-q", 40, "--bg-quality", 50), "bg_quality 50 is above quality 40"),
        (("-q", 0), "quality must be an integer from 1 to 100"),
        (("--quality-map", SAMPLE, "-q", 80), "a quality map is used as it is: quality"),
        (("--quality-m", SAMPLE), "unrecognized arguments: --quality-m"),  # no abbreviations
        (("--fg", 80), "unrecognized arguments: --fg"),
    ],
)
def test_quality_flags_that_cannot_apply_exit_2(tmp_path: Path, args: tuple[object, ...], message: str) -> None:
    done = rcodec("encode", SAMPLE, tmp_path / "x.rgc", *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.rgc").exists()


def test_quality_in_python() -> None:
    image = random_image((32, 48, 3))
    assert qualities(regioncodec.encode(image, quality=60)) == [20, 60]
    with pytest.raises(regioncodec.InputError, match="bg_quality 40 is above quality 30"):
        regioncodec.encode(image, quality=30, bg_quality=40)


# -o OUT, as an alternative to the positional OUT, for every command with an output.


def test_output_flag(tmp_path: Path, small_png: Path) -> None:
    assert rcodec("encode", small_png, "-o", tmp_path / "a.rgc").returncode == 0
    assert rcodec("encode", "--output", tmp_path / "b.rgc", small_png).returncode == 0
    assert rcodec("decode", tmp_path / "a.rgc", "-o", tmp_path / "a.png").returncode == 0
    assert rcodec("mask", small_png, "-o", tmp_path / "m.png").returncode == 0
    assert Image.open(tmp_path / "a.png").size == Image.open(tmp_path / "m.png").size == (96, 64)
    folder = tmp_path / "in"
    folder.mkdir()
    (tmp_path / "b.rgc").rename(folder / "b.rgc")
    done = rcodec("batch", folder, "-o", tmp_path / "out", "--decode", "--quiet", "--jobs", 1)
    assert done.returncode == 0 and (tmp_path / "out" / "b.png").exists()
    bench = rcodec("bench", small_png, "-o", tmp_path / "report", "--no-plots", "--peers", "jpeg", "--repeat", 1)
    assert bench.returncode == 0 and (tmp_path / "report" / "results.csv").exists()


@pytest.mark.parametrize(
    "args, message",
    [(("a.rgc", "-o", "b.rgc"), "OUT given twice"), ((), "required: OUT (or -o OUT)")],
)
def test_output_given_twice_or_never_exits_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    done = rcodec("encode", SAMPLE, *args, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())
