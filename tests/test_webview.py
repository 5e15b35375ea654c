"""rcodec view's server: the viewer's files and the named files on 127.0.0.1, nothing else."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from regioncodec import webview

from .conftest import ROOT
from .helpers import rcodec

VECTOR = ROOT / "spec" / "conformance" / "rgb-48x32-b16.rgc"


def fetch(url: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read()
    except urllib.error.HTTPError as error:
        return error.code, "", b""


def test_the_viewer_and_the_named_files_are_served_and_nothing_else(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the browser")
    original = ROOT / "samples" / "kodim04.jpg"
    server = webview.serve([VECTOR, original])
    webview.serve_in_background(server)
    try:
        url = webview.viewer_url(server, [VECTOR, original])
        assert url.startswith("http://127.0.0.1:") and "src=/files/0/rgb-48x32-b16.rgc" in url
        base = url.split("/index.html")[0]
        status, kind, body = fetch(url)
        assert status == 200 and kind.startswith("text/html") and b"rgc" in body
        assert fetch(f"{base}/rgc.js")[1].startswith("text/javascript")
        assert fetch(f"{base}/files/0/rgb-48x32-b16.rgc") == (200, "image/x-rgc", VECTOR.read_bytes())
        assert fetch(f"{base}/files/1/kodim04.jpg")[2] == original.read_bytes()
        for path in ("/secret.txt", f"/files/0/../../{secret}", "/files/2/x.rgc", "/../pyproject.toml", "/web/"):
            assert fetch(base + path)[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_view_refuses_a_missing_file(tmp_path: Path) -> None:
    done = rcodec("view", tmp_path / "none.rgc", "--no-browser")
    assert done.returncode == 66 and "none.rgc" in done.stderr


def test_view_refuses_a_port_it_cannot_serve_on() -> None:
    """--port 70000 (past 16 bits) and a port already taken were "internal errors" (exit 70)."""
    done = rcodec("view", VECTOR, "--no-browser", "--port", "70000")
    assert done.returncode == 2 and "a port number from 0 to 65535" in done.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = rcodec("view", VECTOR, "--no-browser", "--port", str(taken.getsockname()[1]))
    assert done.returncode == 66 and "cannot serve on 127.0.0.1 port" in done.stderr


@pytest.mark.parametrize("name", webview.VIEWER_FILES)
def test_every_viewer_file_exists(name: str) -> None:
    assert (webview.web_root() / name).is_file()
