"""The rcodec command line: in this process through cli.main, and as users run it, in a subprocess, where only a
real process shows what is tested (exit at a full disk, C libraries' stderr, a closed pipe, start-up time)."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest
from PIL import Image, ImageCms

import regioncodec
from regioncodec import cli, compiled, container, files

from .conftest import DATA, ROOT
from .craft import build, chunks_of, layer
from .helpers import rcodec, rcodec_process

SAMPLE = ROOT / "samples" / "kodim04.jpg"


@pytest.fixture()
def encoded(tmp_path: Path) -> Path:
    out = tmp_path / "photo.rgc"
    assert rcodec("encode", SAMPLE, out, "--fg-quality", 90, "--bg-quality", 30).returncode == 0
    return out


def test_encode_decode_info(tmp_path: Path, encoded: Path) -> None:
    png = tmp_path / "back.png"
    done = rcodec("decode", encoded, png)
    assert done.returncode == 0, done.stderr
    assert Image.open(png).size == Image.open(SAMPLE).size
    info = rcodec("info", encoded)
    assert info.returncode == 0 and "512x768 RGB" in info.stdout and "foreground" in info.stdout
    as_json = json.loads(rcodec("info", encoded, "--json").stdout)
    assert as_json["width"] == 512 and [r["quality"] for r in as_json["regions"]] == [30, 60, 90]  # skin: middle
    assert sorted(p.name for p in tmp_path.iterdir()) == ["back.png", "photo.rgc"]  # no temp files left


def test_mask_file(tmp_path: Path) -> None:
    mask = np.zeros((768, 512), np.uint8)
    mask[:64, :64] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "m.rgc"
    assert rcodec("encode", SAMPLE, out, "--mask", tmp_path / "mask.png").returncode == 0
    assert json.loads(rcodec("info", out, "--json").stdout)["fg_fraction"] == pytest.approx(64 * 64 / (768 * 512))


def test_mask_of_the_wrong_size(tmp_path: Path) -> None:
    Image.new("L", (10, 20)).save(tmp_path / "mask.png")
    done = rcodec("encode", SAMPLE, tmp_path / "m.rgc", "--mask", tmp_path / "mask.png")
    assert done.returncode == 65
    assert "mask is 10x20 but the image is 512x768" in done.stderr
    assert not (tmp_path / "m.rgc").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("encode", SAMPLE, "x.rgc", "--fg-quality", "0"),
        ("encode", SAMPLE, "x.rgc", "--bg-quality", "abc"),
        ("encode", SAMPLE, "x.rgc", "--method", "nope"),
        ("encode", SAMPLE, "x.rgc", "--method", "faces+nope"),
        ("encode", SAMPLE, "x.rgc", "--kernel", "4"),
        ("encode", SAMPLE, "x.rgc", "--margin", "wide"),
        ("encode", SAMPLE, "x.rgc", "--threshold", "0.2", "--fraction", "0.3"),
        ("encode", SAMPLE, "x.rgc", "--mask", SAMPLE, "--method", "faces"),
        ("encode", SAMPLE, "x.rgc", "--mask", SAMPLE, "--margin", "16"),
        ("encode", SAMPLE, "x.rgc", "--mask", SAMPLE, "--margin", "0"),
        ("encode", SAMPLE, "x.rgc", "--quality-map", SAMPLE, "--fg-quality", "80"),
        ("encode", SAMPLE, "x.rgc", "--quality-map", SAMPLE, "--bg-quality", "20"),
        ("encode", SAMPLE, "x.rgc", "--quality-map", SAMPLE, "--levels", "3"),
        ("encode", SAMPLE, "x.rgc", "--quality-map", SAMPLE, "--transition"),
        ("encode", SAMPLE, "x.rgc", "--quality-map", SAMPLE, "--mask", SAMPLE),
        ("encode", SAMPLE, "x.rgc", "--target-size", "inf"),
        ("encode", SAMPLE, "x.rgc", "--target-bpp", "inf"),
        ("encode", SAMPLE, "x.rgc", "--target-bpp", "nan"),
        ("encode", SAMPLE, "x.rgc", "--levels", "9"),
        ("encode", SAMPLE, "x.rgc", "--levels", "1"),
        ("encode", SAMPLE, "x.rgc", "--levels", "8", "--transition"),
        ("encode", SAMPLE, "x.rgc", "--block-size", "12"),
        ("decode", "in.rgc", "x.png", "--max-pixels", "0"),
        ("bench", SAMPLE, "--out", "report", "--repeat", "0"),
        ("bench", SAMPLE, "--out", "report", "--method", "faces"),
        ("mask", SAMPLE, "x.png", "--clusters", "1"),
        ("mask", SAMPLE, "x.xyz"),
        ("encode", SAMPLE),
        ("frobnicate",),
        (),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path: Path, args: tuple[object, ...]) -> None:
    done = rcodec(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "x.rgc").exists()


def test_quality_map_sets_the_qualities_and_refuses_the_flags_it_replaces(tmp_path: Path) -> None:
    width, height = Image.open(SAMPLE).size
    quality_map = np.full((height, width), 255, np.uint8)
    quality_map[:, : width // 2] = 51  # quality 21
    Image.fromarray(quality_map).save(tmp_path / "map.png")
    # the sample is a quality-95 JPEG: without --force-quality the map's 100 is capped at 95
    done = rcodec("encode", SAMPLE, tmp_path / "q.rgc", "--quality-map", tmp_path / "map.png", "--force-quality")
    assert done.returncode == 0, done.stderr
    assert [r.quality for r in regioncodec.read_info((tmp_path / "q.rgc").read_bytes()).regions] == [21, 100]
    done = rcodec("encode", SAMPLE, tmp_path / "r.rgc", "--quality-map", tmp_path / "map.png", "--fg-quality", "80")
    assert done.returncode == 2 and "a quality map is used as it is: fg_quality cannot apply" in done.stderr
    assert not (tmp_path / "r.rgc").exists()


def test_missing_input_exits_66(tmp_path: Path) -> None:
    for args in (
        ("encode", tmp_path / "none.jpg", tmp_path / "o.rgc"),
        ("decode", tmp_path / "none.rgc", tmp_path / "o.png"),
        ("info", tmp_path / "none.rgc"),
    ):
        done = rcodec(*args)
        assert done.returncode == 66 and "none." in done.stderr and "No such file" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_unreadable_inputs_of_any_kind_exit_66(tmp_path: Path) -> None:
    """A loop of symbolic links or a name too long was an "internal error" (exit 70): any reason a file cannot be
    read is exit 66, IN and --mask alike."""
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    long_name = tmp_path / ("a" * 300 + ".png")
    for bad in (loop, long_name):
        for args in (("encode", bad, tmp_path / "o.rgc"), ("info", bad), ("encode", SAMPLE, "-", "--mask", bad)):
            done = rcodec(*args)
            assert done.returncode == 66 and "cannot open" in done.stderr, (args, done.stderr)
            assert len(done.stderr.strip().splitlines()) == 1


def test_corrupt_input_exits_65_and_leaves_nothing(tmp_path: Path, encoded: Path) -> None:
    data = bytearray(encoded.read_bytes())
    data[300] ^= 0xFF
    bad = tmp_path / "bad.rgc"
    bad.write_bytes(bytes(data))
    done = rcodec("decode", bad, tmp_path / "bad.png")
    assert done.returncode == 65 and "CRC" in done.stderr and str(bad) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad.png").exists()
    assert rcodec("info", bad).returncode == 65
    not_image = tmp_path / "text.jpg"
    not_image.write_text("hello")
    assert rcodec("encode", not_image, tmp_path / "t.rgc").returncode == 65


def test_refuses_to_overwrite_without_force(tmp_path: Path, encoded: Path) -> None:
    before = encoded.read_bytes()
    done = rcodec("encode", SAMPLE, encoded, "--fg-quality", "50")
    assert done.returncode == 73 and "--force" in done.stderr
    assert encoded.read_bytes() == before
    assert rcodec("encode", SAMPLE, encoded, "--fg-quality", "50", "--force").returncode == 0
    assert encoded.read_bytes() != before


def test_never_writes_over_its_input(tmp_path: Path) -> None:
    copy = tmp_path / "in.png"
    Image.open(SAMPLE).save(copy)
    before = copy.read_bytes()
    done = rcodec("encode", copy, copy, "--force")
    assert done.returncode == 73 and "input" in done.stderr
    assert copy.read_bytes() == before


def test_unknown_output_extension(tmp_path: Path, encoded: Path) -> None:
    done = rcodec("decode", encoded, tmp_path / "out.xyz")
    assert done.returncode == 2 and "extension" in done.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rgc"
    bad.write_bytes(b"nope")
    done = rcodec("decode", bad, tmp_path / "o.png", "--debug")
    assert done.returncode == 65 and "Traceback" in done.stderr


def test_help_has_examples() -> None:
    for command in ("encode", "decode", "info", "mask"):
        done = rcodec(command, "--help")
        assert done.returncode == 0 and "examples:" in done.stdout and f"rcodec {command}" in done.stdout


def test_version_and_a_round_trip_as_a_user_runs_them(tmp_path: Path) -> None:
    done = rcodec_process("--version")
    assert done.returncode == 0 and done.stdout.startswith("rcodec ")
    assert done.stdout.rstrip().endswith(
        "kernels: compiled" if compiled.kernels else "(installed without a C compiler: slower)"
    )
    assert rcodec_process("encode", SAMPLE, tmp_path / "a.rgc").returncode == 0
    assert rcodec_process("decode", tmp_path / "a.rgc", tmp_path / "a.png").returncode == 0
    assert Image.open(tmp_path / "a.png").size == (512, 768)


def test_a_closed_pipe_ends_quietly(tmp_path: Path, encoded: Path) -> None:
    """rcodec info x.rgc | head -1: the reader goes away; no error, no traceback."""
    reader = subprocess.Popen(
        [sys.executable, "-m", "regioncodec", "info", str(encoded)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()  # as head does once it has its line
    assert reader.wait(timeout=60) == 0
    assert reader.stderr.read() == b""


def test_greyscale_stays_greyscale(tmp_path: Path) -> None:
    grey = tmp_path / "grey.png"
    Image.open(SAMPLE).convert("L").save(grey)
    assert rcodec("encode", grey, tmp_path / "g.rgc").returncode == 0
    assert rcodec("decode", tmp_path / "g.rgc", tmp_path / "g.png").returncode == 0
    assert Image.open(tmp_path / "g.png").mode == "L"


def test_mask_preview(tmp_path: Path) -> None:
    out = tmp_path / "preview.png"
    done = rcodec("mask", SAMPLE, out)
    assert done.returncode == 0, done.stderr
    assert "foreground" in done.stdout and "(edges)" in done.stdout
    original = np.asarray(Image.open(SAMPLE).convert("RGB")).astype(int)
    picture = np.asarray(Image.open(out)).astype(int)
    assert picture.shape == original.shape
    dimmed = (picture < 0.5 * original + 1).all(axis=2)
    assert 0.05 < dimmed.mean() < 0.95  # some background, some foreground
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preview.png"]


def test_raw_mask_feeds_back_into_encode(tmp_path: Path) -> None:
    raw = tmp_path / "faces.png"
    done = rcodec("mask", SAMPLE, raw, "--raw", "--method", "faces+edges", "--margin", "16")
    assert done.returncode == 0, done.stderr
    mask = np.asarray(Image.open(raw))
    assert mask.shape == (768, 512) and set(np.unique(mask)) == {0, 255}
    by_method = tmp_path / "method.rgc"
    by_mask = tmp_path / "mask.rgc"
    done = rcodec("encode", SAMPLE, by_method, "--method", "faces+edges", "--margin", "16", "--no-subjects")
    assert done.returncode == 0, done.stderr
    assert rcodec("encode", SAMPLE, by_mask, "--mask", raw).returncode == 0
    stored = [regioncodec.read_mask(path.read_bytes()) for path in (by_method, by_mask)]
    assert np.array_equal(stored[0], stored[1]) and np.array_equal(stored[0], mask > 0)


def test_mask_controls_change_the_mask(tmp_path: Path) -> None:
    shares = []
    for fraction in ("0.2", "0.5"):
        out = tmp_path / f"{fraction}.png"
        assert rcodec("mask", SAMPLE, out, "--raw", "--fraction", fraction).returncode == 0
        shares.append((np.asarray(Image.open(out)) > 0).mean())
    assert shares[0] == pytest.approx(0.2, abs=0.05) and shares[1] == pytest.approx(0.5, abs=0.05)


def test_mask_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "m.png"
    out.write_bytes(b"keep me")
    done = rcodec("mask", SAMPLE, out)
    assert done.returncode == 73 and "--force" in done.stderr
    assert out.read_bytes() == b"keep me"
    assert rcodec("mask", SAMPLE, out, "--force").returncode == 0
    assert Image.open(out).size == (512, 768)


def test_decode_never_writes_over_its_input(tmp_path: Path, encoded: Path) -> None:
    """Not the same path, nor a hard or symbolic link to it (named .png, so the format is no obstacle)."""
    before = encoded.read_bytes()
    same = tmp_path / "same.png"
    encoded.rename(same)
    (tmp_path / "hard.png").hardlink_to(same)
    (tmp_path / "soft.png").symlink_to(same)
    for out in (same, tmp_path / "hard.png", tmp_path / "soft.png"):
        done = rcodec("decode", same, out, "--force")
        assert done.returncode == 73 and "is an input file" in done.stderr
    assert same.read_bytes() == before


@pytest.mark.parametrize("flag", ["--mask", "--quality-map"])
def test_encode_never_writes_over_its_mask_or_quality_map(tmp_path: Path, flag: str) -> None:
    """--force replaced a --mask file with the .rgc written, when OUT named it."""
    image, guide = tmp_path / "in.png", tmp_path / "guide.png"
    Image.fromarray(np.full((32, 48, 3), 90, np.uint8)).save(image)
    Image.fromarray(np.full((32, 48), 255, np.uint8)).save(guide)
    before = guide.read_bytes()
    done = rcodec("encode", image, guide, flag, guide, "--force")
    assert done.returncode == 73 and f"is an input file ({guide})" in done.stderr
    assert guide.read_bytes() == before


def limited(max_file_bytes: int) -> Callable[[], None]:
    """A preexec_fn capping the size of any file the child writes, as a full disk would."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))


@pytest.mark.parametrize("command", ["encode", "decode"])
def test_full_disk_mid_write_leaves_no_partial_file(tmp_path: Path, encoded: Path, command: str) -> None:
    """Writing fails half-way (EFBIG at 4 KB): exit 73, and the folder holds exactly what it held."""
    source, out = (SAMPLE, tmp_path / "new.rgc") if command == "encode" else (encoded, tmp_path / "new.png")
    before = sorted(tmp_path.iterdir())
    done = rcodec_process(command, source, out, preexec_fn=limited(4096))
    assert done.returncode == 73 and "File too large" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert sorted(tmp_path.iterdir()) == before


def test_failed_replace_keeps_the_old_file(tmp_path: Path, encoded: Path) -> None:
    old = tmp_path / "old.png"
    old.write_bytes(b"precious")
    done = rcodec_process("decode", encoded, old, "--force", preexec_fn=limited(4096))
    assert done.returncode == 73 and old.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.png", "photo.rgc"]


@pytest.mark.parametrize(
    "error, code",
    [(OSError(28, "No space left on device"), 73), (RuntimeError("bug"), 70), (KeyboardInterrupt(), 130)],
)
def test_any_error_while_writing_leaves_nothing(
    tmp_path: Path,
    encoded: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    code: int,
) -> None:
    """A writer that fails after writing part of the image, however it fails, leaves no file behind."""

    def failing_save(image: Image.Image, handle: BinaryIO, **options: object) -> None:
        handle.write(b"\x89PNG half an image")
        raise error

    monkeypatch.setattr(Image.Image, "save", failing_save)
    assert cli.main(["decode", str(encoded), str(tmp_path / "out.png")]) == code
    assert [p.name for p in tmp_path.iterdir()] == ["photo.rgc"]
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_ctrl_c_while_writing_is_held_until_the_file_is_whole(tmp_path: Path) -> None:
    """SIGINT arriving mid-write cannot strand the temporary file: it is acted on once the output is in place."""

    def write(handle: BinaryIO) -> None:
        handle.write(b"first half, ")
        signal.raise_signal(signal.SIGINT)
        handle.write(b"second half")

    with pytest.raises(KeyboardInterrupt):
        files.write_atomic(tmp_path / "out.bin", write, force=False)
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
    assert (tmp_path / "out.bin").read_bytes() == b"first half, second half"


def test_bench_reports_an_image_it_cannot_code_in_one_line(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((32, 32), np.float32), "F").save(tmp_path / "float.tif")
    done = rcodec("bench", tmp_path / "float.tif", "--out", tmp_path / "report", "--no-plots", "--peers", "jpeg")
    assert done.returncode == 65 and "float.tif: image mode F is not supported" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_output_folder_that_cannot_hold_files_exits_73(tmp_path: Path, encoded: Path) -> None:
    for out in (tmp_path / "missing" / "o.png", encoded / "o.png"):
        done = rcodec("decode", encoded, out)
        assert done.returncode == 73 and str(out) in done.stderr and "cannot write" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in a read-only folder")
def test_read_only_folder_exits_73(tmp_path: Path, encoded: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    done = rcodec("decode", encoded, folder / "o.png")
    assert done.returncode == 73 and "Permission denied" in done.stderr
    assert not any(folder.iterdir())


def test_over_the_pixel_limit_exits_65(tmp_path: Path, encoded: Path) -> None:
    done = rcodec("decode", encoded, tmp_path / "o.png", "--max-pixels", 1000)
    assert done.returncode == 65 and "over the limit of 1000" in done.stderr
    assert not (tmp_path / "o.png").exists()


def test_libjpeg_warnings_stay_off_stderr_unless_debug(tmp_path: Path) -> None:
    """A CRC-valid file whose JPEG data is damaged decodes; libjpeg's own warning would be a second stderr line."""
    golden = (DATA / "two-regions.rgc").read_bytes()
    chunks = chunks_of(golden)
    luma, chroma = container.read(golden).layers[0].streams
    scan = luma.index(b"\xff\xda") + 12
    damaged = luma[:scan] + luma[scan + 4 :]  # four bytes of entropy-coded data gone
    bad = tmp_path / "bad.rgc"
    bad.write_bytes(build([*chunks[:2], (b"LAYR", layer(0, damaged, chroma)), *chunks[3:]]))
    done = rcodec_process("decode", bad, tmp_path / "a.png")
    assert done.returncode == 0 and done.stderr == ""
    debug = rcodec_process("decode", bad, tmp_path / "b.png", "--debug")
    assert debug.returncode == 0 and "Corrupt JPEG data" in debug.stderr


def _photo_with_metadata(path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.open(SAMPLE).save(path, exif=exif, icc_profile=icc, xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>')


def test_metadata_goes_through_encode_and_decode(tmp_path: Path) -> None:
    source = tmp_path / "meta.jpg"
    _photo_with_metadata(source)
    assert rcodec("encode", source, tmp_path / "m.rgc").returncode == 0
    info = rcodec("info", tmp_path / "m.rgc")
    assert "exif" in info.stdout and "icc_profile" in info.stdout and "xmp" in info.stdout
    for suffix in (".png", ".jpg", ".webp", ".tif"):
        out = tmp_path / f"back{suffix}"
        done = rcodec("decode", tmp_path / "m.rgc", out)
        assert done.returncode == 0 and not done.stderr, done.stderr
        with Image.open(out) as back, Image.open(source) as original:
            assert back.getexif()[0x0112] == 6
            assert back.info["icc_profile"] == original.info["icc_profile"]
            assert back.info["xmp"].strip(b"\0 ") == original.info["xmp"]


def test_strip(tmp_path: Path) -> None:
    source = tmp_path / "meta.jpg"
    _photo_with_metadata(source)
    assert rcodec("encode", source, tmp_path / "s.rgc", "--strip").returncode == 0
    assert json.loads(rcodec("info", tmp_path / "s.rgc", "--json").stdout)["metadata"] == {}
    assert rcodec("encode", source, tmp_path / "m.rgc").returncode == 0
    assert rcodec("decode", tmp_path / "m.rgc", tmp_path / "s.png", "--strip").returncode == 0
    with Image.open(tmp_path / "s.png") as back:
        assert not {"exif", "icc_profile", "xmp"} & back.info.keys()


def test_decode_notes_metadata_the_format_cannot_hold(tmp_path: Path) -> None:
    source = tmp_path / "meta.jpg"
    _photo_with_metadata(source)
    assert rcodec("encode", source, tmp_path / "m.rgc").returncode == 0
    done = rcodec("decode", tmp_path / "m.rgc", tmp_path / "m.bmp")
    assert done.returncode == 0
    assert "note:" in done.stderr and "cannot hold exif, icc_profile, xmp" in done.stderr


def test_alpha_through_the_command_line(tmp_path: Path) -> None:
    rgba = np.dstack([np.asarray(Image.open(SAMPLE))[:64, :64], np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1))])
    Image.fromarray(rgba).save(tmp_path / "a.png")
    assert rcodec("encode", tmp_path / "a.png", tmp_path / "a.rgc").returncode == 0
    assert "64x64 RGBA" in rcodec("info", tmp_path / "a.rgc").stdout
    assert rcodec("decode", tmp_path / "a.rgc", tmp_path / "back.png").returncode == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "back.png"))[..., 3], rgba[..., 3])
    done = rcodec("decode", tmp_path / "a.rgc", tmp_path / "back.jpg")  # JPEG has no alpha: flattened onto white
    assert done.returncode == 0 and "flattened onto white" in done.stderr
    assert Image.open(tmp_path / "back.jpg").mode == "RGB"
