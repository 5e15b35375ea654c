"""Browser figures: web/rgc.js's decode time against Chromium's own JPEG decode, and its size.

    python benchmarks/bench_browser.py [--images DIR] [--repeat N] [--no-canvases]

In one headless Chromium, for each image (the shared Kodak set, else samples/)
the .rgc file (encode's defaults: fg 85, bg 60, a DBLK chunk, so the decoder
runs the deblocking filter of spec §11.8) is decoded to an ImageData by
rgc.decodeImageData, and a uniform JPEG of the same image (quality 90, 4:2:0,
Pillow) by Chromium as a page gets an ImageData from a JPEG:
createImageBitmap, drawn to a canvas, read with getImageData. The targets are
judged on that ratio. The same file without its DBLK chunk is timed beside
(informative: the difference is what the filter costs). WebCodecs' ImageDecoder (Chromium only)
decodes the JPEG about twice as fast; the ratio to it is reported beside. All
alternate, --repeat times a round, and a round's ratio is the median of the
ratios of runs side by side; rounds repeat until two in a row give ratios
within 5% of each other, and the last is reported. The 12 MP file is the first image enlarged to
4096x3072. The size is web/rgc.js with everything it imports, bundled and
minified by esbuild and gzipped (-9). With canvases, it also measures how far
Chromium's WebP and AVIF canvas decodes are from Pillow's, per channel, and
how far rgc.js's decode of files with a canvas background among JPEG layers
(bg_codec) is from the reference decoder's.
Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import image_paths, load_average, load_rgb, print_verdicts  # noqa: E402

import regioncodec  # noqa: E402
from regioncodec import container  # noqa: E402
from tests.browser_helpers import WEB, browser, missing_browser  # noqa: E402

KODAK_TARGET = 2.0  # JS decode of a 768x512 file <= 2x Chromium's decode of a uniform JPEG
LARGE_TARGET = 1.5  # and of a 12 MP file <= 1.5x
SIZE_TARGET = 40_000  # bytes of web/rgc.js and its dependencies, minified and gzipped
LARGE = (3072, 4096)  # rows, columns: 12.6 MP
AGREE = 0.05  # two rounds agree when their ratios are within 5%
MAX_ROUNDS = 6
JPEG_QUALITY = 90

TIMING = """async ([rgcUrl, plainUrl, jpegUrl, repeat]) => {
    const get = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
    const [rgcBytes, plainBytes, jpegBytes] = [await get(rgcUrl), await get(plainUrl), await get(jpegUrl)];
    async function viaBitmap() {
        const bitmap = await createImageBitmap(new Blob([jpegBytes], { type: 'image/jpeg' }));
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        const ctx = canvas.getContext('2d', { willReadFrequently: true });
        ctx.drawImage(bitmap, 0, 0);
        bitmap.close();
        return ctx.getImageData(0, 0, canvas.width, canvas.height);
    }
    async function viaImageDecoder() {
        const decoder = new ImageDecoder({ data: jpegBytes, type: 'image/jpeg' });
        const frame = (await decoder.decode()).image;
        const data = new Uint8ClampedArray(frame.displayWidth * frame.displayHeight * 4);
        await frame.copyTo(data, { format: 'RGBA' });
        const image = new ImageData(data, frame.displayWidth, frame.displayHeight);
        frame.close();
        decoder.close();
        return image;
    }
    const time = async (f) => { const start = performance.now(); await f(); return performance.now() - start; };
    const runs = { rgc: [], bitmap: [], imageDecoder: [], plain: [] };
    const viaRgc = (bytes) => () => window.rgc.decodeImageData(bytes);
    for (const f of [viaRgc(rgcBytes), viaRgc(plainBytes), viaBitmap, viaImageDecoder]) await f(); // warm up
    for (let i = 0; i < repeat; i++) {
        runs.rgc.push(await time(viaRgc(rgcBytes)));
        runs.bitmap.push(await time(viaBitmap));
        runs.imageDecoder.push(await time(viaImageDecoder));
        runs.plain.push(await time(viaRgc(plainBytes)));
    }
    return runs;
}"""

DECODE = """async (b64) => {
    const image = await window.rgc.decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
    return { width: image.width, height: image.height, pixels: window.toBase64(image.data) };
}"""

CANVAS_READ = """async ([b64, type]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type }),
                                           { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0);
    return { width: bitmap.width, height: bitmap.height,
             pixels: window.toBase64(ctx.getImageData(0, 0, bitmap.width, bitmap.height).data) };
}"""


def jpeg(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def without_dblk(data: bytes) -> bytes:
    """The file without its DBLK chunk: the same layers, nothing deblocked."""
    parsed = container.read(data)
    return container.write(container.Container(parsed.header, parsed.block_map, parsed.layers, parsed.alpha))


def measure(session, name: str, rgc: bytes, uniform: bytes, repeat: int) -> dict[str, float]:  # noqa: ANN001
    """Median times (ms) and the ratio, over rounds until two in a row agree."""
    rgc_url, jpeg_url = session.put(f"{name}.rgc", rgc), session.put(f"{name}.jpg", uniform)
    plain_url = session.put(f"{name}-no-dblk.rgc", without_dblk(rgc))
    last = None
    for _ in range(MAX_ROUNDS):
        runs = session.page.evaluate(TIMING, [rgc_url, plain_url, jpeg_url, repeat])
        medians = {key: statistics.median(values) for key, values in runs.items()}
        result = {  # the median of the ratios of runs made side by side, which share whatever else the machine does
            **medians,
            "ratio": statistics.median(a / b for a, b in zip(runs["rgc"], runs["bitmap"], strict=True)),
            "ratio_webcodecs": statistics.median(a / b for a, b in zip(runs["rgc"], runs["imageDecoder"], strict=True)),
        }
        if last is not None and abs(result["ratio"] - last["ratio"]) <= AGREE * last["ratio"]:
            return result
        last = result
    return last


HEADER = (
    f"{'image':<16}{'size':>11}{'rgc ms':>9}{'canvas ms':>11}{'WebCodecs ms':>14}{'ratio':>7}{'to WebCodecs':>14}"
    f"{'no DBLK ms':>12}"
)


def row(name: str, size: str, result: dict[str, float]) -> str:
    """One line of the timing table."""
    return (
        f"{name:<16}{size:>11}{result['rgc']:>9.1f}{result['bitmap']:>11.1f}{result['imageDecoder']:>14.1f}"
        f"{result['ratio']:>7.2f}{result['ratio_webcodecs']:>14.2f}{result['plain']:>12.1f}"
    )


def bundle_size() -> tuple[int, int]:
    """(minified, minified and gzipped) bytes of web/rgc.js bundled with what it imports."""
    esbuild = WEB / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        raise SystemExit("web/node_modules is missing: run `make web/node_modules/.installed` (npm ci in web/)")
    command = [str(esbuild), "rgc.js", "--bundle", "--minify", "--format=esm"]
    bundled = subprocess.run(command, cwd=WEB, capture_output=True, check=True).stdout
    return len(bundled), len(gzip.compress(bundled, 9))


def canvas_differences(session, images: list[np.ndarray]) -> dict[str, int]:  # noqa: ANN001
    """Largest per-channel difference between Chromium's and Pillow's decode of every canvas of the images: files of
    canvases, and canvas backgrounds among JPEG layers (bg_codec)."""
    worst = {}
    for codec in ("webp", "avif"):
        worst[codec] = 0
        for image in images:
            for scale, mixed in ((1, False), (2, False), (1, True), (2, True)):
                options = {"bg_codec": codec} if mixed else {"codec": codec}
                data = regioncodec.encode(image, bg_scale=scale, **options)
                for layer in container.read(data).layers:
                    if layer.codec == "jpeg":
                        continue
                    for stream in layer.streams:
                        ours = np.asarray(Image.open(io.BytesIO(stream)).convert("RGB")).astype(int)
                        out = session.page.evaluate(CANVAS_READ, [base64.b64encode(stream).decode(), f"image/{codec}"])
                        shape = (out["height"], out["width"], 4)
                        theirs = np.frombuffer(base64.b64decode(out["pixels"]), np.uint8).reshape(shape)[..., :3]
                        worst[codec] = max(worst[codec], int(np.abs(theirs.astype(int) - ours).max()))
    return worst


def mixed_differences(session, images: list[np.ndarray]) -> dict[str, int]:  # noqa: ANN001
    """Largest difference between rgc.decode and regioncodec.decode of files with a WebP or AVIF background among
    JPEG layers (spec §11.9), deblocked, at scales 1 and 2."""
    worst = {}
    for codec in ("webp", "avif"):
        worst[codec] = 0
        for image in images:
            for scale in (1, 2):
                data = regioncodec.encode(image, bg_codec=codec, bg_scale=scale)
                out = session.page.evaluate(DECODE, base64.b64encode(data).decode())
                theirs = np.frombuffer(base64.b64decode(out["pixels"]), np.uint8).reshape(image.shape)
                ours = regioncodec.decode(data)
                worst[codec] = max(worst[codec], int(np.abs(theirs.astype(int) - ours).max()))
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, help="folder of images (default: ../shared/images/kodak, else samples/)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs a round; the median is reported")
    parser.add_argument("--no-canvases", action="store_true", help="skip measuring WebP and AVIF canvas decodes")
    args = parser.parse_args()
    canvases = not args.no_canvases
    reason = missing_browser()
    if reason:
        raise SystemExit(f"cannot run: {reason}")
    paths = image_paths(args.images)
    images = [load_rgb(p) for p in paths]
    large = np.asarray(Image.fromarray(images[0]).resize(LARGE[::-1], Image.LANCZOS))
    minified, gzipped = bundle_size()
    with tempfile.TemporaryDirectory() as folder, browser(Path(folder)) as session:
        print(f"load average before timing: {load_average()}")
        print(HEADER)
        ratios, webcodecs = [], []
        for path, image in zip(paths, images, strict=True):
            result = measure(session, path.stem, regioncodec.encode(image), jpeg(image), args.repeat)
            ratios.append(result["ratio"])
            webcodecs.append(result["ratio_webcodecs"])
            print(row(path.stem, f"{image.shape[1]}x{image.shape[0]}", result))
        big = measure(session, "large", regioncodec.encode(large), jpeg(large), max(3, args.repeat // 2))
        print(row("12 MP", "4096x3072", big))
        print("\nratio: rgc.decodeImageData over createImageBitmap + canvas + getImageData of the uniform JPEG")
        print("no DBLK: the same .rgc without its DBLK chunk, so not deblocked (informative)")
        print(f"load average after timing: {load_average()}")
        print(
            f"to WebCodecs: over ImageDecoder + copyTo of the uniform JPEG: median {statistics.median(webcodecs):.2f},"
            f" worst {max(webcodecs):.2f}, 12 MP {big['ratio_webcodecs']:.2f} (not a target)"
        )
        print(f"bundle: web/rgc.js and its imports, {minified} bytes minified, {gzipped} bytes gzipped")
        if canvases:
            worst = canvas_differences(session, images[:4])
            print(f"canvases: Chromium vs Pillow, largest difference per channel: {worst} (first 4 images)")
            mixed = mixed_differences(session, images[:4])
            print(f"canvas backgrounds among JPEG layers: rgc.js vs regioncodec.decode, largest difference: {mixed}")
    return print_verdicts(
        [
            (f"{len(ratios)} images: median ratio", statistics.median(ratios), KODAK_TARGET, False),
            (f"{len(ratios)} images: worst ratio", max(ratios), KODAK_TARGET, False),
            ("12 MP ratio", big["ratio"], LARGE_TARGET, False),
            ("bundle kB (gzipped)", gzipped / 1000, SIZE_TARGET / 1000, False),
        ]
    )


if __name__ == "__main__":
    raise SystemExit(1 if main() else 0)
