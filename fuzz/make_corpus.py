"""Write the fuzz seed corpus: small valid .rgc files that between them take every branch of the reader.

    python fuzz/make_corpus.py    # rewrites fuzz/corpus/; commit the result

tests/data/*.rgc (the spec's smallest file, a two-region RGB file) are seeds too.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.craft

import regioncodec  # noqa: E402
from tests.craft import build, chunks_of, layer  # noqa: E402

CORPUS = ROOT / "fuzz" / "corpus"


def progressive(stream: bytes) -> bytes:
    """The same plane as a progressive JPEG, which spec 7.2 allows and regioncodec never writes."""
    out = io.BytesIO()
    Image.open(io.BytesIO(stream)).save(out, "JPEG", quality=30, progressive=True)
    return out.getvalue()


def seeds() -> dict[str, bytes]:
    """File name -> bytes of every seed."""
    rng = np.random.default_rng(5)
    grey = rng.integers(0, 256, (24, 40), dtype=np.uint8)
    colour = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    half, left = np.zeros(grey.shape, bool), np.zeros(colour.shape[:2], bool)
    half[:, :20], left[:, :24] = True, True
    two_regions = chunks_of((ROOT / "tests" / "data" / "two-regions.rgc").read_bytes())
    chunks = chunks_of(regioncodec.encode(grey[:8, :8], block_size=8, mask=np.ones((8, 8), bool)))
    luma = regioncodec.container.read(build(chunks)).layers[1].streams[0]
    return {
        "grey-40x24-blocks8.rgc": regioncodec.encode(grey, block_size=8, mask=half),
        "rgb-48x32-blocks32-all-foreground.rgc": regioncodec.encode(colour, block_size=32, mask=left | ~left),
        "rgb-ancillary-chunk.rgc": build([*two_regions[:2], (b"teXt", b"seed"), *two_regions[2:]]),
        "grey-progressive.rgc": build([*chunks[:3], (b"LAYR", layer(1, progressive(luma), quality=90)), chunks[4]]),
        "rgb-background-scale-4.rgc": regioncodec.encode(colour, mask=left, bg_scale=4),
        "grey-3-levels-scale-2.rgc": regioncodec.encode(grey, block_size=8, levels=3, bg_scale=2),
        "rgb-webp.rgc": regioncodec.encode(colour, mask=left, codec="webp"),
        "grey-avif-scale-2.rgc": regioncodec.encode(grey, block_size=8, mask=half, codec="avif", bg_scale=2),
    }


if __name__ == "__main__":
    CORPUS.mkdir(exist_ok=True)
    for name, data in seeds().items():
        regioncodec.decode(data)  # every seed is valid
        (CORPUS / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")
