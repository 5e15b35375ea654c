"""Write the conformance vectors in spec/conformance/ (spec §16): small .rgc files, their decoded pixels as PNG,
and manifest.json with the SHA-256 of each file's decoded pixels.

    make conformance          (or: python tests/data/make_conformance.py)

Run when the format or the decoder's arithmetic changes on purpose: the
tests then hold both decoders to the new files. Every JPEG vector is decoded
by the reference decoder and by tests/naive_decoder.py, and written only if
they agree bit for bit.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import regioncodec  # noqa: E402
from regioncodec import container, decoder  # noqa: E402
from regioncodec.layers import LayerCoder  # noqa: E402
from tests import naive_decoder  # noqa: E402

OUT = ROOT / "spec" / "conformance"
# Largest difference per channel between decoders of a canvas codec, measured on these vectors (spec §16):
# Pillow (libwebp 1.6.0, libavif 1.4.2) against dwebp 1.2.4 and avifdec 0.11.1 with libyuv: none.
CANVAS_TOLERANCE = {"webp": 0, "avif": 0}
SAMPLE = ROOT / "samples" / "kodim04.jpg"
ICC_DATE = slice(24, 36)  # ICC.1 7.2.1: the profile header's creation date and time, six big-endian u16
FIXED_DATE = bytes.fromhex("07ea00010001000000000000")  # 2026-01-01 00:00:00


def photo(width: int, height: int, left: int = 180, top: int = 200) -> np.ndarray:
    """A width x height piece of a real photograph (kodim04: hair, face, a smooth backdrop)."""
    with Image.open(SAMPLE) as image:
        rgb = np.asarray(image.convert("RGB"))
    return np.ascontiguousarray(rgb[top : top + height, left : left + width])


def grey(width: int, height: int) -> np.ndarray:
    """The photograph's luma."""
    return np.ascontiguousarray(cv2.cvtColor(photo(width, height), cv2.COLOR_RGB2GRAY))


def left_half(width: int, height: int) -> np.ndarray:
    """A mask whose left half is foreground."""
    mask = np.zeros((height, width), bool)
    mask[:, : width // 2] = True
    return mask


def centre(width: int, height: int) -> np.ndarray:
    """A mask of one block in the middle of the image."""
    mask = np.zeros((height, width), bool)
    mask[height // 2, width // 2] = True
    return mask


def ramp_alpha(width: int, height: int) -> np.ndarray:
    """Alpha rising left to right, with a fully transparent square."""
    alpha = np.tile(np.linspace(0, 255, width).astype(np.uint8), (height, 1))
    alpha[height // 4 : height // 2, width // 4 : width // 2] = 0
    return alpha


def eight_levels(width: int, height: int) -> np.ndarray:
    """A quality map of eight bands, left to right, each width / 8 wide (whole blocks for a width of 128)."""
    return np.tile((np.arange(width) * 8 // width * 36).astype(np.uint8), (height, 1))


def three_scales() -> bytes:
    """An RGB file whose three regions are coded at scales 4, 2 and 1 (the encoder's API writes one scale)."""
    image = photo(80, 48)
    block_map = np.zeros((3, 5), np.uint8)
    block_map[:, 2:4] = 1
    block_map[1, 1:4] = 2
    coder = LayerCoder(image, block_map, 16, ["jpeg"] * 3)
    plan = ((0, 40, 4), (1, 60, 2), (2, 90, 1))  # region, quality, scale
    layers = tuple(coder.layer(region, quality, scale) for region, quality, scale in plan)
    header = container.Header(80, 48, "RGB", 16, 3)
    return container.write(container.Container(header, block_map, layers, deblock=container.Deblock()))


def with_metadata_and_unknown_chunk() -> bytes:
    """RGBA with EXIF, an ICC profile and XMP, and an unknown ancillary chunk before DONE."""
    exif = Image.Exif()
    exif[0x0112] = 6
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[ICC_DATE] = FIXED_DATE  # Little CMS stamps the time of making: a fixed date keeps the vector the same
    rgba = np.dstack([photo(48, 40), ramp_alpha(48, 40)])
    data = regioncodec.encode(
        rgba,
        mask=left_half(48, 40),
        exif=exif.tobytes(),
        icc_profile=bytes(icc),
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>',
    )
    done = data.rindex(b"DONE") - 4
    return data[:done] + container.pack_chunk(b"vrSn", b"any ancillary chunk is skipped") + data[done:]


def progressive_with_restarts() -> bytes:
    """A two-region RGB file whose streams are progressive JPEGs with restart markers (§7.2 allows both)."""
    parsed = container.read(regioncodec.encode(photo(64, 48), mask=left_half(64, 48)))
    layers = []
    for layer in parsed.layers:
        streams = []
        for stream in layer.streams:
            plane = cv2.imdecode(np.frombuffer(stream, np.uint8), cv2.IMREAD_GRAYSCALE)
            out = io.BytesIO()
            Image.fromarray(plane).save(out, "JPEG", quality=layer.quality, progressive=True, restart_marker_blocks=3)
            streams.append(out.getvalue())
        layers.append(container.Layer(layer.region, layer.codec, layer.quality, layer.scale, tuple(streams)))
    return container.write(container.Container(parsed.header, parsed.block_map, tuple(layers), deblock=parsed.deblock))


def zigzag_table(stream: bytes) -> tuple[int, bytes]:
    """(offset, data) of the first DQT segment of a JPEG stream, from its marker to its end."""
    offset = 2
    while stream[offset + 1] != 0xDB:
        offset += 2 + int.from_bytes(stream[offset + 2 : offset + 4], "big")
    return offset, stream[offset : offset + 2 + int.from_bytes(stream[offset + 2 : offset + 4], "big")]


def odd_tables() -> bytes:
    """Two regions whose background streams state their tables as §11.8 allows but few encoders do.

    The luma stream's table is rewritten with 16-bit steps, its first two AC steps 300 and 280 (its strength is
    capped at 255); the chroma stream defines its table twice, a decoy of ones first (the later one counts).
    """
    parsed = container.read(regioncodec.encode(photo(96, 64), mask=left_half(96, 64), fg_quality=90, bg_quality=20))
    background = parsed.layers[0]
    luma, chroma = background.streams
    offset, segment = zigzag_table(luma)
    steps = list(segment[5:69])
    steps[1], steps[2] = 300, 280  # zigzag positions 1 and 2: T[0][1] and T[1][0]
    wide = bytes([0x10 | segment[4] & 0x0F]) + b"".join(step.to_bytes(2, "big") for step in steps)
    luma = luma[:offset] + b"\xff\xdb" + (2 + len(wide)).to_bytes(2, "big") + wide + luma[offset + len(segment) :]
    offset, segment = zigzag_table(chroma)
    decoy = b"\xff\xdb\x00\x43" + bytes([segment[4] & 0x0F]) + bytes([1] * 64)
    chroma = chroma[:offset] + decoy + chroma[offset:]
    layers = (container.Layer(0, "jpeg", background.quality, 1, (luma, chroma)), *parsed.layers[1:])
    return container.write(container.Container(parsed.header, parsed.block_map, layers, deblock=parsed.deblock))


# name: (what it covers, how to make it)
VECTORS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "grey-1x1-b8": ("L, the smallest file: one block, all background", lambda: regioncodec.encode(
        np.array([[128]], np.uint8), block_size=8, mask=np.zeros((1, 1), bool))),
    "grey-37x23-b8-levels3": ("L, odd size, 8-px blocks, three levels", lambda: regioncodec.encode(
        grey(37, 23), block_size=8, levels=3, mask=left_half(37, 23))),
    "grey-64x48-b16-scale2": ("L, background at scale 2", lambda: regioncodec.encode(
        grey(64, 48), mask=left_half(64, 48), bg_scale=2)),
    "grey-70x50-b32-scale4": ("L, odd size, 32-px blocks, background at scale 4", lambda: regioncodec.encode(
        grey(70, 50), block_size=32, mask=left_half(70, 50), bg_scale=4)),
    "la-40x24-b8": ("LA: alpha beside greyscale layers", lambda: regioncodec.encode(
        np.dstack([grey(40, 24), ramp_alpha(40, 24)]), block_size=8, mask=left_half(40, 24))),
    "rgb-48x32-b16": ("RGB, two regions", lambda: regioncodec.encode(photo(48, 32), mask=left_half(48, 32))),
    "rgb-61x45-b16-transition": ("RGB, odd size, a transition ring (three regions)", lambda: regioncodec.encode(
        photo(61, 45), mask=centre(61, 45), transition=True)),
    "rgb-128x76-b16-levels8": ("RGB, odd height, eight regions from a quality map", lambda: regioncodec.encode(
        photo(128, 76), quality_map=eight_levels(128, 76))),
    "rgb-96x64-b32-scale2": ("RGB, 32-px blocks, background at scale 2", lambda: regioncodec.encode(
        photo(96, 64), block_size=32, mask=left_half(96, 64), bg_scale=2)),
    "rgb-130x70-b64-scale4": ("RGB, odd size, 64-px blocks, background at scale 4", lambda: regioncodec.encode(
        photo(130, 70), block_size=64, mask=left_half(130, 70), bg_scale=4)),
    "rgb-80x48-b16-scales-4-2-1": ("RGB, layers at scales 4, 2 and 1 (planes start at 128)", three_scales),
    "rgb-32x32-b16-empty-region": ("RGB, all foreground: the background layer has no streams", lambda: (
        regioncodec.encode(photo(32, 32), mask=np.ones((32, 32), bool)))),
    "rgb-64x48-b16-progressive-restarts": ("RGB, progressive streams with restart markers", progressive_with_restarts),
    "rgba-48x40-b16-metadata": (
        "RGBA, EXIF, ICC profile, XMP, an unknown ancillary chunk", with_metadata_and_unknown_chunk),
    "rgb-64x48-webp": ("RGB, WebP canvases", lambda: regioncodec.encode(
        photo(64, 48), mask=left_half(64, 48), codec="webp")),
    "rgb-70x50-webp-scale2": ("RGB, odd size, WebP background at scale 2 (box not a multiple of 2)", lambda: (
        regioncodec.encode(photo(70, 50), mask=left_half(70, 50), codec="webp", bg_scale=2))),
    "rgba-64x48-avif": ("RGBA, AVIF canvases", lambda: regioncodec.encode(
        np.dstack([photo(64, 48), ramp_alpha(64, 48)]), mask=left_half(64, 48), codec="avif")),
    "grey-50x34-avif-scale2": ("L, odd size, monochrome AVIF canvases at scale 2, turned to grey", lambda: (
        regioncodec.encode(grey(50, 34), mask=left_half(50, 34), codec="avif", bg_scale=2))),
    "rgb-64x48-b16-unfiltered": ("RGB, two regions, no DBLK chunk: nothing is deblocked", lambda: regioncodec.encode(
        photo(64, 48), mask=left_half(64, 48), fg_quality=90, bg_quality=20, deblock=False)),
    "rgb-96x64-b16-deblock-tables": (
        "RGB, deblocked; a 16-bit table with steps over 255, a table defined twice (§11.8)", odd_tables),
    "rgb-64x48-avif-background": ("RGB, an AVIF background among JPEG layers, deblocked (§11.9)", lambda: (
        regioncodec.encode(photo(64, 48), mask=left_half(64, 48), fg_quality=90, bg_quality=30, bg_codec="avif"))),
    "rgb-70x50-avif-background-scale2": (
        "RGB, odd size, an AVIF background at scale 2 among JPEG layers (box extended to whole blocks)", lambda: (
            regioncodec.encode(photo(70, 50), mask=left_half(70, 50), bg_codec="avif", bg_scale=2))),
    "grey-50x34-b8-avif-background": ("L, odd size, 8-px blocks, an AVIF background among JPEG layers", lambda: (
        regioncodec.encode(grey(50, 34), block_size=8, mask=left_half(50, 34), bg_codec="avif"))),
}  # fmt: skip


def digest(pixels: np.ndarray) -> str:
    """SHA-256 of decoded pixels: rows top to bottom, each pixel's channels in its mode's order (§16)."""
    return hashlib.sha256(np.ascontiguousarray(pixels, np.uint8).tobytes()).hexdigest()


def canvas_codecs(data: bytes) -> set[str]:
    """The canvas codecs (WebP, AVIF) of a file's layers; none for JPEG layers."""
    return {layer.codec for layer in container.read(data).layers if layer.streams and layer.codec != "jpeg"}


def main() -> None:
    """Write every vector, its PNG and the manifest; refuse a JPEG vector the two decoders disagree on."""
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, (covers, make) in VECTORS.items():
        data = make()
        pixels = decoder.decode(data)
        entry: dict[str, object] = {"file": f"{name}.rgc", "covers": covers, "sha256": digest(pixels)}
        canvases = canvas_codecs(data)
        if canvases:
            entry["tolerance"] = max(CANVAS_TOLERANCE[codec] for codec in canvases)
        if not np.array_equal(naive_decoder.decode(data), pixels):  # the same canvas decoder (Pillow's) for both
            raise SystemExit(f"{name}: the naive decoder and the reference decoder disagree")
        (OUT / f"{name}.rgc").write_bytes(data)
        Image.fromarray(pixels).save(OUT / f"{name}.png", optimize=True)
        manifest[name] = entry
        print(f"{name}: {len(data)} bytes, {entry['sha256'][:16]}")
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
