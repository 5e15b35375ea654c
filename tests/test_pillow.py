"""The Pillow plugin, in the manner of Pillow's own test_file_*.py: sanity, invalid, truncated, save options."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

import regioncodec
import regioncodec.decoder
from regioncodec import pillow

from .conftest import DATA, ROOT
from .helpers import psnr, random_image

SMALLEST = DATA / "smallest.rgc"
ALPHA_METADATA = DATA / "alpha-metadata.rgc"


@pytest.fixture(autouse=True)
def registered() -> None:
    regioncodec.register_pillow()


def test_sanity() -> None:
    with Image.open(ALPHA_METADATA) as im:
        assert (im.format, im.size, im.mode) == ("RGC", (32, 16), "RGBA")
        assert im.format_description == "regioncodec region-adaptive image"
        assert im.get_format_mimetype() == "image/x-rgc"
        im.load()
        assert np.array_equal(np.asarray(im), regioncodec.decode(ALPHA_METADATA.read_bytes()))


@pytest.mark.parametrize(
    "shape, mode", [((20, 30), "L"), ((20, 30, 2), "LA"), ((20, 30, 3), "RGB"), ((20, 30, 4), "RGBA")]
)
def test_every_mode(tmp_path: Path, shape: tuple[int, ...], mode: str) -> None:
    path = tmp_path / "x.rgc"
    path.write_bytes(regioncodec.encode(random_image(shape)))
    with Image.open(path) as im:
        assert (im.mode, im.size) == (mode, (30, 20))
        assert np.array_equal(np.asarray(im), regioncodec.decode(path.read_bytes()))


def test_open_reads_the_header_and_decodes_only_on_load(monkeypatch: pytest.MonkeyPatch) -> None:
    data = ALPHA_METADATA.read_bytes()
    stream = io.BytesIO(data)
    calls = []
    monkeypatch.setattr(
        regioncodec.decoder, "decode", lambda *a, **k: calls.append(a) or np.zeros((16, 32, 4), np.uint8)
    )
    im = Image.open(stream)
    assert im.size == (32, 16) and not calls
    assert stream.tell() <= data.index(b"BMAP") + 4  # nothing past the block map's chunk header was read
    im.load()
    assert len(calls) == 1


def test_registration() -> None:
    assert Image.registered_extensions()[".rgc"] == "RGC"
    assert Image.MIME["RGC"] == "image/x-rgc"
    assert "RGC" in Image.SAVE and "RGC" in Image.OPEN


@pytest.mark.parametrize("how", ["import regioncodec.pillow", "import regioncodec; regioncodec.register_pillow()"])
def test_importing_registers(how: str) -> None:
    """In a fresh interpreter: nothing is registered by importing regioncodec alone; either way below does."""
    check = f"""
from PIL import Image
import regioncodec
import regioncodec.decoder
assert "RGC" not in Image.OPEN
{how}
im = Image.open({str(ALPHA_METADATA)!r})
print(im.format, im.mode, im.size)
"""
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["RGC", "RGBA", "(32,", "16)"]


def test_metadata_in_info() -> None:
    with Image.open(ALPHA_METADATA) as im:
        metadata = regioncodec.read_metadata(ALPHA_METADATA.read_bytes())
        assert im.info["exif"] == metadata.exif and im.info["exif"].startswith(b"Exif\0\0")
        assert im.info["icc_profile"] == metadata.icc_profile
        assert im.info["xmp"] == metadata.xmp
        assert im.getexif()[0x0112] == 6
        assert ImageOps.exif_transpose(im).size == (16, 32)  # orientation 6: viewers turn it


def test_invalid_file(tmp_path: Path) -> None:
    not_rgc = tmp_path / "x.rgc"
    not_rgc.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    with pytest.raises(UnidentifiedImageError):
        Image.open(not_rgc)
    with pytest.raises(SyntaxError, match="not a readable .rgc file: not an .rgc file"):
        pillow.RgcImageFile(not_rgc)
    damaged = bytearray(SMALLEST.read_bytes())
    damaged[20] ^= 1  # inside HEAD: its CRC fails
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(bytes(damaged)))


def test_damaged_pixels_raise_oserror_on_load() -> None:
    data = bytearray(ALPHA_METADATA.read_bytes())
    data[-60] ^= 1  # inside the last LAYR chunk
    with Image.open(io.BytesIO(bytes(data))) as im:
        with pytest.raises(OSError, match="cannot decode .rgc file: LAYR chunk .* CRC"):
            im.load()


def test_truncated_file_behaves_as_png() -> None:
    """Cut in the header: Pillow cannot identify it. Cut after: it opens, and load() says it is truncated."""
    data = ALPHA_METADATA.read_bytes()
    head_end = 8 + 12 + 12
    bmap_read = data.index(b"BMAP") + 4  # where opening stops reading
    for end in range(len(data)):
        cut = io.BytesIO(data[:end])
        try:
            im = Image.open(cut)
        except UnidentifiedImageError:
            assert end < bmap_read  # a chunk before the block map is cut (or the header itself)
            continue
        assert end >= head_end and im.size == (32, 16)
        with pytest.raises(OSError, match="image file is truncated"):
            im.load()


def test_incremental_parser_waits_for_the_whole_file() -> None:
    """ImageFile.Parser (what web frameworks feed uploads to) raised AssertionError: it fed pieces to a decoder
    that reads the whole file; now it keeps the bytes and opens them once all have come, as for any such plugin."""
    data = ALPHA_METADATA.read_bytes()
    parser = ImageFile.Parser()
    for start in range(0, len(data), 100):
        parser.feed(data[start : start + 100])
    image = parser.close()
    assert np.array_equal(np.asarray(image), regioncodec.decode(data))
    cut = ImageFile.Parser()
    cut.feed(data[:-30])
    with pytest.raises(OSError, match="truncated"):
        cut.close()


def test_truncated_file_with_load_truncated_images(monkeypatch: pytest.MonkeyPatch) -> None:
    """.rgc has no partial decode: even with LOAD_TRUNCATED_IMAGES a cut file raises, never a half image."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = ALPHA_METADATA.read_bytes()
    with Image.open(io.BytesIO(data[:-20])) as im, pytest.raises(OSError, match="truncated"):
        im.load()


def test_decompression_bomb_check_is_pillows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(ALPHA_METADATA)  # 512 pixels: more than twice the limit


def test_save_with_options(tmp_path: Path) -> None:
    photo = Image.open(ROOT / "samples" / "kodim04.jpg")
    mask = np.zeros((photo.height, photo.width), bool)
    mask[:64, :64] = True
    path = tmp_path / "x.rgc"
    photo.save(path, fg_quality=85, bg_quality=20, mask=mask)
    info = regioncodec.read_info(path.read_bytes())
    assert [r.quality for r in info.regions] == [20, 85]
    assert info.fg_fraction == pytest.approx(64 * 64 / (photo.width * photo.height))
    photo.save(path, method="edges", block_size=32)
    assert regioncodec.read_info(path.read_bytes()).block_size == 32
    with Image.open(path) as back:
        assert psnr(np.asarray(back), np.asarray(photo)) > 30


def test_save_takes_pil_mask_and_format_keyword() -> None:
    image = Image.fromarray(random_image((32, 48, 3)))
    mask = Image.new("1", image.size)
    out = io.BytesIO()
    image.save(out, "RGC", mask=mask)
    assert regioncodec.read_info(out.getvalue()).fg_fraction == 0


def test_save_keeps_metadata_and_alpha(tmp_path: Path) -> None:
    with Image.open(ALPHA_METADATA) as original:
        original.load()
        original.save(tmp_path / "again.rgc")
        stripped = tmp_path / "stripped.rgc"
        original.save(stripped, strip=True)
    with Image.open(tmp_path / "again.rgc") as again:
        assert again.mode == "RGBA" and again.info["icc_profile"] == original.info["icc_profile"]
        assert again.info["exif"] == original.info["exif"] and again.info["xmp"] == original.info["xmp"]
        assert np.array_equal(np.asarray(again)[..., 3], np.asarray(original)[..., 3])
    with Image.open(stripped) as im:
        assert not {"exif", "icc_profile", "xmp"} & im.info.keys()


def test_bad_save_option_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "x.rgc"
    with pytest.raises(regioncodec.InputError, match="fg_quality"):
        Image.fromarray(random_image((16, 16, 3))).save(path, fg_quality=0)
    assert not path.exists()


def test_save_quality_is_the_foregrounds_with_the_background_following(tmp_path: Path) -> None:
    """Pillow's usual quality= sets the foreground; the background follows it, unless bg_quality is given."""
    image = Image.fromarray(random_image((32, 48, 3)))
    image.save(tmp_path / "q.rgc", quality=70)
    assert [r.quality for r in regioncodec.read_info((tmp_path / "q.rgc").read_bytes()).regions] == [49, 70]
    image.save(tmp_path / "b.rgc", quality=70, bg_quality=50)
    assert [r.quality for r in regioncodec.read_info((tmp_path / "b.rgc").read_bytes()).regions] == [50, 70]
    with pytest.raises(regioncodec.InputError, match="give quality or fg_quality, not both"):
        image.save(tmp_path / "c.rgc", quality=70, fg_quality=80)
    assert not (tmp_path / "c.rgc").exists()


def test_save_all_saves_one_frame_and_refuses_more(tmp_path: Path) -> None:
    frames = [Image.fromarray(random_image((16, 16, 3), seed=i)) for i in range(3)]
    frames[0].save(tmp_path / "one.rgc", save_all=True)
    assert regioncodec.read_info((tmp_path / "one.rgc").read_bytes()).width == 16
    with pytest.raises(regioncodec.InputError, match="holds one picture, not 3 frames"):
        frames[0].save(tmp_path / "three.rgc", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / "anim.gif") as animation:
        with pytest.raises(regioncodec.InputError, match="not 3 frames"):
            animation.save(tmp_path / "gif.rgc", save_all=True)
        animation.save(tmp_path / "first.rgc")  # without save_all, as every Pillow format: the current frame
    assert not (tmp_path / "three.rgc").exists() and not (tmp_path / "gif.rgc").exists()


# draft(): reduced decoding for thumbnails


@pytest.fixture(scope="module")
def photo_rgc(tmp_path_factory: pytest.TempPathFactory, photo: np.ndarray) -> Path:
    """kodim04 (512x768, a portrait) as an .rgc file."""
    path = tmp_path_factory.mktemp("draft") / "photo.rgc"
    path.write_bytes(regioncodec.encode(photo))
    return path


@pytest.mark.parametrize(
    "asked, factor",
    [((512, 768), 1), ((256, 384), 2), ((255, 383), 2), ((200, 300), 2), ((128, 192), 4), ((64, 64), 8), ((1, 1), 8)],
)
def test_draft_picks_the_largest_reduction_still_as_large_as_asked(
    photo_rgc: Path, asked: tuple[int, int], factor: int
) -> None:
    """As Pillow's JPEG plugin: the largest of 1, 2, 4, 8 that keeps both sides at least the size asked."""
    with Image.open(photo_rgc) as im:
        assert im.draft("RGB", asked) == ("RGB", (0, 0, 512 / factor, 768 / factor))
        assert im.size == (512 // factor, 768 // factor)
        assert np.array_equal(np.asarray(im), regioncodec.decode(photo_rgc.read_bytes(), reduce=factor))


def test_draft_of_a_size_not_dividing_the_image_gives_where_the_image_lies() -> None:
    """A 45x29 image at 1/4 is 12x8; the original lies in (0, 0, 11.25, 7.25) of it (thumbnail's resize box)."""
    data = regioncodec.encode(random_image((29, 45, 4)))
    with Image.open(io.BytesIO(data)) as im:
        assert im.draft(None, (10, 7)) == ("RGBA", (0, 0, 45 / 4, 29 / 4))
        assert (im.size, im.mode) == ((12, 8), "RGBA")
        assert np.array_equal(np.asarray(im), regioncodec.decode(data, reduce=4))


def test_draft_changes_nothing_once_loaded_or_drafted(photo_rgc: Path) -> None:
    with Image.open(photo_rgc) as im:
        assert im.draft(None, (128, 192)) is not None
        assert im.draft(None, (64, 96)) is None and im.size == (128, 192)  # as JPEG: the first draft holds
    with Image.open(photo_rgc) as im:
        im.load()
        assert im.draft(None, (64, 96)) is None and im.size == (512, 768)


def test_thumbnail_decodes_at_a_reduced_size(photo_rgc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Image.thumbnail asks draft for the box times reducing_gap (160x160 for 80x80); within it, draft fits the
    512x768 image into that box: 1/4, 128x192, still twice the 53x80 thumbnail (JPEG's rule would give 1/2)."""
    factors = []
    real = regioncodec.reduced.decode
    monkeypatch.setattr(
        regioncodec.reduced, "decode", lambda data, factor, **k: factors.append(factor) or real(data, factor, **k)
    )
    with Image.open(photo_rgc) as im:
        im.thumbnail((80, 80))
        assert im.size == (53, 80) and factors == [4]
        full = Image.fromarray(regioncodec.decode(photo_rgc.read_bytes()))
        full.thumbnail((80, 80))
        assert psnr(np.asarray(full), np.asarray(im)) > 35
    with Image.open(photo_rgc) as im:
        assert im.draft(None, (160, 160)) == ("RGB", (0, 0, 256, 384))  # outside thumbnail: JPEG's rule again


def test_thumbnail_without_reducing_gap_decodes_full_size(photo_rgc: Path) -> None:
    with Image.open(photo_rgc) as im:
        im.thumbnail((80, 80), reducing_gap=None)
        assert im.size == (53, 80)
        full = Image.fromarray(regioncodec.decode(photo_rgc.read_bytes()))
        full.thumbnail((80, 80), reducing_gap=None)
        assert np.array_equal(np.asarray(full), np.asarray(im))
