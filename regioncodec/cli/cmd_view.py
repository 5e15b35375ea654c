"""rcodec view: open a .rgc file in the browser's viewer (served on 127.0.0.1 until Ctrl-C)."""

from __future__ import annotations

import argparse
import sys
import webbrowser
from pathlib import Path

from . import common

EXAMPLES = """examples:
  rcodec view photo.rgc
  rcodec view photo.rgc photo.jpg            # compare with the original
  rcodec view photo.rgc --no-browser --port 8000"""


def arguments(parser: argparse.ArgumentParser) -> None:
    """IN.rgc, an optional original, --port, --no-browser."""
    parser.description = (
        "Show IN.rgc in the viewer page (the JavaScript decoder in web/), served on 127.0.0.1 until Ctrl-C: "
        "the region map, per-region qualities and bytes, and the original beside it if given."
    )
    parser.epilog = EXAMPLES
    parser.add_argument("input", metavar="IN.rgc", type=Path)
    parser.add_argument("original", metavar="ORIGINAL", type=Path, nargs="?", help="the image it was made from")
    parser.add_argument(
        "--port", type=common.readable(common.port), default=0, help="port to serve on (default: any free)"
    )
    parser.add_argument("--no-browser", action="store_true", help="print the address without opening a browser")


def run(args: argparse.Namespace) -> None:
    """Serve the viewer and the files; open the browser on them."""
    from .. import webview

    files = [args.input, *([args.original] if args.original else [])]
    server = webview.serve(files, args.port)
    url = webview.viewer_url(server, files)
    print(f"rcodec: showing {args.input} at {url} (Ctrl-C to stop)", file=sys.stderr)
    if not args.no_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
