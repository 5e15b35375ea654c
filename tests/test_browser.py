"""web/rgc.js, <rgc-img> and the viewer page in a real headless Chromium.

The browser decodes every file of the test corpus and files made here with
regioncodec.encode, by each of its paths (WebCodecs' ImageDecoder or a canvas
read-back for the streams, the WebAssembly SIMD kernel or plain JavaScript
for the colour), and must give the reference decoder's pixels: bit for bit
for JPEG layers, within CANVAS_TOLERANCE for WebP and AVIF canvases. Damaged
files must raise an RgcError (an Error with the byte offset), quickly, never
show an image. One browser serves the whole module.

Where no Chromium can be had (a laptop without it) these tests skip with one
line saying why; under CI=true a missing browser fails them instead.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import random
import re
import shutil
import subprocess
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import zstandard
from PIL import Image

import regioncodec
from regioncodec import container, webview
from regioncodec.codecs.jpeg import segments

from . import craft, naive_decoder
from .browser_helpers import ROOT, WEB, Browser, browser, missing_browser, pixels_of
from .helpers import unavailable
from .test_deblock import blocky

DATA = ROOT / "tests" / "data"
CONFORMANCE = ROOT / "spec" / "conformance"
CANVAS_TOLERANCE = 2  # levels per channel; Chromium's WebP and AVIF decodes equalled Pillow's (0) where measured
TIME_LIMIT_MS = 2000  # any file decodes or is refused within this: a guard against hangs
PATHS = [{}, {"kernels": False}, {"imageDecoder": False}]  # every way rgc.js can decode JPEG layers

reference = regioncodec.decode  # the reference decoder: spec §11 exactly


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Browser:
    reason = missing_browser()
    if reason:
        unavailable(reason)
    with browser(tmp_path_factory.mktemp("web")) as session:
        yield session


def sha256(pixels: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest()


def photo(rows: int, cols: int, top: int = 100, left: int = 100) -> np.ndarray:
    image = np.asarray(Image.open(ROOT / "samples" / "kodim04.jpg").convert("RGB"))
    return np.ascontiguousarray(image[top : top + rows, left : left + cols])


def exif_with_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def exif_in_scan_headers(data: bytes, orientation: int) -> bytes:
    """data with an EXIF APP1 segment (of this orientation) put just before each JPEG stream's first scan, after its
    frame header: T.81 allows it there, and a decoder must ignore it as anywhere else (§7.2)."""
    exif = exif_with_orientation(orientation)
    segment = b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif
    chunks = []
    for kind, body in craft.chunks_of(data):
        if kind == b"LAYR":
            region, codec, quality, scale, length = craft.LAYR.unpack_from(body)
            luma, chroma = body[craft.LAYR.size : craft.LAYR.size + length], body[craft.LAYR.size + length :]
            scan = next(at for marker, at, _ in segments(luma, "luma", range(256), "anywhere") if marker == 0xDA)
            body = craft.layer(region, luma[:scan] + segment + luma[scan:], chroma, codec=codec, quality=quality)
            assert scale == 1
        chunks.append((kind, body))
    return craft.build(chunks)


def made_files() -> dict[str, bytes]:
    """Files of every mode, block size, scale and codec, at sizes that are not multiples of the block: deblocked
    (encode's default), canvases among JPEG layers (bg_codec), and a few without the filter."""
    rgb = photo(150, 230)
    grey = rgb[..., 1].copy()
    alpha = np.linspace(0, 255, rgb.shape[1], dtype=np.uint8)[None, :].repeat(rgb.shape[0], 0)
    encode = regioncodec.encode
    return {
        "rgb-two-regions": encode(rgb),
        "rgb-levels-transition-b32": encode(rgb, levels=3, transition=True, block_size=32),
        "rgb-scale-2": encode(rgb, bg_scale=2, levels=3),
        "rgb-scale-4-b64": encode(rgb, bg_scale=4, block_size=64),
        "grey-b8-scale-4": encode(grey, bg_scale=4, block_size=8),
        "grey-b16-levels": encode(grey, levels=4),
        "la": encode(np.dstack([grey, alpha])),
        "rgba-scale-2": encode(np.dstack([rgb, alpha]), bg_scale=2),
        "rgb-exif-orientation-6": encode(rgb, exif=exif_with_orientation(6)),
        "grey-b8-orientation-in-scan-headers": exif_in_scan_headers(encode(grey, block_size=8), 3),
        "rgb-unfiltered": encode(rgb, deblock=False),
        "grey-b8-unfiltered": encode(grey, block_size=8, deblock=False),
        "rgb-deblock-bg-10": encode(rgb, fg_quality=90, bg_quality=10, deblock=True),
        "rgb-deblock-bg-5-b64": encode(rgb, fg_quality=70, bg_quality=5, block_size=64, levels=3),
        "grey-b8-deblock-bg-8": encode(grey, fg_quality=80, bg_quality=8, block_size=8),
        "rgb-bg-avif": encode(rgb, bg_codec="avif"),
        "rgb-bg-webp-levels-3": encode(rgb, bg_codec="webp", levels=3, bg_quality=20),
        "rgba-bg-webp-b32": encode(np.dstack([rgb, alpha]), bg_codec="webp", block_size=32),
        "grey-bg-avif-b8": encode(grey, bg_codec="avif", block_size=8),
        "la-bg-webp": encode(np.dstack([grey, alpha]), bg_codec="webp"),
        "rgb-bg-avif-scale-2": encode(rgb, bg_codec="avif", bg_scale=2),
        "rgb-bg-webp-scale-4-b64": encode(rgb, bg_codec="webp", bg_scale=4, block_size=64),
        "grey-bg-webp-scale-2": encode(grey, bg_codec="webp", bg_scale=2),
        "webp": encode(rgb, codec="webp"),
        "webp-scale-2": encode(rgb, codec="webp", bg_scale=2),
        "avif-grey-scale-4": encode(grey, codec="avif", bg_scale=4),
        "avif-rgba": encode(np.dstack([rgb, alpha]), codec="avif"),
    }


def corpus() -> dict[str, bytes]:
    """Every valid .rgc file the repository holds (test data, the fuzzing seeds, the conformance vectors), and those
    made here."""
    paths = [*sorted(DATA.glob("*.rgc")), *sorted((ROOT / "fuzz" / "corpus").glob("*.rgc"))]
    paths += sorted(CONFORMANCE.glob("*.rgc"))
    return {path.name: path.read_bytes() for path in paths} | made_files()


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return corpus()


def codecs_of(data: bytes) -> set[str]:
    """The codecs of a file's layers that have blocks."""
    return {layer.codec for layer in container.read(data).layers if layer.streams}


def is_jpeg(data: bytes) -> bool:
    return codecs_of(data) == {"jpeg"}


def has_planes(data: bytes) -> bool:
    """Whether the file is decoded into planes (spec §11.1 step 7): it has a JPEG layer, perhaps among canvases."""
    return "jpeg" in codecs_of(data)


def test_files_with_jpeg_layers_decode_bit_exact_by_every_path(web: Browser, files: dict[str, bytes]) -> None:
    """JPEG layers alone or with canvases among them (§11.9), deblocked or not: the reference's pixels exactly.
    Chromium's WebP and AVIF decodes equal Pillow's (the manifest's tolerance for canvases is 0), so mixed files
    are held to it too."""
    planes = {name: data for name, data in files.items() if has_planes(data)}
    assert len(planes) >= 40
    assert sum(not is_jpeg(data) for data in planes.values()) >= 10  # canvases among JPEG layers
    assert sum(container.read(data).deblock is not None for data in planes.values()) >= 25
    for options in PATHS:
        results = web.decode_all(list(planes.values()), options=options)
        for (name, data), result in zip(planes.items(), results, strict=True):
            assert result["ok"], f"{name} {options}: {result}"
            expected = reference(data)
            if result["sha256"] != sha256(expected):
                got = pixels_of(web.decode(data, **options))
                difference = (
                    np.abs(got.astype(int) - expected.astype(int)).max() if got.shape == expected.shape else got.shape
                )
                pytest.fail(f"{name} {options}: pixels differ from the reference by up to {difference}")


def test_canvases_decode_within_tolerance(web: Browser, files: dict[str, bytes]) -> None:
    canvases = {name: data for name, data in files.items() if not has_planes(data)}
    assert len(canvases) >= 5
    for name, data in canvases.items():
        result = web.decode(data)
        assert result["ok"], f"{name}: {result}"
        got, expected = pixels_of(result), reference(data)
        assert got.shape == expected.shape, name
        difference = int(np.abs(got.astype(int) - expected.astype(int)).max())
        assert difference <= CANVAS_TOLERANCE, f"{name}: up to {difference} levels from the reference"


def test_conformance_vectors(web: Browser) -> None:
    """Every vector: the manifest's SHA-256 for JPEG layers, its tolerance (0) of NAME.png for canvases, mixed or
    not."""
    manifest = json.loads((CONFORMANCE / "manifest.json").read_text())
    assert len(manifest) >= 23
    names = [entry["file"] for entry in manifest.values()]
    results = web.decode_all([(CONFORMANCE / name).read_bytes() for name in names])
    for entry, name, result in zip(manifest.values(), names, results, strict=True):
        assert result["ok"], f"{name}: {result}"
        data = (CONFORMANCE / name).read_bytes()
        if "tolerance" not in entry:
            assert result["sha256"] == entry["sha256"], f"{name}: SHA-256 of the pixels is not the manifest's"
            continue
        got = pixels_of(web.decode(data))
        expected = np.asarray(Image.open(CONFORMANCE / Path(name).with_suffix(".png")))
        tolerance = entry["tolerance"]
        limit = max(tolerance.values()) if isinstance(tolerance, dict) else tolerance
        difference = int(np.abs(got.astype(int) - expected.astype(int)).max())
        assert difference <= limit, f"{name}: up to {difference} levels from NAME.png; the manifest allows {limit}"


@pytest.mark.parametrize("factors", [(5, 4), (16, 15), (1, 1), (9, 2)])
def test_the_filter_is_the_per_edge_transcription_by_both_paths(web: Browser, factors: tuple[int, int]) -> None:
    """rgc.deblockSamples (the SIMD kernel, and deblockPlane with kernels: false) against tests/naive_decoder.py on
    random planes (noise, and flat blocks a step apart) and strengths from 0 to 255: clamping, alpha's cap, skipped
    edges, edges inside the last region and the kernel's bands (a plane of 1048 rows makes 33) included."""
    rng = np.random.default_rng(factors[0] * 16 + factors[1])
    cases = []
    for shape in [(8, 8), (16, 40), (48, 24), (264, 72), (1048, 24)]:
        grid = (shape[0] // 8, shape[1] // 8)
        for plane in (rng.integers(0, 256, shape, dtype=np.uint8), blocky(rng, shape)):
            for strengths in (
                rng.integers(0, 256, grid),
                np.where(rng.random(grid) < 0.5, rng.integers(0, 40, grid), 0),
            ):
                cases.append((plane, strengths, rng.random(grid) < 0.6))  # the last region's blocks
    for kernels in (True, False):
        got = web.page.evaluate(
            """async ([cases, a, b, kernels]) => Promise.all(cases.map(async ([b64, rows, cols, s, inside]) => {
                const samples = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                const options = { kernels, inside };
                return window.toBase64(await window.rgc.deblockSamples(samples, rows, cols, s, a, b, options));
            }))""",
            [
                [
                    [base64.b64encode(p.tobytes()).decode(), *p.shape, s.ravel().tolist(), i.ravel().tolist()]
                    for p, s, i in cases
                ],
                *factors,
                kernels,
            ],
        )
        for (plane, strengths, inside), b64 in zip(cases, got, strict=True):
            expected = naive_decoder._deblock(plane.astype(np.int64), strengths, *factors, inside)
            filtered = np.frombuffer(base64.b64decode(b64), np.uint8).reshape(plane.shape)
            assert np.array_equal(filtered, expected), f"{plane.shape} kernels={kernels}"


# ---------------------------------------------------------------------------------------------- damaged files


def stream_spans(data: bytes) -> list[tuple[int, int]]:
    """[start, end) of the stream bytes in each LAYR chunk: damage there is the stream decoder's to find."""
    spans = []
    for offset in craft.offsets_of(data):
        length, kind = craft.CHUNK.unpack_from(data, offset)
        if kind == b"LAYR" and length > 8:
            spans.append((offset + 16, offset + 8 + length))
    return spans


def crafted_damage() -> dict[str, bytes]:
    """Files that break one rule of the spec each, as the container tests make them."""
    smallest = (DATA / "smallest.rgc").read_bytes()
    alpha = (DATA / "alpha-metadata.rgc").read_bytes()
    chunks = craft.chunks_of(smallest)
    luma = container.read(smallest).layers[0].streams[0]
    frame = craft.frame
    bomb = frame(bytes(10_000_000))
    lying = bomb[:6] + (1).to_bytes(4, "little") + bomb[10:]

    def with_layer(body: bytes) -> bytes:
        return craft.build([chunks[0], chunks[1], (b"LAYR", body), *chunks[3:]])

    cases = {
        "empty": b"",
        "png": b"\x89PNG\r\n\x1a\n" + bytes(30),
        "short signature": smallest[:5],
        "no chunks": smallest[:8],
        "version 2": craft.replace(smallest, b"HEAD", craft.head(version=2)),
        "width 0": craft.replace(smallest, b"HEAD", craft.head(0, 1)),
        "over the pixel limit": craft.replace(smallest, b"HEAD", craft.head(65_000, 65_000)),
        "mode 5": craft.replace(smallest, b"HEAD", craft.head(mode=5)),
        "rgb block 8": craft.replace(smallest, b"HEAD", craft.head(mode=3)),
        "crc": smallest[:-1] + bytes([smallest[-1] ^ 1]),
        "after done": smallest + b"\0",
        "unknown critical": craft.build([*chunks[:-1], (b"ZZZZ", b""), chunks[-1]]),
        "type not letters": smallest[:12] + b"HE4D" + smallest[16:],
        "map not zstd": craft.replace(smallest, b"BMAP", b"not zstd"),
        "map size": craft.replace(smallest, b"BMAP", frame(b"\0\0")),
        "map no size": craft.replace(smallest, b"BMAP", frame(b"\0", content_size=False)),
        "map two frames": craft.replace(smallest, b"BMAP", frame(b"\0") + frame(b"\0")),
        "map region": craft.replace(smallest, b"BMAP", frame(b"\x05")),
        "map bomb": craft.replace(smallest, b"BMAP", bomb),
        "map lying": craft.replace(smallest, b"BMAP", lying),
        "layer codec": with_layer(craft.layer(0, luma, codec=9)),
        "layer scale": with_layer(craft.layer(0, luma, scale=3)),
        "layer length": with_layer(craft.layer(0, luma, luma_length=1000)),
        "layer no streams": with_layer(craft.layer(0)),
        "jpeg truncated": with_layer(craft.layer(0, luma[:-40])),
        "jpeg arithmetic": with_layer(craft.layer(0, luma.replace(b"\xff\xc0", b"\xff\xc9", 1))),
        "jpeg 12-bit": with_layer(craft.layer(0, luma.replace(b"\xff\xc0\x00\x0b\x08", b"\xff\xc0\x00\x0b\x0c", 1))),
        "jpeg size": with_layer(craft.layer(0, craft.grey_jpeg(16, 8))),
        "jpeg disguised frame": with_layer(craft.layer(0, craft.disguised_jpeg(luma, 32_000, 32_000))),
        "jpeg colour": with_layer(craft.layer(0, regioncodec_colour_jpeg())),
        "alpha filter": craft.replace(alpha, b"ALPH", b"\2" + frame(bytes(512))),
        "alpha size": craft.replace(alpha, b"ALPH", b"\1" + frame(bytes(511))),
        "alpha bomb": craft.replace(alpha, b"ALPH", b"\1" + frame(bytes(100_000_000))),
        "alpha cut": craft.replace(alpha, b"ALPH", b"\1" + frame(bytes(512))[:-3]),
        "alpha checksum": craft.replace(alpha, b"ALPH", b"\1" + checksummed(bytes(range(256)) * 2, damaged=True)),
        "exif not tiff": craft.replace(alpha, b"exif", b"not tiff"),
        "missing done": smallest[:-12],
    }
    cases |= {path.name: path.read_bytes() for path in sorted((DATA / "regressions").glob("*.rgc"))}
    return cases


def checksummed(content: bytes, damaged: bool = False) -> bytes:
    """A zstd frame of content with an XXH64 content checksum (regioncodec writes none); damaged flips its last bit."""
    frame = bytearray(zstandard.ZstdCompressor(write_checksum=True, write_content_size=True).compress(content))
    frame[-1] ^= damaged
    return bytes(frame)


def test_zstd_frames_with_checksums_decode(web: Browser) -> None:
    smallest = (DATA / "smallest.rgc").read_bytes()
    alpha = (DATA / "alpha-metadata.rgc").read_bytes()
    plane = bytes(range(256)) * 2
    files = [
        craft.replace(smallest, b"BMAP", checksummed(b"\0")),
        craft.replace(alpha, b"ALPH", b"\1" + checksummed(plane)),
    ]
    for data, result in zip(files, web.decode_all(files), strict=True):
        assert result["ok"] and result["sha256"] == sha256(reference(data)), result


def regioncodec_colour_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, "JPEG")
    return out.getvalue()


def assert_refused(name: str, result: dict, size: int) -> None:
    assert not result["ok"], f"{name}: decoded, but should have been refused"
    assert result["isRgc"], f"{name}: raised {result['name']}: {result['message']}, not an RgcError"
    assert isinstance(result["offset"], int) and 0 <= result["offset"] <= size, f"{name}: offset {result['offset']}"
    assert result["ms"] < TIME_LIMIT_MS, f"{name}: took {result['ms']:.0f} ms to refuse"


def test_damaged_files_raise_an_error_with_the_offset(web: Browser) -> None:
    cases = crafted_damage()
    results = web.decode_all(list(cases.values()))
    for (name, data), result in zip(cases.items(), results, strict=True):
        assert_refused(name, result, len(data))
        try:
            regioncodec.decode(data)
        except regioncodec.RegionCodecError as error:
            for place in re.findall(r"at byte \d+", str(error)):  # the same place as the reference names
                assert place in result["message"], f"{name}: {result['message']!r} vs {error}"
        else:
            pass  # stricter than the reference (a canvas with alpha, say): refusing is allowed


def with_chunk(data: bytes, kind: bytes, body: bytes, before: bytes, nth: int = 0) -> bytes:
    """data with a chunk inserted before the nth chunk of type before."""
    chunks = craft.chunks_of(data)
    at = [i for i, (found, _) in enumerate(chunks) if found == before][nth]
    return craft.build([*chunks[:at], (kind, body), *chunks[at:]])


def with_stream(data: bytes, region: int, index: int, change: object) -> bytes:
    """data with stream index (0: luma or canvas, 1: chroma) of region's layer replaced by change(stream)."""
    chunks = craft.chunks_of(data)
    at = next(i for i, (kind, body) in enumerate(chunks) if kind == b"LAYR" and body[0] == region)
    _, code, quality, scale, first = craft.LAYR.unpack_from(chunks[at][1])
    streams = [chunks[at][1][8 : 8 + first], chunks[at][1][8 + first :]]
    streams[index] = change(streams[index])  # type: ignore[operator]
    chunks[at] = (b"LAYR", craft.layer(region, *streams, codec=code, quality=quality, scale=scale))
    return craft.build(chunks)


def jpeg_segments(stream: bytes) -> tuple[list[bytes], bytes]:
    """The marker segments of a JPEG stream from after SOI up to its first SOS, and the rest from that SOS on."""
    segments, offset = [], 2
    while stream[offset + 1] != 0xDA:
        end = offset + 2 + int.from_bytes(stream[offset + 2 : offset + 4], "big")
        segments.append(stream[offset:end])
        offset = end
    return segments, stream[offset:]


def rebuilt(stream: bytes, change: object) -> bytes:
    """stream with its segments before the first scan replaced by change(segments)."""
    segments, rest = jpeg_segments(stream)
    return stream[:2] + b"".join(change(segments)) + rest  # type: ignore[operator]


def segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(body) + 2).to_bytes(2, "big") + body


def _edited(segments: list[bytes], marker: int, edit: object) -> list[bytes]:
    """segments with the body of the first one of marker replaced by edit(body)."""
    at = next(i for i, s in enumerate(segments) if s[1] == marker)
    return [*segments[:at], segment(marker, edit(segments[at][4:])), *segments[at + 1 :]]  # type: ignore[operator]


def _after_frame(segments: list[bytes], extra: bytes) -> list[bytes]:
    """segments with extra bytes put right after the frame header (SOF0), before the first scan."""
    at = next(i for i, s in enumerate(segments) if s[1] == 0xC0) + 1
    return [*segments[:at], extra, *segments[at:]]


def table_damage() -> dict[str, bytes]:
    """Deblocked files whose JPEG streams break §11.8's rule for tables (refused before decoding), as the reference
    refuses them."""
    base = (CONFORMANCE / "rgb-48x32-b16.rgc").read_bytes()
    no_dqt = partial(rebuilt, change=lambda ss: [s for s in ss if s[1] != 0xDB])
    frame_of = lambda ss: next(s for s in ss if s[1] == 0xC0)  # noqa: E731
    return {
        "table missing": with_stream(base, 0, 0, no_dqt),
        "chroma table missing": with_stream(base, 1, 1, no_dqt),
        "table of another Tq": with_stream(base, 1, 0, partial(rebuilt, change=lambda ss: _edited(
            ss, 0xC0, lambda body: body[:8] + b"\x05" + body[9:]))),
        "table Pq 2": with_stream(base, 0, 0, partial(rebuilt, change=lambda ss: _edited(
            ss, 0xDB, lambda body: bytes([body[0] | 0x20]) + body[1:]))),
        "table cut short": with_stream(base, 1, 1, partial(rebuilt, change=lambda ss: _edited(
            ss, 0xDB, lambda body: body[:40]))),
        "fill byte after the frame": with_stream(base, 0, 0, partial(rebuilt, change=lambda ss: _after_frame(
            ss, b"\xff"))),
        "second frame header": with_stream(base, 1, 0, partial(rebuilt, change=lambda ss: _after_frame(
            ss, frame_of(ss)))),
        "stray byte after the frame": with_stream(base, 0, 0, partial(rebuilt, change=lambda ss: _after_frame(
            ss, b"\x00"))),
        "a scan's marker after the frame": with_stream(base, 0, 0, partial(rebuilt, change=lambda ss: _after_frame(
            ss, segment(0xD0, b"")))),
    }  # fmt: skip


def dblk_damage() -> dict[str, bytes]:
    """Files whose DBLK chunk breaks §7.8's rules."""
    plain = (DATA / "two-regions.rgc").read_bytes()
    deblocked = (CONFORMANCE / "rgb-48x32-b16.rgc").read_bytes()
    good = b"\x01\x05\x04"
    return {
        "DBLK before BMAP": with_chunk(plain, b"DBLK", good, b"BMAP"),
        "DBLK after a LAYR": with_chunk(plain, b"DBLK", good, b"LAYR", 1),
        "DBLK before DONE": with_chunk(plain, b"DBLK", good, b"DONE"),
        "DBLK twice": with_chunk(deblocked, b"DBLK", good, b"LAYR"),
        "DBLK of 2 bytes": with_chunk(plain, b"DBLK", good[:2], b"LAYR"),
        "DBLK of 4 bytes": with_chunk(plain, b"DBLK", good + b"\0", b"LAYR"),
        "DBLK empty": with_chunk(plain, b"DBLK", b"", b"LAYR"),
        "DBLK method 2": with_chunk(plain, b"DBLK", b"\x02\x05\x04", b"LAYR"),
        "DBLK method 0": with_chunk(plain, b"DBLK", b"\x00\x05\x04", b"LAYR"),
        "DBLK A 0": with_chunk(plain, b"DBLK", b"\x01\x00\x04", b"LAYR"),
        "DBLK A 17": with_chunk(plain, b"DBLK", b"\x01\x11\x04", b"LAYR"),
        "DBLK B 0": with_chunk(plain, b"DBLK", b"\x01\x05\x00", b"LAYR"),
        "DBLK B 16": with_chunk(plain, b"DBLK", b"\x01\x05\x10", b"LAYR"),
        "DBLK bad CRC": craft.build(craft.chunks_of(plain)[:2])
        + craft.chunk(b"DBLK", good, crc=0)
        + craft.build(craft.chunks_of(plain)[2:])[8:],
    }


def test_damaged_dblk_chunks_and_tables_are_refused_as_the_reference_refuses_them(web: Browser) -> None:
    """The same message, naming the same bytes, and the offset of the chunk (DBLK) or of the stream (tables)."""
    cases = dblk_damage() | table_damage()
    for (name, data), result in zip(cases.items(), web.decode_all(list(cases.values())), strict=True):
        assert_refused(name, result, len(data))
        with pytest.raises(regioncodec.RegionCodecError) as caught:
            regioncodec.decode(data)
        assert result["message"] == str(caught.value), name
        if name.startswith("DBLK"):
            place = int(re.findall(r"at byte (\d+)", str(caught.value))[0])
            assert result["offset"] == place, name  # the chunk's own offset, which the message names
        else:
            assert result["offset"] in stream_offsets(data), f"{name}: {result['offset']} is no stream's first byte"


def stream_offsets(data: bytes) -> list[int]:
    """The byte of the file where each stream of each LAYR chunk starts."""
    starts = []
    for offset in craft.offsets_of(data):
        length, kind = craft.CHUNK.unpack_from(data, offset)
        if kind == b"LAYR" and length > 8:
            first = craft.LAYR.unpack_from(data, offset + 8)[4]
            starts += [offset + 16, offset + 16 + first]
    return starts


def test_dblk_is_decoded_where_it_may_stand(web: Browser, files: dict[str, bytes]) -> None:
    """DBLK before ALPH, in a file of canvases only (it changes nothing there), with A and B at their extremes,
    and tables defined twice or with 16-bit steps: the reference's pixels."""
    alpha = (DATA / "alpha-metadata.rgc").read_bytes()
    plain = (DATA / "two-regions.rgc").read_bytes()
    deblocked = files["rgb-deblock-bg-10"]
    sixteen = lambda ss: [  # noqa: E731 - every table again after the frame header, in 16 bits, its steps tripled
        *ss, *(segment(0xDB, bytes([0x10 | s[4] & 15]) + b"".join((3 * v).to_bytes(2, "big") for v in s[5:69]))
               for s in ss if s[1] == 0xDB)]  # fmt: skip
    cases = {
        "before ALPH": with_chunk(alpha, b"DBLK", b"\x01\x05\x04", b"ALPH"),
        "after ALPH": with_chunk(alpha, b"DBLK", b"\x01\x10\x0f", b"LAYR"),
        "canvases only": with_chunk(files["webp"], b"DBLK", b"\x01\x05\x04", b"LAYR"),
        "A 16 B 15": craft.replace(deblocked, b"DBLK", b"\x01\x10\x0f"),
        "A 1 B 1": craft.replace(deblocked, b"DBLK", b"\x01\x01\x01"),
        "plain A 16": with_chunk(plain, b"DBLK", b"\x01\x10\x0f", b"LAYR"),
        "tables again in 16 bits": with_stream(deblocked, 0, 0, partial(rebuilt, change=sixteen)),
    }
    for (name, data), result in zip(cases.items(), web.decode_all(list(cases.values())), strict=True):
        assert result["ok"], f"{name}: {result}"
        assert result["sha256"] == sha256(reference(data)), name


def test_every_truncation_is_refused(web: Browser, files: dict[str, bytes]) -> None:
    variants = []
    names = ("smallest.rgc", "two-regions.rgc", "alpha-metadata.rgc", "rgb-webp.rgc", "grey-avif-scale-2.rgc")
    for name in (*names, "rgb-48x32-b16.rgc", "rgb-64x48-avif-background.rgc"):  # DBLK; a canvas among JPEG layers
        data = files[name]
        variants += [(f"{name}[:{cut}]", data[:cut]) for cut in range(0, len(data), max(1, len(data) // 97))]
    results = web.decode_all([data for _, data in variants])
    for (name, data), result in zip(variants, results, strict=True):
        assert_refused(name, result, len(data))


def test_damage_behind_the_crc_is_judged_as_the_reference_judges_it(web: Browser, files: dict[str, bytes]) -> None:
    """Bytes changed (CRCs made right again) outside the streams: refused exactly when the reference refuses,
    else the same pixels. Inside the streams a damaged stream may decode or be refused, but never as anything
    but an image or an RgcError."""
    rng = random.Random(2026)
    names = ("smallest.rgc", "two-regions.rgc", "alpha-metadata.rgc", "rgb-scale-2", "la", "rgb-48x32-b16.rgc")
    seeds = [files[n] for n in (*names, "rgb-64x48-avif-background.rgc", "grey-50x34-b8-avif-background.rgc")]
    outside, inside = [], []
    for data in seeds:
        spans = stream_spans(data)
        for _ in range(40):
            damaged = bytearray(data)
            at = rng.randrange(8, len(data))
            damaged[at] = rng.randrange(256) if rng.random() < 0.5 else damaged[at] ^ (1 << rng.randrange(8))
            in_stream = any(start <= at < end for start, end in spans)
            (inside if in_stream else outside).append(craft.fix_crcs(bytes(damaged)))
    results = web.decode_all(outside + inside)
    for data, result in zip(outside, results[: len(outside)], strict=True):
        try:
            expected = reference(data) if _decodes(data) else None
        except Exception:  # noqa: BLE001 - the reference refused it
            expected = None
        if expected is None:
            assert_refused("damaged container", result, len(data))
        else:
            assert result["ok"], f"refused what the reference decodes: {result['message']}"
            assert result["sha256"] == sha256(expected)
    tables = 0
    for data, result in zip(inside, results[len(outside) :], strict=True):
        assert result["ok"] or result["isRgc"], result
        assert result["ms"] < TIME_LIMIT_MS
        try:
            regioncodec.decode(data)
        except regioncodec.RegionCodecError as error:
            # refused before decoding, by the walk through a stream's segments or by its tables (§7.2, §11.8)
            if re.search("quantisation table|DQT|before its f|past its end|no JPEG marker", str(error)):
                tables += 1
                assert result["message"] == str(error)
    assert tables  # some damage fell on the tables of a deblocked file


def _decodes(data: bytes) -> bool:
    try:
        regioncodec.decode(data)
    except regioncodec.RegionCodecError:
        return False
    return True


def test_random_bytes_are_refused(web: Browser) -> None:
    rng = random.Random(7)
    signature = craft.SIGNATURE
    variants = [bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300))) for _ in range(40)]
    variants += [signature + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300))) for _ in range(40)]
    for data, result in zip(variants, web.decode_all(variants), strict=True):
        assert_refused("random bytes", result, len(data))


def test_pixel_limit_is_the_callers(web: Browser, files: dict[str, bytes]) -> None:
    data = files["two-regions.rgc"]
    refused = web.decode(data, maxPixels=511)
    assert not refused["ok"] and "over the limit of 511" in refused["message"] and refused["offset"] == 8
    assert web.decode(data, maxPixels=512)["ok"]


def test_a_stream_over_the_stream_limit_is_refused_with_the_pixel_limit_raised(web: Browser) -> None:
    """§12: a JPEG stream of more than 2^30 pixels (reachable only with the pixel limit raised) is refused by
    both readers; rgc.js threw a bare RangeError allocating it."""
    luma = craft.grey_jpeg(8, 8)
    sof = luma.index(b"\xff\xc0")
    big = luma[: sof + 5] + (65_472).to_bytes(2, "big") * 2 + luma[sof + 9 :]
    data = craft.all_background(65_472, 65_472, 64, craft.padded(big, 65_472, 65_472))  # bytes enough for §6
    with pytest.raises(regioncodec.LimitError):
        regioncodec.decode(data, max_pixels=2**33)
    result = web.decode(data, maxPixels=2**33)
    assert result["isRgc"] and "a JPEG stream holds at most 1073741824 (§12)" in result["message"], result


def test_an_exported_jpeg_opens_in_chromium_as_in_pillow(web: Browser) -> None:
    """rcodec export's JPEG (regioncodec.export_jpeg) is one a browser shows: Chromium decodes it at its size,
    to Pillow's pixels within a level or two (both are libjpeg-turbo)."""
    if importlib.util.find_spec("jpeglib") is None:
        unavailable("jpeglib (the optional extra regioncodec[jpeg]) is not installed")
    rows, cols = 150, 230
    exported = regioncodec.export_jpeg(regioncodec.encode(photo(rows, cols)))
    result = web.page.evaluate(
        """async (url) => {
            const bitmap = await createImageBitmap(await (await fetch(url)).blob());
            const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
            const context = canvas.getContext('2d');
            context.drawImage(bitmap, 0, 0);
            const data = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
            return { width: bitmap.width, height: bitmap.height, pixels: window.toBase64(data) };
        }""",
        web.put("export.jpg", exported),
    )
    assert (result["width"], result["height"]) == (cols, rows)
    shown = np.frombuffer(base64.b64decode(result["pixels"]), np.uint8).reshape(rows, cols, 4)[..., :3]
    pillow = np.asarray(Image.open(io.BytesIO(exported)).convert("RGB"))
    assert np.abs(shown.astype(int) - pillow).max() <= 2


# ---------------------------------------------------------------------------------------------- display


def test_exif_orientation_is_applied_for_display(web: Browser, files: dict[str, bytes]) -> None:
    data = files["rgb-exif-orientation-6"]
    stored = reference(data)
    raw = web.decode(data)
    assert raw["orientation"] == 6 and sha256(pixels_of(raw)) == sha256(stored)
    shown = web.page.evaluate(
        """async (b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const image = await window.rgc.decodeImageData(bytes);
            return { width: image.width, height: image.height, pixels: window.toBase64(image.data) };
        }""",
        __import__("base64").b64encode(data).decode(),
    )
    turned = pixels_of({**shown, "channels": 4})[..., :3]
    assert np.array_equal(turned, np.rot90(stored, k=-1))  # 6: the stored rows are the picture's right side
    for value, expected in [
        (1, stored),
        (3, stored[::-1, ::-1]),
        (8, np.rot90(stored)),
        (5, stored.transpose(1, 0, 2)),
    ]:
        rgba = np.dstack([stored, np.full(stored.shape[:2], 255, np.uint8)])
        out = web.page.evaluate(
            """([b64, w, h, o]) => {
                const data = new Uint8ClampedArray(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
                const t = window.rgc.orient(data, w, h, o);
                return { width: t.width, height: t.height, pixels: window.toBase64(t.data) };
            }""",
            [__import__("base64").b64encode(rgba.tobytes()).decode(), stored.shape[1], stored.shape[0], value],
        )
        assert np.array_equal(pixels_of({**out, "channels": 4})[..., :3], expected), value


def test_bitmap_canvas_and_fetch_helpers(web: Browser, files: dict[str, bytes]) -> None:
    data = files["rgba-scale-2"]
    url = web.put("helpers.rgc", data)
    got = web.page.evaluate(
        """async (url) => {
            const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
            const bitmap = await window.rgc.decodeBitmap(bytes);
            const canvas = document.createElement('canvas');
            const drawn = await window.rgc.drawToCanvas(bytes, canvas);
            const fetched = await window.rgc.fetchImageData(url);
            let missing;
            try {
                await window.rgc.fetchImageData('/extra/no-such-file.rgc');
            } catch (error) {
                missing = error.message;
            }
            return { bitmap: [bitmap.width, bitmap.height], canvas: [canvas.width, canvas.height],
                     same: window.toBase64(drawn.data) === window.toBase64(fetched.data),
                     pixels: window.toBase64(fetched.data), missing };
        }""",
        url,
    )
    assert got["bitmap"] == got["canvas"] == [230, 150] and got["same"]
    assert sha256(pixels_of({"pixels": got["pixels"], "width": 230, "height": 150, "channels": 4})) == sha256(
        reference(data)
    )
    assert "404" in got["missing"]


def test_inspect_tells_what_rcodec_info_tells(web: Browser, files: dict[str, bytes]) -> None:
    for name in ("two-regions.rgc", "alpha-metadata.rgc", "rgb-scale-4-b64", "grey-b16-levels", "webp", "rgb-bg-avif"):
        data = files[name]
        info = regioncodec.read_info(data)
        got = web.page.evaluate(
            "(b64) => window.rgc.inspect(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)))",
            __import__("base64").b64encode(data).decode(),
        )
        assert (got["width"], got["height"], got["mode"], got["blockSize"]) == (
            info.width,
            info.height,
            info.mode,
            info.block_size,
        )
        assert got["fileBytes"] == info.file_bytes and got["alphaBytes"] == info.alpha_bytes
        deblock = container.read(data).deblock
        assert got["deblock"] == (deblock and {"method": deblock.method, "a": deblock.a, "b": deblock.b})
        names = {"exif": "exif", "iccProfile": "icc_profile", "xmp": "xmp"}
        assert {names[k]: v for k, v in got["metadata"].items()} == info.metadata
        for mine, theirs in zip(got["regions"], info.regions, strict=True):
            assert (mine["role"], mine["codec"], mine["quality"], mine["scale"], mine["bytes"]) == (
                theirs.role,
                theirs.codec,
                theirs.quality,
                theirs.scale,
                theirs.bytes,
            )
            assert mine["fraction"] == pytest.approx(theirs.fraction)


def screenshot_pixels(locator: object) -> np.ndarray:
    """What the page shows of an element, clipped to whole pixels (layout may place it at a fraction of one)."""
    box = locator.bounding_box()  # type: ignore[attr-defined]
    clip = {"x": round(box["x"]), "y": round(box["y"]), "width": round(box["width"]), "height": round(box["height"])}
    shot = locator.page.screenshot(clip=clip)  # type: ignore[attr-defined]
    return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"))


def test_element_shows_the_image_and_its_errors(web: Browser, files: dict[str, bytes]) -> None:
    good = web.put("good.rgc", files["rgb-two-regions"])
    turned = web.put("turned.rgc", files["rgb-exif-orientation-6"])
    broken = web.put("broken.rgc", files["two-regions.rgc"][:-20])
    page = web.context.new_page()
    try:
        page.goto(f"{web.base}/web/blank.html")
        page.set_content(
            f"""<!doctype html><html><head><script type="module" src="{web.base}/web/rgc-img.js"></script>
            <style>body {{ margin: 0 }} rgc-img {{ margin: 4px }}</style></head><body>
            <rgc-img id="good" src="{good}" alt="a portrait"></rgc-img>
            <rgc-img id="turned" src="{turned}" alt="turned"></rgc-img>
            <rgc-img id="broken" src="{broken}" alt="a broken file"></rgc-img>
            <div style="height: 5000px"></div>
            <rgc-img id="lazy" src="{good}" loading="lazy" alt="far below"></rgc-img></body></html>"""
        )
        page.wait_for_function("['good', 'turned', 'broken'].every((id) => document.getElementById(id).complete)")
        state = page.evaluate(
            """() => Object.fromEntries(['good', 'turned', 'broken', 'lazy'].map((id) => {
                const e = document.getElementById(id);
                return [id, { w: e.naturalWidth, h: e.naturalHeight, loaded: e.matches(':state(loaded)'),
                              failed: e.matches(':state(error)'), error: e.error && e.error.message,
                              offset: e.error && e.error.offset, box: [e.offsetWidth, e.offsetHeight] }];
            }))"""
        )
        good_pixels = reference(files["rgb-two-regions"])
        assert state["good"]["loaded"] and (state["good"]["w"], state["good"]["h"]) == (230, 150)
        assert state["good"]["box"] == [230, 150]  # its intrinsic size, as an <img>'s
        assert (state["turned"]["w"], state["turned"]["h"]) == (150, 230)
        assert state["broken"]["failed"] and state["broken"]["error"] and isinstance(state["broken"]["offset"], int)
        assert state["lazy"] == {**state["lazy"], "loaded": False, "failed": False}  # not fetched yet
        shot = screenshot_pixels(page.locator("#good"))
        assert shot.shape == good_pixels.shape and int(np.abs(shot.astype(int) - good_pixels).max()) <= 1
        assert "a broken file" in page.locator("#broken").evaluate("(e) => e.shadowRoot.textContent")
        page.locator("#lazy").scroll_into_view_if_needed()
        page.wait_for_function("document.getElementById('lazy').matches(':state(loaded)')")
        page.evaluate(  # back to the image shown while another is on its way: that one is dropped
            f"""() => {{ const e = document.getElementById('good');
                e.setAttribute('src', '{turned}'); e.setAttribute('src', '{good}'); }}"""
        )
        page.wait_for_function("document.getElementById('good').complete")
        page.wait_for_timeout(300)  # time for the dropped file to arrive, were it not dropped
        assert page.evaluate(
            "[document.getElementById('good').naturalWidth, document.getElementById('good').naturalHeight]"
        ) == [230, 150]
        page.evaluate("document.getElementById('good').setAttribute('src', 'missing.rgc')")
        page.wait_for_function("document.getElementById('good').matches(':state(error)')")
    finally:
        page.close()


def test_viewer_shows_image_map_info_and_original(web: Browser, files: dict[str, bytes]) -> None:
    data = files["rgb-levels-transition-b32"]
    url = web.put("photo.rgc", data)
    original = web.put("photo.png", _png(photo(150, 230)))
    page = web.context.new_page()
    try:
        page.set_viewport_size({"width": 1400, "height": 900})
        page.goto(f"{web.base}/web/index.html?src={url}&original={original}")
        page.wait_for_function("document.getElementById('status').textContent.includes('decoded in')")
        shot = screenshot_pixels(page.locator("#decoded"))
        expected = reference(data)
        assert shot.shape == expected.shape and int(np.abs(shot.astype(int) - expected).max()) <= 1
        assert page.locator("#map").is_hidden()
        page.keyboard.press("m")
        assert page.locator("#map").is_visible()
        with_map = screenshot_pixels(page.locator("#decoded"))
        assert int(np.abs(with_map.astype(int) - expected).max()) > 50  # the overlay shows
        page.locator("#overlay").click()
        assert page.locator("#map").is_hidden()
        info = page.locator("#info").inner_text()
        for region in regioncodec.read_info(data).regions:
            assert f"{region.index} " in info and str(region.quality) in info
        assert "PSNR" in info and page.locator("#original").is_visible()
        page.locator("#files").set_input_files(
            [{"name": "broken.rgc", "mimeType": "image/x-rgc", "buffer": data[:-30]}]
        )
        page.wait_for_function("!document.getElementById('error').hidden")
        assert "byte" in page.locator("#error").inner_text()
    finally:
        page.close()


def test_rcodec_view_serves_a_viewer_that_shows_the_file(web: Browser, files: dict[str, bytes], tmp_path: Path) -> None:
    """The page `rcodec view FILE` opens (its own server, not the test's) decodes the file."""
    data = files["rgb-levels-transition-b32"]
    path = tmp_path / "photo.rgc"
    path.write_bytes(data)
    server = webview.serve([path])
    webview.serve_in_background(server)
    page = web.context.new_page()
    try:
        page.set_viewport_size({"width": 1400, "height": 900})
        page.goto(webview.viewer_url(server, [path]))
        page.wait_for_function("document.getElementById('status').textContent.includes('decoded in')")
        shot = screenshot_pixels(page.locator("#decoded"))
        assert int(np.abs(shot.astype(int) - reference(data)).max()) <= 1
    finally:
        page.close()
        server.shutdown()
        server.server_close()


def _png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- what web/ ships


def node_tools() -> Path:
    """web/node_modules, installed by `make test` (npm ci); skip (or fail under CI) without it."""
    modules = WEB / "node_modules"
    if shutil.which("node") is None or not (modules / "fzstd").exists() or not (modules / "wabt").exists():
        unavailable("web/node_modules is not installed (make web-deps, which needs npm)")
    return modules


def test_vendored_fzstd_is_the_pinned_package() -> None:
    modules = node_tools()
    pinned = json.loads((WEB / "package.json").read_text())["dependencies"]["fzstd"]
    assert json.loads((modules / "fzstd" / "package.json").read_text())["version"] == pinned
    assert (WEB / "vendor" / "fzstd.js").read_bytes() == (modules / "fzstd" / "esm" / "index.mjs").read_bytes()


def test_kernels_are_what_their_source_assembles_to() -> None:
    node_tools()
    run = subprocess.run(["node", "kernels/build.mjs", "--check"], cwd=WEB, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
