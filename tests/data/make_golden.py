"""Write the golden .rgc files in this folder and print the spec's hex dump (spec/format.md §15).

    python tests/data/make_golden.py

Run only when the format changes on purpose; the tests then check the new
files byte for byte against the spec and the writer.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

import regioncodec

HERE = Path(__file__).resolve().parent


def smallest() -> bytes:
    """A 1x1 greyscale image of value 128, block size 8, all background."""
    return regioncodec.encode(np.array([[128]], np.uint8), block_size=8, mask=np.zeros((1, 1), bool))


def two_regions() -> bytes:
    """32x16 RGB: a red block with a green square (foreground) beside a grey ramp (background)."""
    rgb = np.zeros((16, 32, 3), np.uint8)
    rgb[:, :16] = (200, 40, 40)
    rgb[:, 16:] = (np.arange(16) * 8 + 64)[None, :, None]
    rgb[4:12, 4:12] = (20, 200, 90)
    mask = np.zeros((16, 32), bool)
    mask[:, :16] = True
    return regioncodec.encode(rgb, mask=mask)


def alpha_metadata() -> bytes:
    """32x16 RGBA: red beside a grey ramp (left half foreground), alpha 8 * column with a transparent 8x8
    hole at rows 4-11, columns 20-27; EXIF (orientation 6, make "regioncodec"), Little CMS's sRGB
    profile and a minimal XMP packet."""
    rgb = np.zeros((16, 32, 3), np.uint8)
    rgb[:, :16] = (200, 40, 40)
    rgb[:, 16:] = np.linspace(0, 255, 16, dtype=np.uint8)[None, :, None]
    alpha = np.tile((np.arange(32) * 8).astype(np.uint8), (16, 1))
    alpha[4:12, 20:28] = 0
    mask = np.zeros((16, 32), bool)
    mask[:, :16] = True
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "regioncodec"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
        b"</x:xmpmeta>"
    )
    return regioncodec.encode(np.dstack([rgb, alpha]), mask=mask, exif=exif.tobytes(), icc_profile=icc, xmp=xmp)


if __name__ == "__main__":
    data = smallest()
    (HERE / "smallest.rgc").write_bytes(data)
    (HERE / "two-regions.rgc").write_bytes(two_regions())
    (HERE / "alpha-metadata.rgc").write_bytes(alpha_metadata())
    print(f"{len(data)} bytes")
    for offset in range(0, len(data), 16):
        print(f"{offset:04x}: " + " ".join(f"{b:02x}" for b in data[offset : offset + 16]))
