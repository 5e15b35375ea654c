"""JPEG inputs and JPEG export: the figures of the issue "Existing JPEGs get bigger", in one run.

    python benchmarks/bench_sources.py [--images DIR] [--repeat N]

Part 1, camera-like JPEGs. From each image (the shared Kodak set), 7 JPEGs
like a phone's or a camera's: resized (70-100%) and cropped at odd offsets
and sizes, at qualities 70-95; 5 of the 7 are 4:2:0 baseline, then 4:4:4 or
4:2:2, then progressive, with restart markers, or greyscale (84 files for 12
images). Each file's bytes are coded as rcodec encode codes a file (fg 90 /
bg 30, the default segmentation), and, for comparison, its decoded pixels as
any other image (no source: what batch did before). Figures: outputs larger
than their input (none); the mean saving against the input (>= 30%); for the
files whose quality is at most the foreground's and whose layout allows it,
the foreground's DCT coefficients and tables identical to the source's, and
the decoded foreground within 1 level of libjpeg-turbo's decode of the source
(Pillow's) in blocks whose 3x3 neighbourhood is all foreground.

Part 2, export. Each image coded at fg 90 / bg 30 and exported
(regioncodec.export_jpeg) to one baseline JPEG, against Pillow's uniform
4:2:0 JPEGs at 90 and 30 (Huffman-optimised, as export's): bytes (<= 0.8x of
q90's), PSNR on the foreground's pixels (>= q90's - 0.05 dB) and on the
background's (>= q30's - 0.5 dB); each export must open in Pillow, OpenCV and
(when it can be driven) Chromium at its size.

Needs jpeglib (pip install -e '.[test]' or '.[jpeg]'). Exits 1 if a target is missed.
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import image_paths, load_average, load_rgb, parse_args, print_verdicts  # noqa: E402

import regioncodec  # noqa: E402
from regioncodec import api, container, jpegdct, layout  # noqa: E402

FG, BG = 90, 30
QUALITIES = (70, 75, 80, 85, 90, 95)
VARIANTS = 7  # camera-like JPEGs per image
SAVING_TARGET = 0.30  # mean saving against the source JPEG
PIXEL_TOLERANCE = 1  # levels: decoded foreground vs libjpeg-turbo's decode of the source, inside the foreground
EXPORT_BYTES_TARGET = 0.80  # export bytes / uniform q90's
EXPORT_FG_TARGET = -0.05  # dB: export's foreground PSNR minus uniform q90's
EXPORT_BG_TARGET = -0.5  # dB: export's background PSNR minus uniform q30's


def camera_jpegs(paths: list[Path]) -> list[tuple[str, bytes, np.ndarray, str, int]]:
    """(name, JPEG bytes, the pristine pixels it was made from, layout, quality) for each camera-like JPEG."""
    rng = np.random.default_rng(2024)
    made = []
    for k, path in enumerate(paths):
        source = Image.open(path).convert("RGB")
        for v in range(VARIANTS):
            quality = QUALITIES[(k + v) % len(QUALITIES)]
            scale = float(rng.uniform(0.7, 1.0)) if v % 2 else 1.0
            size = (round(source.width * scale), round(source.height * scale))
            image = source.resize(size, Image.Resampling.LANCZOS) if scale != 1 else source
            left, top = int(rng.integers(0, 40)), int(rng.integers(0, 40))
            right, bottom = image.width - int(rng.integers(0, 40)), image.height - int(rng.integers(0, 40))
            image = image.crop((left, top, right, bottom))
            options: dict[str, Any] = {"quality": quality, "subsampling": 2}
            kind = "4:2:0"
            if v == 5:
                kind = "4:4:4" if k % 2 == 0 else "4:2:2"
                options["subsampling"] = 0 if k % 2 == 0 else 1
            elif v == 6:
                kind = ("progressive", "restart", "grey")[k % 3]
                options |= {"progressive": True} if kind == "progressive" else {}
                options |= {"restart_marker_blocks": 2} if kind == "restart" else {}
                image = image.convert("L") if kind == "grey" else image
            out = io.BytesIO()
            image.save(out, "JPEG", **options)
            made.append((f"{path.stem}-{v} q{quality} {kind}", out.getvalue(), np.asarray(image), kind, quality))
    return made


def interior(cells: np.ndarray, edge: int) -> np.ndarray:
    """The cells whose 3x3 neighbourhood is all in cells, outside the image counting as in (edge 1) or not (0).

    With 0, the blocks along the image's edge are left out: there libjpeg's
    fancy upsampling repeats the last chroma sample of the image, while the
    .rgc decoder (spec §11) upsamples the padded plane, which holds the
    source's own MCU padding: the last pixel column or row may differ by a
    few levels, by the spec's design, whatever the foreground.
    """
    return cv2.erode(cells.astype(np.uint8), np.ones((3, 3), np.uint8), borderValue=edge).astype(bool)


def foreground_check(data: bytes, rgc: bytes) -> tuple[bool, int, int, int]:
    """(the top region's coefficients and tables are the source's, largest level difference from libjpeg-turbo's
    decode of the source in foreground blocks away from the mask and the image's edge, their pixels, the largest
    difference in foreground blocks on the image's edge) for a file coded from the source's coefficients."""
    parsed = container.read(rgc)
    block = parsed.header.block_size
    source = jpegdct.read_coefficients(data)
    grid = jpegdct.grid_planes(source, block)
    top = max(layer.region for layer in parsed.layers if layer.streams)
    cells = parsed.block_map == top
    per = block // jpegdct.DCT
    layer = parsed.layers[top]
    blocks, table = jpegdct.read_greyscale(layer.streams[0])
    same = np.array_equal(table, grid.luma_table) and np.array_equal(blocks, jpegdct.pack_blocks(grid.luma, cells, per))
    if grid.chroma is not None:
        stack, table = jpegdct.read_greyscale(layer.streams[1])
        packed = np.concatenate([jpegdct.pack_blocks(plane, cells, per // 2) for plane in grid.chroma])
        same = same and np.array_equal(table, grid.chroma_table) and np.array_equal(stack, packed)
    decoded = regioncodec.decode(rgc).astype(np.int16)
    reference = np.asarray(Image.open(io.BytesIO(data))).astype(np.int16)
    keep = layout.expand(interior(cells, 0), decoded.shape[:2], block)
    edge = layout.expand(interior(cells, 1), decoded.shape[:2], block) & ~keep
    difference = np.abs(decoded - reference)
    difference = difference.max(axis=2) if difference.ndim == 3 else difference
    return same, int(difference[keep].max(initial=0)), int(keep.sum()), int(difference[edge].max(initial=0))


def part_sources(paths: list[Path]) -> list[tuple[str, float, float, bool]]:
    """Part 1's table and figures."""
    files = camera_jpegs(paths)
    print(f"Part 1: {len(files)} camera-like JPEGs, coded at fg {FG} / bg {BG}\n")
    print(f"{'file':<28}{'in B':>9}{'out B':>9}{'ratio':>7}{'pixels':>8}{'fg q':>6}  coefficients")
    ratios, pixel_ratios, seconds, pixel_seconds = [], [], [], []
    eligible = identical = guarded = 0
    worst_level, interior_pixels, worst_edge = 0, 0, 0
    for name, data, _, kind, quality in files:
        start = time.perf_counter()
        notes: list[str] = []
        rgc = api.encode(data, fg_quality=FG, bg_quality=BG, notes=notes)
        seconds.append(time.perf_counter() - start)
        decoded_input = np.asarray(Image.open(io.BytesIO(data)))
        start = time.perf_counter()
        plain = regioncodec.encode(decoded_input, fg_quality=FG, bg_quality=BG)
        pixel_seconds.append(time.perf_counter() - start)
        ratios.append(len(rgc) / len(data))
        pixel_ratios.append(len(plain) / len(data))
        coded = [region.quality for region in regioncodec.read_info(rgc).regions]
        lowered = any("lowered" in note for note in notes)
        guarded += lowered
        status = "-"
        if kind in ("4:2:0", "progressive", "restart", "grey") and quality <= FG:
            eligible += 1
            if lowered:
                status = "guard lowered fg: requantised"
            else:
                same, level, pixels, at_edge = foreground_check(data, rgc)
                identical += same
                worst_level, worst_edge = max(worst_level, level), max(worst_edge, at_edge)
                interior_pixels += pixels
                status = f"{'identical' if same else 'DIFFERENT'}, max {level} level{'s' * (level != 1)}"
        elif kind in ("4:4:4", "4:2:2"):
            status = "pixels (layout)"
        else:
            status = "requantised (source above fg)"
        shown = "/".join(map(str, coded))
        print(f"{name:<28}{len(data):>9,}{len(rgc):>9,}{ratios[-1]:>7.3f}{pixel_ratios[-1]:>8.3f}{shown:>6}  {status}")
    larger = sum(ratio > 1 for ratio in ratios)
    pixel_larger = sum(ratio > 1 for ratio in pixel_ratios)
    saving = 1 - statistics.fmean(ratios)
    print(
        f"\nlarger than the input: {larger} of {len(files)} (worst {max(ratios):.3f}x); coded from pixels as "
        f"before: {pixel_larger} (worst {max(pixel_ratios):.3f}x)"
    )
    print(
        f"mean saving: {saving:.1%} (from pixels: {1 - statistics.fmean(pixel_ratios):.1%}); total "
        f"{1 - sum(r * len(f[1]) for r, f in zip(ratios, files, strict=True)) / sum(len(f[1]) for f in files):.1%}"
    )
    print(f"the never-larger guard stepped in for {guarded} files")
    print(
        f"lossless foreground: {identical} of {eligible - guarded} eligible files (quality <= {FG}, 4:2:0 or grey, "
        f"not lowered by the guard) identical; decoded within {worst_level} level(s) of libjpeg-turbo over "
        f"{interior_pixels:,} pixels of foreground blocks away from the mask's and the image's edge "
        f"(in foreground blocks on the image's edge: {worst_edge}, spec §11's upsampling of the padded plane)"
    )
    print(
        f"encode time, median per file: {statistics.median(seconds) * 1000:.0f} ms from the file, "
        f"{statistics.median(pixel_seconds) * 1000:.0f} ms from pixels"
    )
    return [
        ("camera JPEGs: outputs larger than input", float(larger), 0.0, False),
        ("camera JPEGs: mean saving vs input", saving, SAVING_TARGET, True),
        ("eligible foregrounds not identical", float(eligible - guarded - identical), 0.0, False),
        ("foreground vs libjpeg-turbo, max levels", float(worst_level), float(PIXEL_TOLERANCE), False),
    ]


def large_timing(paths: list[Path]) -> None:
    """Encode time of a 12-megapixel q85 JPEG from its file, against decoding it and coding the pixels."""
    image = Image.open(paths[0]).convert("RGB").resize((4096, 3072), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    data = out.getvalue()
    regioncodec.encode(data)  # warm up
    ratios, times = [], []
    for _ in range(3):
        start = time.perf_counter()
        regioncodec.encode(np.asarray(Image.open(io.BytesIO(data))), fg_quality=FG, bg_quality=BG)
        middle = time.perf_counter()
        regioncodec.encode(data, fg_quality=FG, bg_quality=BG)
        end = time.perf_counter()
        ratios.append((end - middle) / (middle - start))
        times.append((end - middle, middle - start))
    file_time, pixel_time = (statistics.median(t[i] for t in times) for i in (0, 1))
    print(
        f"12 MP q85 JPEG: {file_time:.2f} s from the file (coefficients kept), {pixel_time:.2f} s decoded and coded "
        f"from pixels; median ratio {statistics.median(ratios):.2f}x (informative)"
    )


def psnr(reference: np.ndarray, decoded: np.ndarray, where: np.ndarray) -> float:
    """PSNR in dB over the pixels where is True, all channels."""
    error = (reference.astype(np.float64) - decoded.astype(np.float64))[where]
    return float(10 * np.log10(255**2 / max(float((error**2).mean()), 1e-12)))


def pillow_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """Pillow's 4:2:0 JPEG at quality, Huffman-optimised (as export's)."""
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def rgb_of(data: bytes) -> np.ndarray:
    """Pillow's (libjpeg-turbo's) decode of a JPEG, as RGB."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def part_export(paths: list[Path]) -> tuple[list[tuple[str, float, float, bool]], list[tuple[str, bytes, int, int]]]:
    """Part 2's table and figures, and the exports (name, bytes, width, height) for Chromium."""
    print(f"\nPart 2: export of {len(paths)} images coded at fg {FG} / bg {BG}\n")
    heading = f"{'image':<10}{'fg %':>6}{'bytes/q90':>11}{'fg dB vs q90':>14}{'bg dB vs q30':>14}"
    print(f"{heading}{'vs .rgc max':>13}{'ms':>6}")
    byte_ratios, fg_gaps, bg_gaps, exports = [], [], [], []
    opened = 0
    for path in paths:
        rgb = load_rgb(path)
        rgc = regioncodec.encode(rgb, fg_quality=FG, bg_quality=BG)
        start = time.perf_counter()
        exported = regioncodec.export_jpeg(rgc)
        milliseconds = (time.perf_counter() - start) * 1000
        parsed = container.read(rgc)
        top = int(parsed.block_map.max())
        foreground = layout.expand(parsed.block_map == top, rgb.shape[:2], parsed.header.block_size)
        q90, q30 = pillow_jpeg(rgb, FG), pillow_jpeg(rgb, BG)
        mine = rgb_of(exported)
        by_opencv = cv2.imdecode(np.frombuffer(exported, np.uint8), cv2.IMREAD_COLOR)
        opened += mine.shape == rgb.shape and by_opencv is not None and by_opencv.shape == rgb.shape
        byte_ratios.append(len(exported) / len(q90))
        fg_gaps.append(psnr(rgb, mine, foreground) - psnr(rgb, rgb_of(q90), foreground))
        bg_gaps.append(psnr(rgb, mine, ~foreground) - psnr(rgb, rgb_of(q30), ~foreground))
        apart = int(np.abs(mine.astype(int) - regioncodec.decode(rgc)).max())
        exports.append((path.stem, exported, rgb.shape[1], rgb.shape[0]))
        print(
            f"{path.stem:<10}{foreground.mean():>6.1%}{byte_ratios[-1]:>11.3f}{fg_gaps[-1]:>+14.3f}"
            f"{bg_gaps[-1]:>+14.3f}{apart:>13}{milliseconds:>6.0f}"
        )
    print(
        f"\nbytes / q90: median {statistics.median(byte_ratios):.3f}, worst {max(byte_ratios):.3f}; "
        f"fg dB vs q90: median {statistics.median(fg_gaps):+.3f}, worst {min(fg_gaps):+.3f}; "
        f"bg dB vs q30: median {statistics.median(bg_gaps):+.3f}, worst {min(bg_gaps):+.3f}"
    )
    print(f"opened by Pillow and OpenCV at their size: {opened} of {len(paths)}")
    checks = [
        ("export: bytes / uniform q90, worst", max(byte_ratios), EXPORT_BYTES_TARGET, False),
        ("export: fg dB vs uniform q90, worst", min(fg_gaps), EXPORT_FG_TARGET, True),
        ("export: bg dB vs uniform q30, worst", min(bg_gaps), EXPORT_BG_TARGET, True),
        ("export: opened by Pillow and OpenCV", float(opened), float(len(paths)), True),
    ]
    return checks, exports


def chromium_opens(exports: list[tuple[str, bytes, int, int]]) -> tuple[str, float, float, bool] | None:
    """How many exports Chromium decodes at their size (createImageBitmap), or None (and why) without Chromium."""
    from tests.browser_helpers import browser, missing_browser

    reason = missing_browser()
    if reason:
        print(f"Chromium: not checked: {reason}")
        return None
    with tempfile.TemporaryDirectory() as folder, browser(Path(folder)) as web:
        good = 0
        for name, data, width, height in exports:
            url = web.put(f"{name}.jpg", data)
            size = web.page.evaluate(
                "async (url) => { const b = await createImageBitmap(await (await fetch(url)).blob());"
                " return [b.width, b.height]; }",
                url,
            )
            good += size == [width, height]
    print(f"opened by Chromium at their size: {good} of {len(exports)}")
    return ("export: opened by Chromium", float(good), float(len(exports)), True)


def main() -> int:
    args = parse_args(__doc__, repeat=1)
    paths = image_paths(args.images)
    if not jpegdct.available():
        print("jpeglib is not installed: pip install -e '.[jpeg]'")
        return 1
    print(f"regioncodec {regioncodec.__version__} on {len(paths)} images from {paths[0].parent}")
    print(f"load average: {load_average()}\n")
    checks = part_sources(paths)
    large_timing(paths)
    export_checks, exports = part_export(paths)
    checks += export_checks
    browser_check = chromium_opens(exports)
    if browser_check is not None:
        checks.append(browser_check)
    print(f"\nload average: {load_average()}")
    return 1 if print_verdicts(checks) else 0


if __name__ == "__main__":
    sys.exit(main())
