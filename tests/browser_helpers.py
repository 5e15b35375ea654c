"""A headless Chromium driving web/ over a local HTTP server, for tests and benchmarks.

The browser is Debian's chromium (Playwright's own download is not reachable
here), driven by Playwright for Python. Files are served from the repository
root on 127.0.0.1 (module scripts need http, not file://) with the media
types a deployment should use; extra files (made in a test) are served from
a temporary folder under /extra/.
"""

from __future__ import annotations

import base64
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
MEDIA_TYPES = {".rgc": "image/x-rgc", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css"}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# As the machine's own probe starts it: no sandbox (root), no GPU, and none of the background
# connections that a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """Path of a Chromium to drive: $RGC_CHROMIUM, else the first of CHROMIUM_NAMES on PATH."""
    named = os.environ.get("RGC_CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def missing_browser() -> str | None:
    """Why the browser tests cannot run here (one line), or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    if find_chromium() is None:
        return "no Chromium found (apt-get install chromium, or set RGC_CHROMIUM)"
    return None


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the repository, and /extra/ from the server's extra folder, quietly, with .rgc's media type."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MEDIA_TYPES}
    extra: Path

    def translate_path(self, path: str) -> str:
        if path.startswith("/extra/"):
            return str(self.extra / path.split("?")[0][len("/extra/") :])
        return super().translate_path(path)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        pass


@contextmanager
def serve(extra: Path) -> Iterator[str]:
    """An HTTP server of the repository on 127.0.0.1 (and extra at /extra/); yields its base URL."""
    handler = type("Handler", (_Handler,), {"extra": extra})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(ROOT)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Browser:
    """One Chromium page that has imported web/rgc.js as window.rgc, and where to put files it can fetch."""

    page: Any
    base: str
    extra: Path
    context: Any = None  # the browser context, for further pages

    def put(self, name: str, data: bytes) -> str:
        """Serve data at /extra/name; returns its URL path."""
        (self.extra / name).write_bytes(data)
        return f"/extra/{name}"

    def decode(self, data: bytes, **options: Any) -> dict[str, Any]:
        """rgc.decode of data in the page: {ok, width, height, channels, pixels}, or {ok: False, message, offset}."""
        result = self.page.evaluate(
            """async ([b64, options]) => {
                const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                try {
                    const image = await window.rgc.decode(bytes, options);
                    return { ok: true, width: image.width, height: image.height, channels: image.channels,
                             mode: image.mode, orientation: image.orientation, pixels: window.toBase64(image.data) };
                } catch (error) {
                    return { ok: false, name: error.name, message: String(error.message), offset: error.offset,
                             isError: error instanceof Error, isRgc: error instanceof window.rgc.RgcError };
                }
            }""",
            [base64.b64encode(data).decode(), options],
        )
        return result

    def decode_all(
        self, files: list[bytes], options: dict[str, Any] | None = None, timeout_ms: int = 10_000
    ) -> list[dict[str, Any]]:
        """rgc.decode of each file, in one round trip: {ok, ms, sha256} or {ok: False, ...} per file."""
        return self.page.evaluate(
            """async ([files, options, timeout]) => {
                const out = [];
                for (const b64 of files) {
                    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                    const start = performance.now();
                    const limit = new Promise((_, reject) => setTimeout(() => reject(new Error('hang')), timeout));
                    try {
                        const image = await Promise.race([window.rgc.decode(bytes, options), limit]);
                        const digest = await crypto.subtle.digest('SHA-256', image.data);
                        const hex = (b) => b.toString(16).padStart(2, '0');
                        const sha256 = Array.from(new Uint8Array(digest), hex).join('');
                        out.push({ ok: true, sha256, ms: performance.now() - start });
                    } catch (error) {
                        out.push({ ok: false, name: error.name, message: String(error.message), offset: error.offset,
                                   isRgc: error instanceof window.rgc.RgcError, ms: performance.now() - start });
                    }
                }
                return out;
            }""",
            [[base64.b64encode(f).decode() for f in files], options or {}, timeout_ms],
        )


def pixels_of(result: dict[str, Any]) -> np.ndarray:
    """The pixels a successful Browser.decode returned, as decode's numpy layout (H x W, or H x W x C)."""
    flat = np.frombuffer(base64.b64decode(result["pixels"]), np.uint8)
    shape = (result["height"], result["width"]) + ((result["channels"],) if result["channels"] > 1 else ())
    return flat.reshape(shape)


PAGE_SETUP = """async () => {
    window.rgc = await import('/web/rgc.js');
    window.toBase64 = (bytes) => {
        const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        let s = '';
        for (let i = 0; i < view.length; i += 0x8000) {
            s += String.fromCharCode.apply(null, view.subarray(i, i + 0x8000));
        }
        return btoa(s);
    };
}"""


@contextmanager
def browser(extra: Path) -> Iterator[Browser]:
    """A headless Chromium with one page on the local server, web/rgc.js imported; closed on exit."""
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    with serve(extra) as base, sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            context = chromium.new_context()
            page = context.new_page()
            page.goto(f"{base}/web/blank.html")
            page.evaluate(PAGE_SETUP)
            yield Browser(page, base, extra, context)
        finally:
            chromium.close()


# ---------------------------------------------------------------------------------------------------------------
# Spec §11 in numpy, as a stand-in for the reference decoder until regioncodec.decode implements §11 exactly
# (today's decode upsamples chroma with OpenCV's bilinear filter and stretches scaled canvases). Streams are
# decoded as the reference does: JPEG by libjpeg-turbo through OpenCV, canvases by Pillow.


def _enlarge(plane: np.ndarray, s: int) -> np.ndarray:
    """§11.4's enlargement by s (triangle filter, centres aligned, edges repeated, one rounding)."""
    h, w = plane.shape

    def taps(n: int, size: int) -> tuple[np.ndarray, ...]:
        y = np.arange(n)
        i = y // s
        d = 2 * (y - i * s) + 1 - s
        return i, np.clip(np.where(d < 0, i - 1, i + 1), 0, size - 1), 2 * s - np.abs(d), np.abs(d)

    ri, ro, rn, rf = taps(h * s, h)
    ci, co, cn, cf = taps(w * s, w)
    p = plane.astype(np.int64)
    v = rn[:, None] * p[ri] + rf[:, None] * p[ro]
    out = cn[None, :] * v[:, ci] + cf[None, :] * v[:, co]
    return ((out + 2 * s * s) >> int(np.log2(4 * s * s))).astype(np.uint8)


def _reduce(plane: np.ndarray, s: int) -> np.ndarray:
    """§11.4's reduction by s: the rounded mean of each s x s square, halves up."""
    h, w = plane.shape
    total = plane.astype(np.int64).reshape(h // s, s, w // s, s).sum(axis=(1, 3))
    return ((total + s * s // 2) >> int(np.log2(s * s))).astype(np.uint8)


def _upsample(c: np.ndarray) -> np.ndarray:
    """§11.5: libjpeg's h2v2 fancy upsampling of a chroma plane."""
    c = c.astype(np.int64)
    v = np.empty((2 * c.shape[0], c.shape[1]), np.int64)
    v[0::2] = 3 * c + np.vstack([c[:1], c[:-1]])
    v[1::2] = 3 * c + np.vstack([c[1:], c[-1:]])
    out = np.empty((v.shape[0], 2 * v.shape[1]), np.int64)
    out[:, 0::2] = (3 * v + np.hstack([v[:, :1], v[:, :-1]]) + 8) >> 4
    out[:, 1::2] = (3 * v + np.hstack([v[:, 1:], v[:, -1:]]) + 7) >> 4
    return out


def _to_rgb(luma: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """§11.6: YCbCr to RGB in units of 2^-14."""
    y, cb, cr = luma.astype(np.int64), cb - 128, cr - 128
    r = y + ((22987 * cr + 8192) >> 14)
    g = y + ((-5636 * cb - 11698 * cr + 8192) >> 14)
    b = y + ((29049 * cb + 8192) >> 14)
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def spec11_decode(data: bytes) -> np.ndarray:
    """The pixels spec §11 gives for a valid .rgc file, as regioncodec.decode lays them out."""
    import io

    import cv2
    from PIL import Image

    from regioncodec import container, planes

    parsed = container.read(data)
    head = parsed.header
    rows, cols = head.grid_shape
    b = head.block_size
    layers = [layer for layer in parsed.layers if layer.streams]
    if layers and layers[0].codec != "jpeg":
        rgb = np.zeros((head.height, head.width, 3), np.uint8)
        for layer in layers:
            cells = parsed.block_map == layer.region
            rs, cs = np.flatnonzero(cells.any(axis=1)), np.flatnonzero(cells.any(axis=0))
            top, left = rs[0] * b, cs[0] * b
            bottom, right = min((rs[-1] + 1) * b, head.height), min((cs[-1] + 1) * b, head.width)
            picture = np.asarray(Image.open(io.BytesIO(layer.streams[0])).convert("RGB"))
            s = layer.scale
            if s > 1:
                picture = np.stack([_enlarge(picture[..., k], s) for k in range(3)], -1)
            mask = planes.expand(cells, (head.height, head.width), b)[top:bottom, left:right]
            rgb[top:bottom, left:right][mask] = picture[: bottom - top, : right - left][mask]
        if head.colour == "L":
            rgb = ((rgb.astype(np.int64) @ np.array([19595, 38470, 7471]) + 32768) >> 16).astype(np.uint8)
        out = rgb
    else:
        colour = head.colour == "RGB"
        full = [np.full((rows * b, cols * b), 128, np.uint8)]
        if colour:
            full += [np.full((rows * b // 2, cols * b // 2), 128, np.uint8) for _ in range(2)]
        for s in sorted({layer.scale for layer in layers}):
            target = full if s == 1 else [_reduce(p, s) for p in full]
            same = [layer for layer in layers if layer.scale == s]
            for layer in same:
                cells = parsed.block_map == layer.region
                decoded = [
                    cv2.imdecode(np.frombuffer(st, np.uint8), cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION)
                    for st in layer.streams
                ]
                planes.unpack(decoded[0], cells, b // s, target[0])
                if colour:
                    for plane, part in zip(target[1:], np.vsplit(decoded[1], 2), strict=True):
                        planes.unpack(part, cells, b // s // 2, plane)
            for layer in same if s > 1 else []:
                cells = parsed.block_map == layer.region
                for k, plane in enumerate(full):
                    planes.copy_blocks(_enlarge(target[k], s), plane, cells, b if k == 0 else b // 2)
        luma = full[0]
        out = _to_rgb(luma, _upsample(full[1]), _upsample(full[2])) if colour else luma
        out = np.ascontiguousarray(out[: head.height, : head.width])
    if parsed.alpha is not None:
        out = np.dstack([out, container.alpha_plane(parsed.alpha, head)])
    return out
