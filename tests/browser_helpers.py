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
