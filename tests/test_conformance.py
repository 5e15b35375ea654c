"""The decoder against spec/format.md: the conformance vectors (§16), a second decoder written from the spec
alone, the pinned arithmetic of §11 checked against its formulas, and the decoder reading alone."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
from PIL import Image

import regioncodec
from regioncodec import container, decoder

from . import naive_decoder
from .conftest import ROOT
from .helpers import ENCODER_SIDE, modules_loaded

VECTORS = ROOT / "spec" / "conformance"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text())


def digest(pixels: np.ndarray) -> str:
    """SHA-256 of decoded pixels as §16 defines it."""
    return hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest()


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_reference_decoder_reproduces_every_vector(name: str, passes: str) -> None:
    entry = MANIFEST[name]
    pixels = regioncodec.decode((VECTORS / entry["file"]).read_bytes())
    expected = np.asarray(Image.open(VECTORS / f"{name}.png"))
    assert pixels.shape == expected.shape
    if "tolerance" in entry:  # a canvas: its codec's decoders may differ by the stated tolerance
        assert np.abs(pixels.astype(int) - expected).max() <= entry["tolerance"]
    else:
        assert digest(pixels) == entry["sha256"] and np.array_equal(pixels, expected)


@pytest.mark.parametrize("name", sorted(name for name, entry in MANIFEST.items() if "tolerance" not in entry))
def test_a_decoder_written_from_the_spec_alone_agrees_bit_for_bit(name: str) -> None:
    data = (VECTORS / MANIFEST[name]["file"]).read_bytes()
    assert digest(naive_decoder.decode(data)) == MANIFEST[name]["sha256"]


@pytest.mark.parametrize("name", sorted(name for name, entry in MANIFEST.items() if "tolerance" in entry))
def test_with_the_same_canvas_decoder_the_naive_decoder_agrees_bit_for_bit(name: str) -> None:
    """Canvas vectors: both decoders read canvases with Pillow, so what follows (§11.7, §11.9) must agree exactly."""
    data = (VECTORS / MANIFEST[name]["file"]).read_bytes()
    assert np.array_equal(naive_decoder.decode(data), regioncodec.decode(data))


def test_the_vectors_cover_what_section_16_promises() -> None:
    infos = [regioncodec.read_info((VECTORS / entry["file"]).read_bytes()) for entry in MANIFEST.values()]
    assert {info.mode for info in infos} == {"L", "LA", "RGB", "RGBA"}
    assert {info.block_size for info in infos} == {8, 16, 32, 64}
    assert {r.scale for info in infos for r in info.regions} == {1, 2, 4}
    assert {r.codec for info in infos for r in info.regions} == {"jpeg", "webp", "avif"}
    assert {len(info.regions) for info in infos} >= {2, 3, 8}
    assert any(info.metadata for info in infos)
    parsed = [container.read((VECTORS / entry["file"]).read_bytes()) for entry in MANIFEST.values()]
    codecs = [{layer.codec for layer in p.layers if layer.streams} for p in parsed]
    assert any(p.deblock is not None for p in parsed)
    assert any(p.deblock is None and c == {"jpeg"} for p, c in zip(parsed, codecs, strict=True))
    mixed = [p for p, c in zip(parsed, codecs, strict=True) if "jpeg" in c and len(c) > 1]
    assert {p.header.colour for p in mixed} == {"L", "RGB"}
    assert {layer.scale for p in mixed for layer in p.layers if layer.codec != "jpeg"} == {1, 2}
    assert any(info.width % info.block_size and info.height % info.block_size for info in infos)
    canvases = [layer.streams[0] for p in parsed for layer in p.layers if layer.codec == "avif" and layer.streams]
    assert {Image.open(io.BytesIO(canvas)).mode for canvas in canvases} == {"RGB", "L"}  # §7.5: monochrome too
    assert sorted(path.name for path in VECTORS.glob("*.rgc")) == sorted(e["file"] for e in MANIFEST.values())


def test_colour_is_the_formula_for_every_input() -> None:
    """§11.6 over all 2^24 (Y, Cb, Cr): what OpenCV computes is exactly the spec's integer formula."""
    y, cb, cr = (axis.ravel() for axis in np.meshgrid(*[np.arange(256, dtype=np.uint8)] * 3, indexing="ij"))
    shape = (4096, 4096)
    rgb = decoder.to_rgb(y.reshape(shape), cb.reshape(shape), cr.reshape(shape)).reshape(-1, 3)
    expected = naive_decoder._rgb(y.astype(np.int64), cb.astype(np.int64), cr.astype(np.int64)).reshape(-1, 3)
    assert np.array_equal(rgb, expected)


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (4, 1), (7, 9), (64, 96)])
def test_upsampling_and_scaling_are_the_formulas(shape: tuple[int, int], passes: str) -> None:
    """§11.4 and §11.5 on random and on extreme planes, against the naive decoder's transcription."""
    rng = np.random.default_rng(sum(shape))
    for plane in (rng.integers(0, 256, shape, dtype=np.uint8), (rng.random(shape) < 0.5).astype(np.uint8) * 255):
        assert np.array_equal(decoder.upsample(plane), naive_decoder._fancy(plane.astype(np.int64)))
        for scale in (2, 4):
            assert np.array_equal(decoder.enlarge(plane, scale), naive_decoder._enlarge(plane.astype(np.int64), scale))
            big = np.tile(plane, (scale, scale))
            assert np.array_equal(decoder.reduce(big, scale), naive_decoder._reduce(big.astype(np.int64), scale))


def test_grey_canvases_use_the_formula() -> None:
    rgb = np.random.default_rng(3).integers(0, 256, (300, 7, 3), dtype=np.uint8)
    assert np.array_equal(decoder.to_grey(rgb), naive_decoder._grey(rgb.astype(np.int64)))


def test_the_decoder_reads_alone() -> None:
    """Importing the decoder (and decoding) loads nothing of the encoder side."""
    loaded = modules_loaded(
        f"import regioncodec.decoder as d; d.decode(open({str(VECTORS / 'rgb-48x32-b16.rgc')!r}, 'rb').read())"
    )
    assert "regioncodec.decoder" in loaded
    assert not set(loaded) & set(ENCODER_SIDE), set(loaded) & set(ENCODER_SIDE)
