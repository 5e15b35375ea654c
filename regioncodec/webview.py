"""Showing .rgc files in a browser: the viewer page (web/) and the files a user names, served on 127.0.0.1.

Browsers load ES modules over HTTP only (not from file://), so `rcodec view`
runs this small server: the viewer's own files at /, and each named file at
/files/N/NAME. Nothing else is served: no folder listings, no other paths.
"""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from .errors import OpenError

HOST = "127.0.0.1"  # only this machine can reach the server
MEDIA_TYPES = {  # what browsers need to run the viewer's modules and read the files (spec §14 for .rgc)
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".rgc": "image/x-rgc",
}
VIEWER_FILES = (
    "index.html",
    "viewer.js",
    "viewer.css",
    "rgc.js",
    "rgc-img.js",
    "vendor/fzstd.js",
    "kernels/colour.js",
    "kernels/deblock.js",
)


def web_root() -> Path:
    """The folder of the viewer's files: inside the installed package, or web/ beside it in a source tree."""
    here = Path(__file__).resolve().parent
    for root in (here / "web", here.parent / "web"):
        if (root / "index.html").is_file():
            return root
    raise OpenError("the viewer's files (web/index.html) are missing from this installation")


def serve(files: list[Path], port: int = 0) -> http.server.ThreadingHTTPServer:
    """A server (not yet serving) of the viewer and files, on HOST at port (0: any free port)."""
    root = web_root()
    for path in files:
        if not path.is_file():
            raise OpenError(f"{path}: cannot open: not a file")
    routes = {f"/{name}": root / name for name in VIEWER_FILES}
    routes.update({unquote(file_url(index, path)): path for index, path in enumerate(files)})
    handler = type("Handler", (_Handler,), {"routes": routes})
    try:
        return http.server.ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:  # the port is taken, or not one this user may open
        raise OpenError(f"cannot serve on {HOST} port {port}: {exc.strerror or exc}") from None


def file_url(index: int, path: Path) -> str:
    """The URL path a named file is served at."""
    return f"/files/{index}/{quote(path.name)}"


def viewer_url(server: http.server.ThreadingHTTPServer, files: list[Path]) -> str:
    """The viewer's address showing the first file, with the second as the original to compare with."""
    keys = ("src", "original")[: len(files)]
    query = "&".join(f"{key}={file_url(i, path)}" for i, (key, path) in enumerate(zip(keys, files, strict=True)))
    return f"http://{HOST}:{server.server_address[1]}/index.html?{query}"


def serve_in_background(server: http.server.ThreadingHTTPServer) -> threading.Thread:
    """Start serving on a daemon thread (the caller stops it with server.shutdown())."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers GET for the routes it knows, 404 for anything else."""

    routes: dict[str, Path] = {}

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        """Send the file at the request's path, or 404."""
        path = self.routes.get(unquote(urlsplit(self.path).path))
        if path is None and urlsplit(self.path).path == "/":
            path = self.routes["/index.html"]
        if path is None:
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
        """Stay quiet: the command line prints the address, not every request."""
