"""The command line's conventions (issue 15): -o, -q, - for standard input and output, no abbreviated options,
outputs whose extension says another format, folders as OUT, quality order, closed pipes, flattening alpha,
decode's quality, multi-frame inputs, hints for text, and an unreachable scheduler. One test (or more) per case."""

from __future__ import annotations

import io
import json
import os
import pty
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import regioncodec
from regioncodec import imagefiles, settings
from regioncodec.batch import cluster

from .conftest import ROOT
from .helpers import random_image, rcodec, rcodec_process

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
        assert qualities(out) == [settings.background_quality(80), 80] == [56, 80]
    assert settings.background_quality(settings.DEFAULT_FG_QUALITY) == settings.DEFAULT_BG_QUALITY  # -q 85: defaults
    assert rcodec("encode", small_png, tmp_path / "b.rgc", "-q", 80, "--bg-quality", 50).returncode == 0
    assert qualities(tmp_path / "b.rgc") == [50, 80]  # --bg-quality overrides the derived background


@pytest.mark.parametrize(
    "args, message",
    [
        (("-q", 80, "--fg-quality", 70), "give quality or fg_quality, not both"),
        (("--bg-quality", 95, "--fg-quality", 90), "bg_quality 95 is above fg_quality 90"),
        (("--bg-quality", 95), "bg_quality 95 is above fg_quality 85 (the default)"),
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
    assert qualities(regioncodec.encode(image, quality=60)) == [42, 60]
    assert qualities(regioncodec.encode(image, fg_quality=60)) == [42, 60]  # the background follows either
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


# - is standard input or output, never a file named -.


def test_standard_input_and_output(tmp_path: Path, small_png: Path) -> None:
    done = rcodec("encode", "-", tmp_path / "in.rgc", stdin=small_png.read_bytes())  # cat x.png | rcodec encode - y
    assert done.returncode == 0, done.stderr
    coded = rcodec("encode", small_png, "-", cwd=tmp_path)  # rcodec encode in.png - > out.rgc
    assert coded.returncode == 0 and coded.stderr == "" and not (tmp_path / "-").exists()
    assert coded.output == (tmp_path / "in.rgc").read_bytes()
    decoded = rcodec("decode", "-", "-", stdin=coded.output)  # PNG unless --format
    assert decoded.returncode == 0 and Image.open(io.BytesIO(decoded.output)).format == "PNG"
    as_jpeg = rcodec("decode", tmp_path / "in.rgc", "-", "--format", "jpg")
    assert Image.open(io.BytesIO(as_jpeg.output)).format == "JPEG"
    info = rcodec("info", "-", "--json", stdin=coded.output)
    assert info.returncode == 0 and json.loads(info.stdout)["width"] == 96
    mask = rcodec("mask", small_png, "-", "--raw")  # the picture on stdout, the share on stderr
    assert Image.open(io.BytesIO(mask.output)).size == (96, 64) and "<stdout>: foreground" in mask.stderr
    assert rcodec("encode", small_png, "./-", cwd=tmp_path).returncode == 0  # a file named - is ./-
    assert (tmp_path / "-").read_bytes() == coded.output


def test_standard_input_errors_name_it(tmp_path: Path) -> None:
    done = rcodec("encode", "-", tmp_path / "x.rgc", stdin=b"not an image")
    assert done.returncode == 65 and "<stdin>: not a readable image" in done.stderr
    assert rcodec("info", "-", stdin=b"nope").returncode == 65


def _on_a_terminal(*args: object) -> tuple[int, bytes, str]:
    """Run rcodec with its standard output on a pseudo-terminal: (exit status, what reached it, stderr)."""
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "regioncodec", *map(str, args)], stdout=terminal, stderr=subprocess.PIPE, text=True
        )
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal's other end is closed and everything was read
                break
            if not chunk:
                break
            shown += chunk
        return done.returncode, shown, done.stderr
    finally:
        os.close(controller)


def test_binary_data_is_not_written_to_a_terminal(small_png: Path) -> None:
    code, shown, stderr = _on_a_terminal("encode", small_png, "-")
    assert code == 2 and shown == b"" and "standard output is a terminal" in stderr
    code, shown, _ = _on_a_terminal("encode", small_png, "-", "--force")
    assert code == 0 and len(shown) > 100


def test_a_closed_pipe_ends_quietly_for_binary_output(tmp_path: Path) -> None:
    """rcodec decode x.rgc - | head -c 10: the reader goes away after a few bytes."""
    assert rcodec("encode", SAMPLE, tmp_path / "x.rgc").returncode == 0
    reader = subprocess.Popen(
        [sys.executable, "-m", "regioncodec", "decode", str(tmp_path / "x.rgc"), "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    assert len(reader.stdout.read(10)) == 10
    reader.stdout.close()
    assert reader.wait(timeout=60) == 0 and reader.stderr.read() == b""


# An output whose extension says another format.


def test_encode_refuses_an_extension_of_another_format(tmp_path: Path, small_png: Path) -> None:
    done = rcodec("encode", small_png, tmp_path / "out.jpg")
    assert done.returncode == 2 and "extension says JPEG" in done.stderr and "out.rgc" in done.stderr
    assert not (tmp_path / "out.jpg").exists()
    assert rcodec("encode", small_png, tmp_path / "out.jpg", "--force").returncode == 0  # asked for: written
    for name in ("out.bin", "out"):  # extensions that say no image format are the user's business
        assert rcodec("encode", small_png, tmp_path / name).returncode == 0


def test_decode_format_and_extension_must_agree(tmp_path: Path, small_png: Path) -> None:
    assert rcodec("encode", small_png, tmp_path / "a.rgc").returncode == 0
    done = rcodec("decode", tmp_path / "a.rgc", tmp_path / "a.png", "--format", "jpg")
    assert done.returncode == 2 and "extension says PNG, but --format says JPEG" in done.stderr
    assert rcodec("decode", tmp_path / "a.rgc", tmp_path / "a", "--format", "jpg").returncode == 0
    assert Image.open(tmp_path / "a").format == "JPEG"
    assert rcodec("decode", tmp_path / "a.rgc", tmp_path / "b.png", "--format", "xyz").returncode == 2


# A folder as OUT: the output gets IN's name there, and the command says so.


def test_encoding_into_a_folder_names_the_file(tmp_path: Path, small_png: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    done = rcodec("encode", small_png, folder)
    assert done.returncode == 0 and f"wrote {folder / 'small.rgc'}" in done.stderr
    again = rcodec("encode", small_png, f"{folder}/")
    assert again.returncode == 73 and f"{folder / 'small.rgc'} exists; use --force" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    decoded = rcodec("decode", folder / "small.rgc", folder)
    assert decoded.returncode == 0 and (folder / "small.png").exists() and "wrote" in decoded.stderr
    missing = rcodec("encode", small_png, f"{tmp_path / 'missing'}/")
    assert missing.returncode == 73 and "no such folder" in missing.stderr
    unnamed = rcodec("encode", "-", folder, stdin=small_png.read_bytes())
    assert unnamed.returncode == 2 and "standard input has no name" in unnamed.stderr
    for command, source in (("decode", folder / "small.rgc"), ("mask", small_png)):  # a dot in --format: one dot
        done = rcodec(command, source, folder, "--format", ".JPG")
        assert done.returncode == 0 and (folder / "small.jpg").exists(), done.stderr
        (folder / "small.jpg").unlink()


# Alpha into a format without it: flattened onto --background (white unless told).


def test_alpha_is_flattened_onto_the_background(tmp_path: Path) -> None:
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, 16:, 3] = 255  # the left half transparent
    Image.fromarray(rgba).save(tmp_path / "a.png")
    assert rcodec("encode", tmp_path / "a.png", tmp_path / "a.rgc").returncode == 0
    done = rcodec("decode", tmp_path / "a.rgc", tmp_path / "white.jpg")
    assert done.returncode == 0 and "flattened onto white (--background COLOR to choose)" in done.stderr
    black = rcodec("decode", tmp_path / "a.rgc", tmp_path / "black.jpg", "--background", "#000000")
    assert black.returncode == 0 and black.stderr == ""
    white, dark = (np.asarray(Image.open(tmp_path / f"{name}.jpg")).astype(int) for name in ("white", "black"))
    assert white[:, :8].min() > 245 and dark[:, :8].max() < 10  # the transparent half
    assert abs(white[:, 24:, 0].mean() - 200) < 8 and abs(dark[:, 24:, 0].mean() - 200) < 8  # the opaque half
    bad = rcodec("decode", tmp_path / "a.rgc", tmp_path / "x.jpg", "--background", "nocolour")
    assert bad.returncode == 2 and "must be a colour" in bad.stderr


def test_grey_and_alpha_flattens_to_grey(tmp_path: Path) -> None:
    la = np.dstack([np.full((16, 16), 50, np.uint8), np.zeros((16, 16), np.uint8)])
    data = regioncodec.encode(la)
    written, unwritten = imagefiles.decode_data(data, Path("x.rgc"), "JPEG", background=(0, 0, 255))
    with Image.open(io.BytesIO(written)) as back:
        assert back.mode == "L" and abs(np.asarray(back).mean() - 29) < 3  # blue's luma: 0.114 * 255
    assert unwritten == ("alpha",)


@pytest.mark.parametrize("image_format", sorted(imagefiles.ALPHA_FORMATS))
def test_alpha_formats_match_pillow(tmp_path: Path, image_format: str) -> None:
    """Each format the table names keeps alpha (LA and RGBA) as Pillow writes it."""
    if image_format not in Image.SAVE:
        pytest.skip(f"this Pillow cannot write {image_format}")
    for mode in ("LA", "RGBA"):
        picture = Image.new(mode, (16, 16), (100,) * len(mode))
        out = io.BytesIO()
        picture.save(out, format=image_format)
        with Image.open(out) as back:
            assert back.mode in ("LA", "RGBA", "PA") or back.has_transparency_data, (image_format, mode, back.mode)


# decode's quality for lossy outputs: the file's foreground quality unless told.


def test_decode_writes_lossy_formats_at_the_foreground_quality(tmp_path: Path) -> None:
    assert rcodec("encode", SAMPLE, tmp_path / "x.rgc", "-q", 85).returncode == 0
    decoded = np.asarray(Image.open(io.BytesIO(rcodec("decode", tmp_path / "x.rgc", "-").output)))
    for quality in (None, 50):
        out = tmp_path / f"{quality}.jpg"
        assert rcodec("decode", tmp_path / "x.rgc", out, *(["-q", quality] if quality else [])).returncode == 0
        reference = io.BytesIO()
        Image.fromarray(decoded).save(reference, "JPEG", quality=quality or 85)
        assert Image.open(out).quantization == Image.open(reference).quantization
    done = rcodec("decode", tmp_path / "x.rgc", tmp_path / "x.png", "-q", 80)
    assert done.returncode == 2 and "PNG is lossless" in done.stderr and not (tmp_path / "x.png").exists()


# Inputs of several frames: refused, unless --first-frame; Pillow's save_all says why it cannot.


def _frames(count: int) -> list[Image.Image]:
    return [Image.fromarray(random_image((32, 48, 3), seed=i)) for i in range(count)]


@pytest.mark.parametrize("name", ["anim.gif", "anim.webp", "anim.png", "pages.tif"])
def test_several_frames_are_refused_unless_first_frame(tmp_path: Path, name: str) -> None:
    first, *rest = _frames(3)
    first.save(tmp_path / name, save_all=True, append_images=rest)
    done = rcodec("encode", tmp_path / name, tmp_path / "x.rgc")
    assert done.returncode == 65 and "has 3 frames" in done.stderr and "--first-frame" in done.stderr
    assert not (tmp_path / "x.rgc").exists()
    assert rcodec("encode", tmp_path / name, tmp_path / "x.rgc", "--first-frame").returncode == 0
    assert rcodec("mask", tmp_path / name, tmp_path / "m.png", "--first-frame").returncode == 0
    with Image.open(tmp_path / name) as still:
        assert np.array_equal(regioncodec.read_mask((tmp_path / "x.rgc").read_bytes()).shape, still.size[::-1])


def test_a_batch_reports_frames_as_a_failure(tmp_path: Path) -> None:
    first, *rest = _frames(2)
    first.save(tmp_path / "anim.gif", save_all=True, append_images=rest)
    [result] = regioncodec.encode_many([tmp_path / "anim.gif"], tmp_path / "out", jobs=1)
    assert result.status == "failed" and "has 2 frames" in result.error


def test_a_camera_mpo_is_one_picture(tmp_path: Path) -> None:
    """MPO (a JPEG with previews, or a stereo pair): Pillow's first frame is the picture."""
    first, *rest = _frames(2)
    first.save(tmp_path / "camera.mpo", format="MPO", save_all=True, append_images=rest)
    done = rcodec("encode", tmp_path / "camera.mpo", tmp_path / "x.rgc")
    assert done.returncode == 0, done.stderr


# Text: a method that finds no foreground on a page with text says so; a file larger than its input says so.


def _page_with_text(path: Path) -> None:
    """A 600x800 scanned page: noisy off-white paper and 14 lines of dark text."""
    rng = np.random.default_rng(3)
    page = Image.new("L", (600, 800), 235)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=24)
    for line in range(14):
        draw.text((60, 100 + 40 * line), "the quick brown fox jumps over the lazy dog", fill=30, font=font)
    noisy = np.asarray(page) + rng.normal(0, 4, (800, 600))
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path)


def test_no_foreground_on_a_page_with_text_says_so(tmp_path: Path) -> None:
    _page_with_text(tmp_path / "scan.png")
    done = rcodec("encode", tmp_path / "scan.png", tmp_path / "t.rgc", "--method", "threshold")
    assert done.returncode == 0 and regioncodec.read_info((tmp_path / "t.rgc").read_bytes()).fg_fraction == 0
    assert "threshold found no foreground, yet" in done.stderr and "--method edges" in done.stderr
    mask = rcodec("mask", tmp_path / "scan.png", tmp_path / "m.png", "--method", "threshold")
    assert "threshold found no foreground" in mask.stderr
    edges = rcodec("encode", tmp_path / "scan.png", tmp_path / "e.rgc")  # the advice holds
    assert edges.returncode == 0 and "no foreground" not in edges.stderr
    assert regioncodec.read_info((tmp_path / "e.rgc").read_bytes()).fg_fraction > 0.2
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 235).save(blank)
    quiet = rcodec("encode", blank, tmp_path / "b.rgc", "--method", "threshold")  # nothing there: nothing to say
    assert quiet.returncode == 0 and "no foreground" not in quiet.stderr


def test_an_output_larger_than_its_input_says_so(tmp_path: Path) -> None:
    shot = Image.new("RGB", (320, 200), (246, 246, 248))  # a screenshot: flat panels, buttons, text
    draw, font = ImageDraw.Draw(shot), ImageFont.load_default(size=15)
    draw.rectangle((0, 0, 320, 30), fill=(40, 44, 52))
    draw.text((10, 7), "Settings", fill=(230, 230, 230), font=font)
    for button in range(3):
        draw.rounded_rectangle((20 + 100 * button, 60, 100 + 100 * button, 90), 5, fill=(52, 120, 246))
        draw.text((32 + 100 * button, 67), f"OK {button}", fill=(255, 255, 255), font=font)
    for line in range(4):
        draw.text((20, 110 + 20 * line), "the quick brown fox jumps over", fill=(30, 30, 30), font=font)
    shot.save(tmp_path / "shot.png")  # about 6 kB; the .rgc about twice that
    done = rcodec("encode", tmp_path / "shot.png", tmp_path / "shot.rgc")
    assert done.returncode == 0 and "is larger than" in done.stderr and "lossless WebP" in done.stderr
    photo = rcodec("encode", SAMPLE, tmp_path / "photo.rgc")
    assert photo.returncode == 0 and photo.stderr == ""


# An unreachable Dask scheduler: exit 69 within 2 s, before any progress bar.


def _closed_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_scheduler_fails_within_two_seconds(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(random_image((16, 16, 3))).save(folder / "a.png")
    address = f"tcp://127.0.0.1:{_closed_port()}"
    start = time.perf_counter()
    done = rcodec_process("batch", folder, tmp_path / "out", "--scheduler", address)
    assert time.perf_counter() - start < 2.0
    assert done.returncode == 69 and f"cannot reach the Dask scheduler at {address}" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1  # no progress bar before it
    assert not (tmp_path / "out").exists()


def test_a_scheduler_that_never_answers_is_given_up_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A firewall that drops packets: the connection attempt waits REACH_SECONDS, not Dask's 10 s."""
    waited = []

    def silent(address: tuple[str, int], timeout: float) -> socket.socket:
        waited.append(timeout)
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", silent)
    with pytest.raises(regioncodec.SchedulerError, match="cannot reach .* no answer in time"):
        cluster.check_scheduler("tcp://10.255.255.1:8786")
    assert waited == [cluster.REACH_SECONDS] and cluster.REACH_SECONDS <= 1.0
